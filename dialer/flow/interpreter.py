"""Running a flow, sans-IO: a generator that yields what the call should do next.

`run_flow` walks the verbs with Twilio's semantics and yields commands (say this,
collect keys, fetch that document, hand off, hang up); the shell carries each one
out on the call and sends back what happened. No clock, no sockets, no files: a
test drives a whole menu by sending replies.

Semantics worth knowing:

- `<Gather>` with keys pressed goes to its `action` (with `Digits`); with none it
  falls through to the next verb (or to the action with `actionOnEmptyResult`).
  Without an action the keys are kept in `Digits` and the flow carries on.
- A static action that does not exist (`action="menu-{{Digits}}.xml"` and the
  caller pressed 7) is "not an option": the flow carries on after the `<Gather>`,
  where the author can apologise and `<Redirect>` back to the menu.
- The opt-out key alone, at any `<Gather>`, puts the number on the do-not-call
  list, says the confirmation and ends the call (`opted_out=true`).
- A webhook that fails twice over (see `dialer.flow.webhook`) is replaced by the
  fallback flow; if that fails too, or a document is broken at run time (a
  placeholder without a value), the caller hears a short apology and the call
  ends, with the reason recorded. Nothing here raises for bad input.
- At most `max_documents` documents per call: a Redirect loop ends, it never spins.
- The end of the last document hangs up, as Twilio does.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field

from dialer.flow.document import (
    MAX_LOOP,
    Dial,
    Enqueue,
    Flow,
    Gather,
    Hangup,
    Pause,
    Play,
    Prompt,
    Record,
    Redirect,
    Say,
    Set,
    Verb,
)
from dialer.flow.location import FlowLocation, LocationError
from tts.templates import MissingValues, Template

APOLOGY = "We are sorry, we cannot continue this call right now. Goodbye."


# -- commands: what the call should do ------------------------------------------------


@dataclass(frozen=True)
class Speak:
    text: str
    voice: str | None = None
    language: str | None = None
    times: int | None = 1  # None: until the call ends (or a key, inside a Gather)


@dataclass(frozen=True)
class PlayAudio:
    location: FlowLocation
    times: int | None = 1


@dataclass(frozen=True)
class Silence:
    seconds: float


Sound = Speak | PlayAudio | Silence


@dataclass(frozen=True)
class Collect:
    prompts: tuple[Sound, ...]
    num_digits: int | None
    timeout: float
    finish_on_key: str


@dataclass(frozen=True)
class Capture:
    max_length: float
    silence_timeout: float
    finish_on_key: str
    play_beep: bool


@dataclass(frozen=True)
class Fetch:
    location: FlowLocation
    method: str
    params: Mapping[str, str]


@dataclass(frozen=True)
class HandOff:
    kind: str  # number, client, sip, queue
    target: str
    timeout: float


@dataclass(frozen=True)
class OptOut:
    """Put the callee's number on the do-not-call list, now (before the goodbye)."""


Command = Speak | PlayAudio | Silence | Collect | Capture | Fetch | HandOff | OptOut


# -- replies: what happened -----------------------------------------------------------


@dataclass(frozen=True)
class Done:
    """A sound was played (or the call ended while it played)."""


@dataclass(frozen=True)
class SoundFailed:
    """A sound could not be played (a prompt file missing or broken, speech failed)."""

    reason: str


@dataclass(frozen=True)
class Collected:
    digits: str


@dataclass(frozen=True)
class Recorded:
    location: str  # where the recording was written
    duration_s: float
    digits: str  # the key that ended it, if one did


@dataclass(frozen=True)
class Fetched:
    flow: Flow
    location: FlowLocation


@dataclass(frozen=True)
class FetchFailed:
    reason: str
    missing: bool = False  # a static file that is not there (a menu choice not offered)


ABANDONED = "abandoned"


@dataclass(frozen=True)
class HandedOff:
    # Twilio's DialCallStatus (completed, busy, no-answer, failed, canceled), or
    # "abandoned": no agent in time, the safe-harbor message played, the call ends.
    status: str
    duration_s: float = 0.0
    agent: str = ""  # the extension of the agent who took the call
    queue_s: float | None = None  # from the answer until the agent was on the line


Reply = Done | SoundFailed | Collected | Recorded | Fetched | FetchFailed | HandedOff


# -- the run --------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowStart:
    """The first document of a call's flow, and where it is (for its references)."""

    flow: Flow
    location: FlowLocation


