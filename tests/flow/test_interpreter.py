"""The flow interpreter driven by hand: each test plays the call's part, reply by reply."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dialer.flow.document import parse_flow
from dialer.flow.interpreter import (
    APOLOGY,
    CallFacts,
    Capture,
    Collect,
    Collected,
    Command,
    Done,
    Fetch,
    Fetched,
    FetchFailed,
    FlowOptions,
    FlowResult,
    FlowRun,
    HandedOff,
    HandOff,
    OptOut,
    PlayAudio,
    Recorded,
    Reply,
    Silence,
    SoundFailed,
    Speak,
    run_flow,
)
from dialer.flow.location import FlowLocation

ROOT = Path("/srv/flows")
HERE = FlowLocation(path=ROOT / "main.xml", root=ROOT)
FACTS = CallFacts("call-1", "dialer", "+14155550100", {"customerName": "Jane", "date": "March 15"})


def start(xml: str, options: FlowOptions | None = None, here: FlowLocation = HERE) -> FlowRun:
    return run_flow(parse_flow(xml, "main.xml"), here, FACTS, options or FlowOptions())


def drive(run: FlowRun, answer: Callable[[Command], Reply]) -> tuple[list[Command], FlowResult]:
    """Run to the end, answering each command with `answer`; every command, and the result."""
    commands: list[Command] = []
    try:
        command = next(run)
        while True:
            commands.append(command)
            command = run.send(answer(command))
    except StopIteration as end:
        return commands, end.value


def played(command: Command) -> Reply:
    return Done()


def test_say_play_pause_in_order_with_templates_and_loops() -> None:
    run = start(
        "<Response><Say voice='alice' loop='2'>Hello {{customerName}}, on {{date}}.</Say>"
        "<Play loop='0'>hold.wav</Play><Pause length='2'/></Response>"
    )
    commands, result = drive(run, played)
    assert commands == [
        Speak("Hello Jane, on March 15.", "alice", None, 2),
        PlayAudio(FlowLocation(path=ROOT / "hold.wav", root=ROOT), None),
        Silence(2.0),
    ]
    assert result == FlowResult("flow finished", {})


def test_a_menu_branches_by_digit_to_a_static_flow() -> None:
    run = start(
        "<Response><Gather numDigits='1' action='press-{{Digits}}.xml'>"
        "<Say>Press 1 to confirm</Say></Gather><Say>Goodbye</Say></Response>"
    )
    confirm = parse_flow(
        "<Response><Set name='confirmed' value='true'/><Say>Thanks</Say></Response>"
    )
    fetched: list[Fetch] = []

    def answer(command: Command) -> Reply:
        if isinstance(command, Collect):
            assert command.prompts == (Speak("Press 1 to confirm"),)
            assert (command.num_digits, command.timeout, command.finish_on_key) == (1, 5.0, "#")
            return Collected("1")
        if isinstance(command, Fetch):
            fetched.append(command)
            return Fetched(confirm, command.location)
        return Done()

    commands, result = drive(run, answer)
    assert fetched[0].location == FlowLocation(path=ROOT / "press-1.xml", root=ROOT)
    assert fetched[0].params["Digits"] == "1" and fetched[0].params["CallSid"] == "call-1"
    assert commands[-1] == Speak("Thanks")  # "Goodbye" belongs to the first document
    assert result.variables == {"Digits": "1", "confirmed": "true"}


def test_no_input_falls_through_and_a_choice_not_offered_carries_on() -> None:
    xml = (
        "<Response><Gather numDigits='1' action='press-{{Digits}}.xml'><Say>Menu</Say></Gather>"
        "<Say>Sorry, {{customerName}}.</Say></Response>"
    )
    # Nothing pressed: no fetch at all, the next verb.
    commands, result = drive(
        start(xml), lambda c: Collected("") if isinstance(c, Collect) else Done()
    )
    assert not any(isinstance(c, Fetch) for c in commands)
    assert commands[-1] == Speak("Sorry, Jane.")

    # 7 pressed, and there is no press-7.xml: carry on after the Gather too.
    def answer(command: Command) -> Reply:
        if isinstance(command, Collect):
            return Collected("7")
        if isinstance(command, Fetch):
            return FetchFailed("no flow press-7.xml", missing=True)
        return Done()

    commands, result = drive(start(xml), answer)
    assert commands[-1] == Speak("Sorry, Jane.") and result.variables["Digits"] == "7"


def test_the_opt_out_key_records_says_goodbye_and_ends() -> None:
    run = start(
        "<Response><Gather numDigits='1' action='x.xml'><Say>Press 9 to stop</Say></Gather>"
        "<Say>not reached</Say></Response>",
        FlowOptions(opt_out_key="9", opt_out_message="Done, goodbye."),
    )
    commands, result = drive(run, lambda c: Collected("9") if isinstance(c, Collect) else Done())
    assert commands[1:] == [OptOut(), Speak("Done, goodbye.")]
    assert result == FlowResult("opted out", {"opted_out": "true"})
    # Another key, or the opt-out key inside a longer answer, is an answer like any other.
    commands, _ = drive(
        start("<Response><Gather numDigits='4'/></Response>"),
        lambda c: Collected("1959") if isinstance(c, Collect) else Done(),
    )
    assert OptOut() not in commands


def test_a_webhook_flow_posts_twilio_parameters_and_falls_back_once() -> None:
    hook = FlowLocation(url="https://hooks.example/ivr")
    fallback = FlowLocation(path=ROOT / "fallback.xml", root=ROOT)
    run = start(
        "<Response><Gather numDigits='1' action='/ivr/menu'/></Response>",
        FlowOptions(fallback=fallback),
        here=hook,
    )
    backup = parse_flow("<Response><Say>We will call back.</Say></Response>")
    fetches: list[Fetch] = []

    def answer(command: Command) -> Reply:
        if isinstance(command, Collect):
            return Collected("2")
        if isinstance(command, Fetch):
            fetches.append(command)
            if command.location.is_url:
                return FetchFailed("webhook: no answer within 3.0 s")
            return Fetched(backup, command.location)
        return Done()

    commands, result = drive(run, answer)
    assert [f.location for f in fetches] == [
        FlowLocation(url="https://hooks.example/ivr/menu"),
        fallback,
    ]
    params = fetches[0].params
    assert params["Digits"] == "2" and params["To"] == "+14155550100"
    assert params["CallStatus"] == "in-progress" and params["customerName"] == "Jane"
    assert commands[-1] == Speak("We will call back.")
    assert result.variables["flow_fallback"] == "true"


def test_a_failing_webhook_without_fallback_apologises_and_says_why() -> None:
    hook = FlowLocation(url="https://hooks.example/ivr")
    run = start("<Response><Redirect>/next</Redirect></Response>", here=hook)
    commands, result = drive(
        run, lambda c: FetchFailed("webhook: answered 500") if isinstance(c, Fetch) else Done()
    )
    assert commands[-1] == Speak(APOLOGY)
    assert result.failed and "answered 500" in result.reason


def test_broken_at_run_time_ends_politely_with_the_reason() -> None:
    # A placeholder the contact has no value for (validation should have caught it).
    commands, result = drive(start("<Response><Say>Hi {{nickname}}</Say></Response>"), played)
    assert commands == [Speak(APOLOGY)]
    assert result.failed and "line 1" in result.reason and "nickname" in result.reason
    # A prompt file that cannot be played.
    commands, result = drive(
        start("<Response><Play>gone.wav</Play><Say>after</Say></Response>"),
        lambda c: SoundFailed("gone.wav: no such file") if isinstance(c, PlayAudio) else Done(),
    )
    assert commands[-1] == Speak(APOLOGY) and "gone.wav: no such file" in result.reason
    # A reference outside the flow folder.
    commands, result = drive(
        start("<Response><Redirect>../../etc/passwd</Redirect></Response>"), played
    )
    assert result.failed and "outside the flow folder" in result.reason


def test_a_redirect_loop_ends_at_max_documents() -> None:
    loop = parse_flow("<Response><Redirect>main.xml</Redirect></Response>")
    run = start("<Response><Redirect>main.xml</Redirect></Response>", FlowOptions(max_documents=5))
    fetches = 0

    def answer(command: Command) -> Reply:
        nonlocal fetches
        if isinstance(command, Fetch):
            fetches += 1
            return Fetched(loop, command.location)
        return Done()

    _, result = drive(run, answer)
    assert fetches == 4 and result.failed and "more than 5 documents" in result.reason


def test_record_dial_and_hangup_fill_twilio_variables() -> None:
    run = start(
        "<Response><Record maxLength='20' timeout='3' finishOnKey='#'/>"
        "<Dial timeout='15'>+14155550199</Dial><Hangup/><Say>never</Say></Response>"
    )

    def answer(command: Command) -> Reply:
        if isinstance(command, Capture):
            assert (command.max_length, command.silence_timeout, command.finish_on_key) == (
                20.0,
                3.0,
                "#",
            )
            return Recorded("/var/rec/call-1-1.wav", 7.4, "#")
        if isinstance(command, HandOff):
            assert command == HandOff("number", "+14155550199", 15.0)
            return HandedOff("no-answer")
        return Done()

    commands, result = drive(run, answer)
    assert result.reason == "hung up by the flow"
    assert result.variables == {
        "RecordingUrl": "/var/rec/call-1-1.wav",
        "RecordingDuration": "7",
        "Digits": "#",
        "DialCallStatus": "no-answer",
    }
    assert not any(isinstance(c, Speak) for c in commands)


def test_variables_are_visible_while_the_flow_runs() -> None:
    live: dict[str, str] = {}
    run = run_flow(
        parse_flow("<Response><Set name='step' value='one'/><Pause/></Response>"),
        HERE,
        FACTS,
        FlowOptions(),
        live,
    )
    assert next(run) == Silence(1.0)
    assert live == {"step": "one"}  # the call may end here; what was learnt is kept
