"""TwiML flows: what parses into which verbs, and every kind of refusal, with its line."""

from __future__ import annotations

import pytest

from dialer.flow.document import (
    MAX_FLOW_BYTES,
    Dial,
    Enqueue,
    FlowError,
    Gather,
    Hangup,
    Pause,
    Play,
    Record,
    Redirect,
    Say,
    Set,
    parse_flow,
)

MENU = b"""<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say voice="alice" language="en-GB" loop="2">Hello {{customerName}}.</Say>
  <Play loop="0">prompts/hold.wav</Play>
  <Pause length="1.5"/>
  <Gather input="dtmf" numDigits="1" timeout="7" finishOnKey="*" action="menu-{{Digits}}.xml"
          method="GET" actionOnEmptyResult="true">
    <Say>Press 1 to confirm.</Say>
    <Pause/>
    <Play>https://prompts.example/beep.mp3</Play>
  </Gather>
  <Set name="confirmed" value="true"/>
  <Record maxLength="30" timeout="3" finishOnKey="#" playBeep="false" action="thanks.xml"/>
  <Dial timeout="20"><Queue>sales</Queue></Dial>
  <Dial>+14155550100</Dial>
  <Enqueue action="after.xml">support</Enqueue>
  <Redirect method="GET">next.xml</Redirect>
  <Hangup/>
</Response>
"""


def test_a_full_flow_parses_into_verbs_with_twilio_defaults() -> None:
    flow = parse_flow(MENU, "menu.xml")
    kinds = [type(verb) for verb in flow.verbs]
    assert kinds == [Say, Play, Pause, Gather, Set, Record, Dial, Dial, Enqueue, Redirect, Hangup]
    say, play, pause, gather, set_, record, queue, number, enqueue, redirect, _ = flow.verbs
    assert isinstance(say, Say) and (say.voice, say.language, say.loop, say.line) == (
        "alice",
        "en-GB",
        2,
        3,
    )
    assert say.text.placeholders == {"customerName"}
    assert isinstance(play, Play) and play.loop == 0
    assert isinstance(pause, Pause) and pause.length == 1.5
    assert isinstance(gather, Gather)
    assert (gather.num_digits, gather.timeout, gather.finish_on_key, gather.method) == (
        1,
        7.0,
        "*",
        "GET",
    )
    assert gather.action_on_empty_result and gather.action is not None
    assert [type(p) for p in gather.prompts] == [Say, Pause, Play]
    assert isinstance(set_, Set) and set_.name == "confirmed"
    assert isinstance(record, Record)
    assert (record.max_length, record.timeout, record.finish_on_key, record.play_beep) == (
        30.0,
        3.0,
        "#",
        False,
    )
    assert isinstance(queue, Dial) and (queue.kind, queue.timeout) == ("queue", 20.0)
    assert isinstance(number, Dial) and number.kind == "number"
    assert isinstance(enqueue, Enqueue) and isinstance(redirect, Redirect)
    assert {t.text for t in flow.references()} == {
        "menu-{{Digits}}.xml",
        "thanks.xml",
        "after.xml",
        "next.xml",
    }
    assert flow.set_names() == {"confirmed"}


def test_defaults_are_twilios() -> None:
    flow = parse_flow("<Response><Gather/><Record/><Say>hi</Say></Response>")
    gather, record, say = flow.verbs
    assert isinstance(gather, Gather) and isinstance(record, Record) and isinstance(say, Say)
    assert (gather.num_digits, gather.timeout, gather.finish_on_key, gather.action) == (
        None,
        5.0,
        "#",
        None,
    )
    assert (record.max_length, record.timeout, record.finish_on_key, record.play_beep) == (
        3600.0,
        5.0,
        "1234567890*#",
        True,
    )
    assert say.loop == 1 and say.voice is None


@pytest.mark.parametrize(
    ("document", "line", "reason"),
    [
        ("<Response><Say>hi</Response>", 1, "not well-formed XML"),
        ("", 1, "not well-formed XML"),
        ("<Reponse/>", 1, "the root element must be <Response>"),
        ("<Response>\n<Sya>hi</Sya>\n</Response>", 2,
         "<Sya> is not supported in <Response> (did you mean 'Say'?)"),
        ("<Response>\n\n<Gather numdigits='1'/></Response>", 3,
         "has no attribute 'numdigits' (did you mean 'numDigits'?)"),
        ("<Response><Say loop='two'>hi</Say></Response>", 1, "loop must be a whole number"),
        ("<Response><Say loop='-1'>hi</Say></Response>", 1, "loop must be a whole number"),
        ("<Response><Say></Say></Response>", 1, "<Say> needs the words to say"),
        ("<Response><Say>Hi {{name</Say></Response>", 1, "<Say> the words to say:"),
        ("<Response><Gather finishOnKey='##'/></Response>", 1, "finishOnKey must be one key"),
        ("<Response><Gather input='speech'/></Response>", 1, "input must be one of dtmf"),
        ("<Response><Gather timeout='soon'/></Response>", 1, "timeout must be a number"),
        ("<Response><Gather><Hangup/></Gather></Response>", 1,
         "<Hangup> is not supported inside <Gather>"),
        ("<Response><Pause length='9999'/></Response>", 1, "length must be between 0 and 600"),
        ("<Response><Redirect/></Response>", 1, "<Redirect> needs the flow to go to"),
        ("<Response><Hangup>now</Hangup></Response>", 1, "<Hangup> takes no text"),
        ("<Response><Play><Say>x</Say></Play></Response>", 1, "<Play> takes no <Say> inside"),
        ("<Response><Dial><Conference>x</Conference></Dial></Response>", 1,
         "<Dial> takes no <Conference>"),
        ("<Response><Dial/></Response>", 1, "<Dial> needs a number"),
        ("<Response><Set name='1x' value='y'/></Response>", 1, "name must be a variable name"),
        ("<Response><Record playBeep='yes'/></Response>", 1, "playBeep must be one of true, false"),
        ("<Response><Gather method='PUT'/></Response>", 1, "method must be one of POST, GET"),
        ('<!DOCTYPE r [<!ENTITY a "aaaa">]><Response/>', 1, "DOCTYPE and entities are not allowed"),
    ],
)  # fmt: skip
def test_refused_with_the_line_and_the_reason(document: str, line: int, reason: str) -> None:
    with pytest.raises(FlowError) as caught:
        parse_flow(document, "f.xml")
    problems = caught.value.problems
    assert any(p.line == line and reason in p.reason for p in problems), problems
    assert str(caught.value).startswith("f.xml: line ")


def test_every_problem_is_reported_at_once() -> None:
    document = "<Response>\n<Say loop='x'>a</Say>\n<Bogus/>\n<Pause length='y'/>\n</Response>"
    with pytest.raises(FlowError) as caught:
        parse_flow(document)
    assert [p.line for p in caught.value.problems] == [2, 3, 4]


def test_an_oversized_document_is_refused_before_parsing() -> None:
    big = "<Response>" + "<Pause/>" * (MAX_FLOW_BYTES // 8) + "</Response>"
    with pytest.raises(FlowError, match="larger than 256 KB"):
        parse_flow(big)


def test_entity_expansion_is_refused_not_performed() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        "<Response><Say>&lol2;</Say></Response>"
    )
    with pytest.raises(FlowError, match="DOCTYPE and entities are not allowed"):
        parse_flow(bomb)