@dataclass(frozen=True)
class CallFacts:
    """What templates and webhooks know about the call."""

    call_sid: str
    caller: str  # From
    callee: str  # To
    contact: Mapping[str, str] = field(default_factory=dict)  # fields and attributes
    answered_by: str | None = None
    campaign_id: int | None = None
    lead_id: int | None = None
    agent_id: int | None = None  # the agent reserved for this call (preview dialing)

    def webhook_params(self) -> dict[str, str]:
        params = {
            "CallSid": self.call_sid,
            "From": self.caller,
            "To": self.callee,
            "CallStatus": "in-progress",
            "Direction": "outbound-api",
        }
        if self.answered_by:
            params["AnsweredBy"] = self.answered_by
        return {**self.contact, **params}  # Twilio's names win over a same-named attribute


@dataclass(frozen=True)
class FlowOptions:
    opt_out_key: str = "9"
    opt_out_message: str = "You will not be called again. Goodbye."
    fallback: FlowLocation | None = None
    max_documents: int = 20


@dataclass(frozen=True)
class FlowResult:
    reason: str  # why the flow ended, for the attempt's record
    variables: Mapping[str, str]
    failed: bool = False  # a flow error ended it (not the flow's own end)


class _FlowBroken(Exception):
    """A document that cannot go on at run time; ends the call with an apology."""


FlowRun = Generator[Command, Reply, FlowResult]


def run_flow(
    flow: Flow,
    location: FlowLocation,
    facts: CallFacts,
    options: FlowOptions,
    variables: dict[str, str] | None = None,
) -> FlowRun:
    """The flow's commands, one by one; returns how it ended.

    `variables` is filled in as the flow runs, so a call cut short still has what
    the flow learnt (pass your own dict to read it)."""
    variables = {} if variables is None else variables
    run = _Run(facts, options, variables)
    try:
        return (yield from run.documents(flow, location))
    except _FlowBroken as exc:
        yield Speak(APOLOGY)
        return FlowResult(f"flow error: {exc}", dict(variables), failed=True)


