"""A campaign's flow checked before anyone is called: documents, voices, contacts' values.

`load_campaign_flow` reads the campaign's first document and every static one it
can lead to: the literal references, and for a menu such as
`action="press-{{Digits}}.xml"` each key's file that exists (a missing one is a
choice the menu does not offer). Every document must parse, every `<Say>` voice
must be one the TTS engine can speak, every reference must stay inside the
flow folder, and a `<Dial>` may only ring agents (a `<Client>` or a `<Queue>`:
the dialer never calls a number or an address a flow names). A webhook flow (a
URL) is only checked for its address: its documents exist when the server
answers, and the hand-off refuses their other `<Dial>`s as it runs them.

`missing_values` finds the contacts a flow cannot speak to: a `{{placeholder}}`
with no value for them. The campaign refuses to start while there are any, and
the dialer marks such a lead invalid rather than play a gap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from dialer.flow.document import DTMF_KEYS, Dial, Flow, FlowError, Problem, Redirect
from dialer.flow.interpreter import Fetched, FlowStart
from dialer.flow.location import FlowLocation, LocationError
from dialer.flow.webhook import read_static
from tts.templates import MissingValues, Template

# Values the call itself provides: never asked of a contact.
CALL_VALUES = frozenset(
    {"Digits", "CallSid", "From", "To", "AnsweredBy", "RecordingUrl", "RecordingDuration",
     "DialCallStatus", "opted_out", "flow_fallback"}
)  # fmt: skip

AGENT_DIALS = frozenset({"client", "queue"})  # <Dial> kinds that ring agents only
_DIALLED = {"number": "a number", "sip": "a SIP address"}

VoiceCheck = Callable[[str | None, str | None], str | None]  # a reason, or None if speakable


@dataclass(frozen=True)
class CampaignFlow:
    location: FlowLocation
    first: Flow | None  # None for a webhook: fetched when the call is answered
    documents: Mapping[str, Flow]  # every static document reachable, by path
    placeholders: frozenset[str]  # what contacts must have a value for

    @property
    def is_webhook(self) -> bool:
        return self.location.is_url

    def start(self) -> FlowStart:
        """Where each call begins. A webhook's first document is the server's answer to
        the call's parameters: the same as a `<Redirect>` to it, so that is what runs."""
        if self.first is not None:
            return FlowStart(self.first, self.location)
        assert self.location.url is not None
        redirect = Redirect(Template(self.location.url), "POST", 0)
        return FlowStart(Flow(str(self.location), (redirect,)), self.location)


def load_campaign_flow(text: str, check_voice: VoiceCheck) -> CampaignFlow:
    """The campaign's flow, checked; FlowError with every problem (file, line, reason)."""
    try:
        location = FlowLocation.of(text)
    except LocationError as exc:
        raise FlowError(text, [_problem(str(exc))]) from None
    if location.is_url:
        return CampaignFlow(location, None, {}, frozenset())
    documents: dict[str, Flow] = {}
    problems: list[str] = []
    pending = [location]
    while pending:
        here = pending.pop()
        if str(here) in documents:
            continue
        loaded = read_static(here)
        if not isinstance(loaded, Fetched):
            problems.append(loaded.reason)
            continue
        flow = loaded.flow
        documents[str(here)] = flow
        problems.extend(f"{flow.source}: {reason}" for reason in _voice_problems(flow, check_voice))
        problems.extend(f"{flow.source}: {reason}" for reason in _missing_audio(here, flow))
        problems.extend(f"{flow.source}: {reason}" for reason in _dial_problems(flow))
        for reference in flow.references():
            try:
                pending.extend(_reachable(here, reference))
            except LocationError as exc:
                problems.append(f"{flow.source}: {exc}")
    if problems:
        raise FlowError(text, [_problem(reason) for reason in problems])
    set_names = frozenset().union(*(flow.set_names() for flow in documents.values()))
    placeholders = (
        frozenset(
            name
            for flow in documents.values()
            for template in flow.templates()
            for name in template.placeholders
        )
        - CALL_VALUES
        - set_names
    )
    return CampaignFlow(location, documents[str(location)], documents, placeholders)


def missing_values(
    contacts: Iterable[tuple[int, Mapping[str, str]]], placeholders: frozenset[str]
) -> list[tuple[int, list[str]]]:
    """(contact id, the placeholders it lacks) for every contact the flow cannot speak to."""
    if not placeholders:
        return []
    probe = Template(" ".join(f"{{{{{name}}}}}" for name in sorted(placeholders)))
    lacking = []
    for contact_id, values in contacts:
        try:
            probe.render(values)
        except MissingValues as exc:
            lacking.append((contact_id, sorted(exc.names)))
    return lacking


def _reachable(here: FlowLocation, reference: Template) -> list[FlowLocation]:
    if not reference.placeholders:
        target = here.resolve(reference.text)
        return [] if target.is_url else [target]
    if reference.placeholders == {"Digits"}:
        # A menu by key: validate each key's document that exists.
        targets = [here.resolve(reference.render({"Digits": key})) for key in DTMF_KEYS]
        return [t for t in targets if t.path is not None and t.path.exists()]
    return []  # depends on the contact or the call: checked when it is fetched


def _voice_problems(flow: Flow, check_voice: VoiceCheck) -> Iterable[str]:
    for say in flow.says():
        reason = check_voice(say.voice, say.language)
        if reason is not None:
            yield f"line {say.line}: {reason}"


def _missing_audio(here: FlowLocation, flow: Flow) -> Iterable[str]:
    """A `<Play>` of a file beside the flow that is not there (URLs and templated names
    are fetched, and checked, when a call plays them)."""
    for play in flow.plays():
        if play.url.placeholders:
            continue
        try:
            target = here.resolve(play.url.text)
        except LocationError as exc:
            yield f"line {play.line}: {exc}"
            continue
        if target.path is not None and not target.path.is_file():
            yield f"line {play.line}: no audio file {play.url.text!r} beside the flow"


def _dial_problems(flow: Flow) -> Iterable[str]:
    for verb in flow.verbs:
        if isinstance(verb, Dial) and verb.kind not in AGENT_DIALS:
            yield (
                f"line {verb.line}: <Dial> to {_DIALLED.get(verb.kind, verb.kind)} is refused:"
                " only agents are rung"
                " (<Client>extension</Client>, <Queue>, or <Enqueue>)"
            )


def _problem(reason: str) -> Problem:
    return Problem(0, reason)  # about a whole document, or the flow as configured
