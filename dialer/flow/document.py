"""Call flows as TwiML documents: parsed, validated, and turned into frozen verbs.

A flow is the TwiML our users migrate from (Twilio's verbs, attribute names and
defaults), in the subset the dialer runs:

    <Response>
      <Say voice="alice" language="en-US" loop="1">Hello {{customerName}}</Say>
      <Play loop="1">prompts/intro.wav</Play>
      <Pause length="1"/>
      <Gather input="dtmf" numDigits="1" timeout="5" finishOnKey="#" action="menu.xml">
        <Say>Press 1 to confirm, 2 to reschedule.</Say>
      </Gather>
      <Set name="confirmed" value="true"/>        <!-- our extension: a flow variable -->
      <Record maxLength="30" timeout="5" finishOnKey="#" playBeep="true"/>
      <Dial>+14155550100</Dial>  or  <Enqueue>sales</Enqueue>   <!-- hand-off to agents -->
      <Redirect>next.xml</Redirect>
      <Hangup/>
    </Response>

Validation is strict, because a typo silently ignored is a campaign that says the
wrong thing to fifty thousand people: unknown verbs, unknown attributes (with the
closest known name suggested), wrong values and broken XML are all reported,
each with its line, in one `FlowError`. Document type declarations and entities
are refused outright (no flow needs them, and they are how XML bombs and external
entity reads start). Text and attribute values may hold `{{placeholders}}`; their
syntax is checked here, their values when the campaign is validated.

Pure: bytes in, verbs out; no files, no network (see `dialer.flow.source`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from tts.templates import Template, TemplateError

MAX_FLOW_BYTES = 256 * 1024  # a flow is a page of XML; anything bigger is a mistake
MAX_LOOP = 1000  # Twilio's cap for loop="0" ("repeat until the call ends")
DTMF_KEYS = "0123456789*#"


@dataclass(frozen=True)
class Problem:
    line: int  # 0: about the whole document
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else self.reason


class FlowError(ValueError):
    """Everything wrong with one flow document, each problem with its line."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        shown = "; ".join(str(problem) for problem in self.problems[:10])
        more = f" (and {len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__(f"{source}: {shown}{more}")


# -- verbs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    text: Template
    voice: str | None = None
    language: str | None = None
    loop: int = 1  # 0: repeat until the call ends (at most MAX_LOOP times)
    line: int = 0


@dataclass(frozen=True)
class Play:
    url: Template  # a file next to the flow, or an http(s) URL
    loop: int = 1
    line: int = 0


@dataclass(frozen=True)
class Pause:
    length: float = 1.0
    line: int = 0


Prompt = Say | Play | Pause


@dataclass(frozen=True)
class Gather:
    prompts: tuple[Prompt, ...] = ()
    num_digits: int | None = None  # None: until finishOnKey or the timeout
    timeout: float = 5.0  # seconds to wait for a (next) key once the prompts end
    finish_on_key: str = "#"  # "" for none
    action: Template | None = None  # None: carry on with the next verb
    method: str = "POST"
    action_on_empty_result: bool = False
    line: int = 0


@dataclass(frozen=True)
class Hangup:
    line: int = 0


@dataclass(frozen=True)
class Redirect:
    url: Template
    method: str = "POST"
    line: int = 0


@dataclass(frozen=True)
class Dial:
    """Hand the call to someone: a number, an agent (`Client`, `Sip`) or a queue."""

    target: Template
    kind: str = "number"  # number, client, sip, queue
    timeout: float = 30.0
    action: Template | None = None
    method: str = "POST"
    line: int = 0


@dataclass(frozen=True)
class Enqueue:
    queue: Template
    action: Template | None = None
    method: str = "POST"
    line: int = 0


@dataclass(frozen=True)
class Record:
    max_length: float = 3600.0
    timeout: float = 5.0  # seconds of silence that end the recording (0: never)
    finish_on_key: str = "1234567890*#"
    play_beep: bool = True
    action: Template | None = None
    method: str = "POST"
    line: int = 0


@dataclass(frozen=True)
class Set:
    """Our extension: `<Set name="confirmed" value="true"/>` sets a flow variable."""

    name: str
    value: Template
    line: int = 0