class _Run:
    def __init__(self, facts: CallFacts, options: FlowOptions, variables: dict[str, str]):
        self.facts = facts
        self.options = options
        self.variables = variables
        self.documents_seen = 1
        self.on_fallback = False

    def documents(self, flow: Flow, location: FlowLocation) -> FlowRun:
        index = 0
        while index < len(flow.verbs):
            verb = flow.verbs[index]
            index += 1
            outcome = yield from self.verb(verb, location)
            if isinstance(outcome, FlowResult):
                return outcome
            if isinstance(outcome, Fetched):
                flow, location, index = outcome.flow, outcome.location, 0
        return FlowResult("flow finished", dict(self.variables))

    def verb(self, verb: Verb, here: FlowLocation) -> Generator[Command, Reply, object]:
        """One verb; returns a FlowResult to end, a Fetched to switch document, else None."""
        if isinstance(verb, Say | Play | Pause):
            reply = yield self.sound(verb, here)
            if isinstance(reply, SoundFailed):
                raise _FlowBroken(f"line {verb.line}: {reply.reason}")
        elif isinstance(verb, Set):
            self.variables[verb.name] = self.render(verb.value, verb.line)
        elif isinstance(verb, Gather):
            return (yield from self.gather(verb, here))
        elif isinstance(verb, Record):
            return (yield from self.record(verb, here))
        elif isinstance(verb, Dial | Enqueue):
            return (yield from self.hand_off(verb, here))
        elif isinstance(verb, Redirect):
            return (yield from self.follow(verb.url, verb.method, here, verb.line))
        elif isinstance(verb, Hangup):
            return FlowResult("hung up by the flow", dict(self.variables))
        return None

    def sound(self, prompt: Prompt, here: FlowLocation) -> Sound:
        if isinstance(prompt, Pause):
            return Silence(prompt.length)
        times = None if prompt.loop == 0 else min(prompt.loop, MAX_LOOP)
        if isinstance(prompt, Say):
            text = self.render(prompt.text, prompt.line)
            return Speak(text, prompt.voice, prompt.language, times)
        return PlayAudio(
            self.locate(here, self.render(prompt.url, prompt.line), prompt.line), times
        )

    def gather(self, verb: Gather, here: FlowLocation) -> Generator[Command, Reply, object]:
        prompts = tuple(self.sound(prompt, here) for prompt in verb.prompts)
        reply = yield Collect(prompts, verb.num_digits, verb.timeout, verb.finish_on_key)
        if isinstance(reply, SoundFailed):
            raise _FlowBroken(f"line {verb.line}: {reply.reason}")
        digits = reply.digits if isinstance(reply, Collected) else ""
        key = self.options.opt_out_key
        if key and digits == key:
            self.variables["opted_out"] = "true"
            yield OptOut()
            yield Speak(self.options.opt_out_message)
            return FlowResult("opted out", dict(self.variables))
        self.variables["Digits"] = digits
        if verb.action is None or not (digits or verb.action_on_empty_result):
            return None
        outcome = yield from self.follow(verb.action, verb.method, here, verb.line, menu=True)
        if isinstance(outcome, FetchFailed):
            return None  # a choice the menu does not offer: carry on after the Gather
        return outcome

    def record(self, verb: Record, here: FlowLocation) -> Generator[Command, Reply, object]:
        reply = yield Capture(verb.max_length, verb.timeout, verb.finish_on_key, verb.play_beep)
        if isinstance(reply, Recorded):
            self.variables["RecordingUrl"] = reply.location
            self.variables["RecordingDuration"] = str(round(reply.duration_s))
            self.variables["Digits"] = reply.digits
        if verb.action is None:
            return None
        return (yield from self.follow(verb.action, verb.method, here, verb.line))

    def hand_off(
        self, verb: Dial | Enqueue, here: FlowLocation
    ) -> Generator[Command, Reply, object]:
        if isinstance(verb, Dial):
            command = HandOff(verb.kind, self.render(verb.target, verb.line), verb.timeout)
        else:
            command = HandOff("queue", self.render(verb.queue, verb.line), 0.0)
        reply = yield command
        status = reply.status if isinstance(reply, HandedOff) else "failed"
        self.variables["DialCallStatus"] = status
        if isinstance(reply, HandedOff) and reply.agent:
            self.variables["agent"] = reply.agent
        if isinstance(reply, HandedOff) and reply.queue_s is not None:
            self.variables["QueueTime"] = f"{reply.queue_s:.3f}"  # Twilio's name, in seconds
        if status == ABANDONED:  # the law's message was said: nothing more may follow
            return FlowResult("abandoned: no agent free in time", dict(self.variables))
        if verb.action is None:
            return None
        return (yield from self.follow(verb.action, verb.method, here, verb.line))

    def follow(
        self, reference: Template, method: str, here: FlowLocation, line: int, menu: bool = False
    ) -> Generator[Command, Reply, object]:
        """Fetch the document `reference` names and return it (Fetched).

        A webhook that failed gives way to the fallback flow; a static file that is
        not there is a broken flow, except as a menu's choice (`menu`): then the
        FetchFailed is returned and the menu carries on."""
        if self.documents_seen >= self.options.max_documents:
            raise _FlowBroken(f"more than {self.options.max_documents} documents (a loop?)")
        self.documents_seen += 1
        target = self.locate(here, self.render(reference, line), line)
        params = {**self.facts.webhook_params(), **self._twilio_variables()}
        reply = yield Fetch(target, method, params)
        if isinstance(reply, Fetched):
            return reply
        assert isinstance(reply, FetchFailed)
        if target.is_url:
            return (yield from self.fall_back(reply.reason))
        if reply.missing and menu:
            return reply
        raise _FlowBroken(f"line {line}: {reply.reason}")

    def fall_back(self, reason: str) -> Generator[Command, Reply, object]:
        fallback = self.options.fallback
        if fallback is None or self.on_fallback:
            raise _FlowBroken(reason)
        self.on_fallback = True
        reply = yield Fetch(fallback, "GET", {})
        if not isinstance(reply, Fetched):
            raise _FlowBroken(f"{reason}; the fallback flow failed too")
        self.variables["flow_fallback"] = "true"
        return reply

    def render(self, template: Template, line: int) -> str:
        values = {**self.facts.contact, **self._call_values(), **self.variables}
        try:
            return template.render(values)
        except MissingValues as exc:
            raise _FlowBroken(f"line {line}: {exc}") from None

    def locate(self, here: FlowLocation, reference: str, line: int) -> FlowLocation:
        try:
            return here.resolve(reference)
        except LocationError as exc:
            raise _FlowBroken(f"line {line}: {exc}") from None

    def _call_values(self) -> dict[str, str]:
        return {"CallSid": self.facts.call_sid, "From": self.facts.caller, "To": self.facts.callee}

    def _twilio_variables(self) -> dict[str, str]:
        """The flow's own variables a webhook expects under Twilio's names."""
        names = ("Digits", "RecordingUrl", "RecordingDuration", "DialCallStatus")
        return {name: self.variables[name] for name in names if name in self.variables}