Verb = Say | Play | Pause | Gather | Hangup | Redirect | Dial | Enqueue | Record | Set


@dataclass(frozen=True)
class Flow:
    source: str
    verbs: tuple[Verb, ...]

    def templates(self) -> Iterator[Template]:
        """Every template in the document, nested prompts included."""
        for verb in self.verbs:
            yield from _templates_of(verb)
            if isinstance(verb, Gather):
                for prompt in verb.prompts:
                    yield from _templates_of(prompt)

    def references(self) -> Iterator[Template]:
        """Other documents this one can lead to (Redirect and the actions)."""
        for verb in self.verbs:
            if isinstance(verb, Redirect):
                yield verb.url
            elif isinstance(verb, Gather | Dial | Enqueue | Record) and verb.action is not None:
                yield verb.action

    def prompts(self) -> list[Prompt]:
        """Every `<Say>`, `<Play>` and `<Pause>`, those inside a `<Gather>` included, in
        document order."""
        prompts: list[Prompt] = []
        for verb in self.verbs:
            if isinstance(verb, Say | Play | Pause):
                prompts.append(verb)
            elif isinstance(verb, Gather):
                prompts.extend(verb.prompts)
        return prompts

    def says(self) -> list[Say]:
        return [prompt for prompt in self.prompts() if isinstance(prompt, Say)]

    def plays(self) -> list[Play]:
        return [prompt for prompt in self.prompts() if isinstance(prompt, Play)]

    def set_names(self) -> frozenset[str]:
        return frozenset(verb.name for verb in self.verbs if isinstance(verb, Set))


def _templates_of(verb: Verb) -> Iterator[Template]:
    for name in ("text", "url", "target", "queue", "value", "action"):
        value = getattr(verb, name, None)
        if isinstance(value, Template):
            yield value


# -- parsing --------------------------------------------------------------------------


@dataclass
class _Node:
    tag: str
    attributes: dict[str, str]
    line: int
    text: str = ""
    children: list[_Node] = field(default_factory=list)


def parse_flow(data: bytes | str, source: str = "flow") -> Flow:
    """The flow in `data`, or FlowError listing every problem with its line."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_FLOW_BYTES:
        raise FlowError(source, [Problem(1, f"larger than {MAX_FLOW_BYTES // 1024} KB")])
    root = _parse_xml(raw, source)
    problems: list[Problem] = []
    if root.tag != "Response":
        problems.append(
            Problem(root.line, f"the root element must be <Response>, not <{root.tag}>")
        )
    _refuse_unknown(root, (), problems)
    verbs: list[Verb] = []
    for node in root.children:
        verb = _verb(node, problems)
        if verb is not None:
            verbs.append(verb)
    if problems:
        raise FlowError(source, problems)
    return Flow(source, tuple(verbs))


def _parse_xml(raw: bytes, source: str) -> _Node:
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[_Node] = []
    roots: list[_Node] = []

    def start(tag: str, attributes: dict[str, str]) -> None:
        node = _Node(tag, attributes, parser.CurrentLineNumber)
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(_tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text += data

    def refuse(*_args: Any) -> None:
        raise FlowError(
            source, [Problem(parser.CurrentLineNumber, "DOCTYPE and entities are not allowed")]
        )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as exc:
        reason = expat.errors.messages[exc.code]
        raise FlowError(source, [Problem(exc.lineno, f"not well-formed XML: {reason}")]) from None
    if not roots:
        raise FlowError(source, [Problem(1, "empty document")])
    return roots[0]


_TOP_LEVEL = ("Say", "Play", "Pause", "Gather", "Hangup", "Redirect", "Dial", "Enqueue", "Record",
              "Set")  # fmt: skip
_IN_GATHER = ("Say", "Play", "Pause")
_DIAL_NOUNS = {"Number": "number", "Client": "client", "Sip": "sip", "Queue": "queue"}


def _verb(node: _Node, problems: list[Problem], nested: bool = False) -> Verb | None:
    allowed = _IN_GATHER if nested else _TOP_LEVEL
    if node.tag not in allowed:
        where = "inside <Gather>" if nested else "in <Response>"
        problems.append(
            Problem(
                node.line, f"<{node.tag}> is not supported {where}{_suggest(node.tag, allowed)}"
            )
        )
        return None
    builder = _BUILDERS[node.tag]
    _refuse_unknown(node, _ATTRIBUTES[node.tag], problems)
    if node.tag not in ("Gather", "Dial"):
        for child in node.children:
            problems.append(Problem(child.line, f"<{node.tag}> takes no <{child.tag}> inside"))
    return builder(_Reader(node, problems))


def _refuse_unknown(node: _Node, known: tuple[str, ...], problems: list[Problem]) -> None:
    for name in node.attributes:
        if name not in known:
            problems.append(
                Problem(
                    node.line,
                    f"<{node.tag}> has no attribute {name!r}{_suggest(name, known)}",
                )
            )


def _suggest(name: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not close:
        close = [k for k in known if k.lower() == name.lower()]
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Reader:
    """Typed reads of one element's attributes; a wrong value becomes a Problem."""

    def __init__(self, node: _Node, problems: list[Problem]) -> None:
        self.node = node
        self.problems = problems

    @property
    def line(self) -> int:
        return self.node.line

    def problem(self, reason: str) -> None:
        self.problems.append(Problem(self.node.line, f"<{self.node.tag}> {reason}"))

    def text(self, what: str, *, required: bool = True) -> Template | None:
        value = self.node.text.strip()
        if not value:
            if required:
                self.problem(f"needs {what} between its tags")
            return None
        return self.template(value, what)

    def template(self, value: str, what: str) -> Template | None:
        try:
            return Template(value)
        except TemplateError as exc:
            self.problem(f"{what}: {exc}")
            return None

    def number(self, name: str, default: float, *, low: float, high: float) -> float:
        value = self.node.attributes.get(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            self.problem(f"{name} must be a number (got {value!r})")
            return default
        if not low <= number <= high:
            self.problem(f"{name} must be between {low:g} and {high:g} (got {value!r})")
            return default
        return number

    def whole(self, name: str, default: int, *, low: int, high: int) -> int:
        value = self.node.attributes.get(name)
        if value is not None and not value.strip().isdigit():
            self.problem(f"{name} must be a whole number (got {value!r})")
            return default
        return int(self.number(name, default, low=low, high=high))

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.node.attributes.get(name, default)
        if value not in allowed:
            self.problem(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
            return default
        return value

    def flag(self, name: str, default: bool) -> bool:
        return self.choice(name, "true" if default else "false", ("true", "false")) == "true"

    def keys(self, name: str, default: str, *, single: bool) -> str:
        value = self.node.attributes.get(name, default)
        if any(key not in DTMF_KEYS for key in value) or (single and len(value) > 1):
            which = "one key" if single else "keys"
            self.problem(f"{name} must be {which} of {DTMF_KEYS} (got {value!r})")
            return default
        return value

    def reference(self, name: str) -> Template | None:
        value = self.node.attributes.get(name)
        if value is None:
            return None
        if not value.strip():
            self.problem(f"{name} must not be empty")
            return None
        return self.template(value.strip(), name)

    def optional_text(self, name: str) -> str | None:
        value = self.node.attributes.get(name)
        return value.strip() if value is not None and value.strip() else None


def _say(r: _Reader) -> Say | None:
    text = r.text("the words to say")
    loop = r.whole("loop", 1, low=0, high=MAX_LOOP)
    if text is None:
        return None
    return Say(text, r.optional_text("voice"), r.optional_text("language"), loop, r.line)


def _play(r: _Reader) -> Play | None:
    url = r.text("the file or URL to play")
    loop = r.whole("loop", 1, low=0, high=MAX_LOOP)
    return None if url is None else Play(url, loop, r.line)


def _pause(r: _Reader) -> Pause:
    return Pause(r.number("length", 1.0, low=0, high=600), r.line)


def _gather(r: _Reader) -> Gather:
    r.choice("input", "dtmf", ("dtmf",))  # speech recognition is not offered
    prompts: list[Prompt] = []
    for child in r.node.children:
        verb = _verb(child, r.problems, nested=True)
        if isinstance(verb, Say | Play | Pause):
            prompts.append(verb)
    digits = r.node.attributes.get("numDigits")
    return Gather(
        prompts=tuple(prompts),
        num_digits=None if digits is None else r.whole("numDigits", 1, low=1, high=64),
        timeout=r.number("timeout", 5.0, low=0, high=600),
        finish_on_key=r.keys("finishOnKey", "#", single=True),
        action=r.reference("action"),
        method=r.choice("method", "POST", ("POST", "GET")),
        action_on_empty_result=r.flag("actionOnEmptyResult", False),
        line=r.line,
    )


def _hangup(r: _Reader) -> Hangup:
    if r.node.text.strip():
        r.problem("takes no text")
    return Hangup(r.line)


def _redirect(r: _Reader) -> Redirect | None:
    url = r.text("the flow to go to")
    method = r.choice("method", "POST", ("POST", "GET"))
    return None if url is None else Redirect(url, method, r.line)


def _dial(r: _Reader) -> Dial | None:
    kind, target = "number", r.node.text.strip()
    nouns = r.node.children
    if nouns:
        if len(nouns) > 1 or target:
            r.problem("takes one number, client, SIP address or queue")
        noun = nouns[0]
        if noun.tag not in _DIAL_NOUNS:
            r.problems.append(
                Problem(
                    noun.line,
                    f"<Dial> takes no <{noun.tag}>{_suggest(noun.tag, tuple(_DIAL_NOUNS))}",
                )
            )
            return None
        _refuse_unknown(noun, (), r.problems)
        kind, target = _DIAL_NOUNS[noun.tag], noun.text.strip()
    template = r.template(target, "the target") if target else None
    if template is None:
        if not target:
            r.problem("needs a number, client, SIP address or queue")
        return None
    return Dial(
        template,
        kind,
        r.number("timeout", 30.0, low=1, high=600),
        r.reference("action"),
        r.choice("method", "POST", ("POST", "GET")),
        r.line,
    )


def _enqueue(r: _Reader) -> Enqueue | None:
    queue = r.text("the queue name")
    action = r.reference("action")
    method = r.choice("method", "POST", ("POST", "GET"))
    return None if queue is None else Enqueue(queue, action, method, r.line)


def _record(r: _Reader) -> Record:
    return Record(
        max_length=r.number("maxLength", 3600.0, low=1, high=14400),
        timeout=r.number("timeout", 5.0, low=0, high=600),
        finish_on_key=r.keys("finishOnKey", "1234567890*#", single=False),
        play_beep=r.flag("playBeep", True),
        action=r.reference("action"),
        method=r.choice("method", "POST", ("POST", "GET")),
        line=r.line,
    )


def _set(r: _Reader) -> Set | None:
    name = r.node.attributes.get("name", "").strip()
    if not name or not (name.replace("_", "").isalnum() and not name[0].isdigit()):
        r.problem(f"name must be a variable name such as confirmed (got {name!r})")
        return None
    value = r.template(r.node.attributes.get("value", "true"), "value")
    return None if value is None else Set(name, value, r.line)


_BUILDERS: Mapping[str, Callable[[_Reader], Verb | None]] = {
    "Say": _say,
    "Play": _play,
    "Pause": _pause,
    "Gather": _gather,
    "Hangup": _hangup,
    "Redirect": _redirect,
    "Dial": _dial,
    "Enqueue": _enqueue,
    "Record": _record,
    "Set": _set,
}
_ATTRIBUTES: Mapping[str, tuple[str, ...]] = {
    "Say": ("voice", "language", "loop"),
    "Play": ("loop",),
    "Pause": ("length",),
    "Gather": ("input", "numDigits", "timeout", "finishOnKey", "action", "method",
               "actionOnEmptyResult"),
    "Hangup": (),
    "Redirect": ("method",),
    "Dial": ("timeout", "action", "method"),
    "Enqueue": ("action", "method"),
    "Record": ("maxLength", "timeout", "finishOnKey", "playBeep", "action", "method"),
    "Set": ("name", "value"),
}  # fmt: skip
