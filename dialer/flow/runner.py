"""A flow on an answered call: the shell that carries out the interpreter's commands.

`FlowRuntime` is what the calls of one process share: speech (the TTS renderer
and its cache), the document fetcher (static files, webhooks), decoded prompt
audio, where recordings go, and the hand-off to agents. `CallFlow` runs one
flow on one call's `RtpSession`: it drives `interpreter.run_flow` and does each
command (play, listen for keys, record, fetch, opt out), so everything here is
waiting on the call, and every decision is the interpreter's.

Cancellation is the normal end when the far end hangs up first: the task is
cancelled, and `variables` and `keys` still hold what the flow learnt so far.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import numpy as np

from dialer.config import Config, FlowSettings
from dialer.flow.document import Flow
from dialer.flow.interpreter import (
    CallFacts,
    Capture,
    Collect,
    Collected,
    Command,
    Done,
    Fetch,
    FlowOptions,
    FlowResult,
    FlowStart,
    HandedOff,
    HandOff,
    OptOut,
    PlayAudio,
    Recorded,
    Reply,
    Silence,
    Sound,
    SoundFailed,
    Speak,
    run_flow,
)
from dialer.flow.keys import DigitCollector
from dialer.flow.location import FlowLocation
from dialer.flow.webhook import FlowFetcher
from media import audiofile
from media.audiofile import AudioFileError
from media.g711 import ulaw_encode
from media.session import ReceivedAudio, RtpSession
from media.silence import SilenceTimer
from tts.renderer import Renderer
from tts.templates import MissingValues

log = logging.getLogger("dialer.flow")

PROMPT_CACHE_ENTRIES = 256
BEEP = ulaw_encode(
    (np.sin(2 * np.pi * 1000 * np.arange(4000) / 8000) * 8000).astype(np.int16)
)  # 0.5 s at 1 kHz: the tone people know as "speak after the beep"


class SpeechRenderer(Protocol):
    async def render_async(
        self, text: str, *, voice: str | None = None, language: str | None = None
    ) -> bytes: ...

    def check_voice(self, voice: str | None, language: str | None) -> str | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SafeHarbor:
    """A campaign's own safe-harbor message (who called, how to opt out), for the person
    no agent takes in time: a recording (8 kHz μ-law), else `message`, spoken."""

    message: str = ""
    audio: bytes = b""


@dataclass(frozen=True)
class HandOffCall:
    """The live call a hand-off takes over: its audio, who it is, and their opt-out."""

    session: RtpSession
    facts: CallFacts
    opt_out: Callable[[], Awaitable[None]]
    answered_at: float  # loop time of the answer
    # Since when the person has waited for someone to talk to (loop time): the safe
    # harbor counts from the end of their greeting, which AMD heard before its verdict.
    waiting_since: float | None = None  # None: from the hand-off
    safe_harbor: SafeHarbor | None = None  # None: the process's own message


class HandOffHandler(Protocol):
    async def prepare(self, safe_harbor: SafeHarbor | None) -> None:
        """Ready the safe-harbor audio now (a campaign starts): it is needed at once."""

    async def hand_off(self, command: HandOff, call: HandOffCall) -> HandedOff: ...


class NoAgents:
    """The hand-off before agents exist in this process: every `<Dial>` fails, said once."""

    def __init__(self) -> None:
        self._said = False

    async def prepare(self, safe_harbor: SafeHarbor | None) -> None:
        return None

    async def hand_off(self, command: HandOff, call: HandOffCall) -> HandedOff:
        if not self._said:
            log.warning("flow asked to hand a call to %s %r: no agents here", command.kind,
                        command.target)  # fmt: skip
            self._said = True
        return HandedOff("failed")


@dataclass
class FlowRuntime:
    settings: FlowSettings
    speech: SpeechRenderer
    fetcher: FlowFetcher
    recordings: Path
    hand_off: HandOffHandler = field(default_factory=NoAgents)
    _prompts: OrderedDict[str, bytes] = field(default_factory=OrderedDict)

    @classmethod
    def from_config(cls, config: Config) -> FlowRuntime:
        """The runtime a process builds from its configuration (EngineUnavailable, a
        ConfigError, when the TTS engine it names cannot run)."""
        flows = config.flows
        speech = Renderer(config.tts)
        return cls(flows, speech, FlowFetcher(flows), Path(flows.recordings_dir))

    def options(self) -> FlowOptions:
        fallback = self.settings.fallback_flow
        return FlowOptions(
            opt_out_key=self.settings.opt_out_key,
            opt_out_message=self.settings.opt_out_message,
            fallback=FlowLocation.of(fallback) if fallback else None,
            max_documents=self.settings.max_documents,
        )

    async def audio(self, location: FlowLocation) -> bytes:
        """A prompt file or URL as 8 kHz μ-law, decoded once (AudioFileError if unusable)."""
        key = str(location)
        cached = self._prompts.get(key)
        if cached is not None:
            self._prompts.move_to_end(key)
            return cached
        max_bytes = int(self.settings.max_prompt_mb * 1024 * 1024)
        if location.url is None:
            assert location.path is not None
            audio = await asyncio.to_thread(audiofile.load_ulaw, location.path, max_bytes=max_bytes)
        else:
            data = await self._download(location.url, max_bytes)
            audio = await asyncio.to_thread(
                audiofile.decode_prompt_bytes, data, key, max_bytes=max_bytes
            )
        self._prompts[key] = audio
        if len(self._prompts) > PROMPT_CACHE_ENTRIES:
            self._prompts.popitem(last=False)
        return audio

    async def _download(self, url: str, max_bytes: int) -> bytes:
        try:
            async with asyncio.timeout(self.settings.webhook_timeout_s * 3):
                async with self.fetcher.http.get(url, allow_redirects=False) as response:
                    if response.status != 200:
                        raise AudioFileError(f"{url}: answered {response.status}")
                    data = await response.content.read(max_bytes + 1)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise AudioFileError(f"{url}: {type(exc).__name__} {exc}") from None
        if len(data) > max_bytes:
            raise AudioFileError(f"{url}: larger than {max_bytes / 2**20:.1f} MB")
        return data

    async def prepare(self, start: FlowStart, contact: Mapping[str, str]) -> None:
        """Render the first document's speech for one contact ahead of the dial, so that
        no one who answers waits for TTS (the renders land in the speech cache)."""
        texts = spoken_texts(start.flow, contact)
        await asyncio.gather(
            *(self.speech.render_async(text, voice=voice, language=language)
              for text, voice, language in texts)
        )  # fmt: skip

    async def close(self) -> None:
        await self.fetcher.close()
        self.speech.close()


@dataclass(frozen=True)
class FlowRequest:
    """The flow a call runs on answer, for one contact."""

    runtime: FlowRuntime
    start: FlowStart
    contact: Mapping[str, str] = field(default_factory=dict)  # fields and attributes
    opt_out: Callable[[], Awaitable[None]] | None = None  # the opt-out key was pressed
    campaign_id: int | None = None  # whose agents take the person (a hand-off)
    lead_id: int | None = None
    agent_id: int | None = None  # the agent who chose to call them (preview), waiting
    safe_harbor: SafeHarbor | None = None  # the campaign's own (a hand-off that fails)


class CallFlow:
    def __init__(
        self,
        runtime: FlowRuntime,
        session: RtpSession,
        start: FlowStart,
        facts: CallFacts,
        opt_out: Callable[[], Awaitable[None]],
        answered_at: float | None = None,  # loop time; None: now
        waiting_since: float | None = None,  # see HandOffCall
        safe_harbor: SafeHarbor | None = None,
    ) -> None:
        self.runtime = runtime
        self.session = session
        self.start = start
        self.facts = facts
        self.opt_out = opt_out
        self.keys = ""  # every key the flow took from the call, in order
        self.variables: dict[str, str] = {}  # filled in by the flow as it runs
        self.started_at = answered_at or asyncio.get_running_loop().time()  # the answer
        self.waiting_since = waiting_since
        self.safe_harbor = safe_harbor
        self.first_sound_at: float | None = None  # when the first prompt was handed to RTP
        self._recordings = 0

    @property
    def first_prompt_ms(self) -> float | None:
        """From the answer to the first prompt queued for sending (the next 20 ms tick
        sends it): what a person who answers waits before hearing anything."""
        if self.first_sound_at is None:
            return None
        return round((self.first_sound_at - self.started_at) * 1000, 1)

    async def run(self) -> FlowResult:
        run = run_flow(
            self.start.flow,
            self.start.location,
            self.facts,
            self.runtime.options(),
            self.variables,
        )
        try:
            command = next(run)
            while True:
                command = run.send(await self._execute(command))
        except StopIteration as finished:
            result: FlowResult = finished.value
            return result
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A bug here must end this call politely, never the process.
            log.exception("call %s: the flow failed", self.facts.call_sid)
            return FlowResult(f"flow error: internal: {exc}", dict(self.variables), failed=True)

    async def _execute(self, command: Command) -> Reply:
        if isinstance(command, Speak | PlayAudio | Silence):
            return await self._sound(command)
        if isinstance(command, Collect):
            return await self._collect(command)
        if isinstance(command, Capture):
            return await self._capture(command)
        if isinstance(command, Fetch):
            return await self.runtime.fetcher.fetch(
                command.location, command.method, command.params
            )
        if isinstance(command, HandOff):
            call = HandOffCall(
                self.session, self.facts, self.opt_out, self.started_at, self.waiting_since,
                self.safe_harbor,
            )  # fmt: skip
            return await self.runtime.hand_off.hand_off(command, call)
        assert isinstance(command, OptOut)
        await self.opt_out()
        return Done()

    async def _sound(self, sound: Sound) -> Done | SoundFailed:
        if isinstance(sound, Silence):
            await asyncio.sleep(sound.seconds)
            return Done()
        try:
            audio = await self._audio_of(sound)
        except (AudioFileError, OSError) as exc:
            return SoundFailed(str(exc))
        if self.first_sound_at is None:
            self.first_sound_at = asyncio.get_running_loop().time()
        times = sound.times
        if times is None:
            await self.session.play(audio, loop=True)
        else:
            for _ in range(times):
                await self.session.play(audio)
        return Done()

    async def _audio_of(self, sound: Speak | PlayAudio) -> bytes:
        if isinstance(sound, Speak):
            return await self.runtime.speech.render_async(
                sound.text, voice=sound.voice, language=sound.language
            )
        return await self.runtime.audio(sound.location)

    async def _collect(self, command: Collect) -> Collected | SoundFailed:
        loop = asyncio.get_running_loop()
        self._drain_keys()  # keys from before the question are not an answer to it
        collector = DigitCollector(command.num_digits, command.timeout, command.finish_on_key)
        prompts = asyncio.ensure_future(self._prompts(command.prompts))
        key = asyncio.ensure_future(self.session.dtmf.get())
        try:
            while not collector.done:
                waiting: set[asyncio.Future[Any]] = {key} if prompts.done() else {key, prompts}
                timeout = None
                if collector.deadline is not None:
                    timeout = max(0.0, collector.deadline - loop.time())
                finished, _ = await asyncio.wait(
                    waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if prompts in finished:
                    failure = prompts.result()
                    if failure is not None:
                        return failure
                    collector.prompts_finished(loop.time())
                if key in finished:
                    digit = key.result().digit
                    self.keys += digit
                    self.session.stop_playback()  # barge-in: the caller has answered
                    prompts.cancel()
                    collector.prompts_finished(loop.time())
                    collector.key(digit, loop.time())
                    key = asyncio.ensure_future(self.session.dtmf.get())
                collector.expire(loop.time())
        finally:
            key.cancel()
            prompts.cancel()
        return Collected(collector.digits)

    async def _prompts(self, sounds: tuple[Sound, ...]) -> SoundFailed | None:
        for sound in sounds:
            outcome = await self._sound(sound)
            if isinstance(outcome, SoundFailed):
                return outcome
        return None

    async def _capture(self, command: Capture) -> Recorded:
        if command.play_beep:
            await self.session.play(BEEP)
        self._drain_keys()
        self._recordings += 1
        path = self.runtime.recordings / f"{_safe(self.facts.call_sid)}-{self._recordings}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        quiet = asyncio.Event()
        timer = SilenceTimer(command.silence_timeout)

        def listen(frame: ReceivedAudio) -> None:
            if timer.on_frame(frame.pcm16()):
                quiet.set()

        recorder = self.session.start_recording(path)
        stop_listening = self.session.listen(listen)
        digits = ""
        quiet_task = asyncio.ensure_future(quiet.wait())
        try:
            async with asyncio.timeout(command.max_length):
                while True:
                    key = asyncio.ensure_future(self.session.dtmf.get())
                    finished, _ = await asyncio.wait(
                        {key, quiet_task}, return_when=asyncio.FIRST_COMPLETED
                    )
                    if quiet_task in finished:
                        key.cancel()
                        break
                    digit = key.result().digit
                    self.keys += digit
                    if digit in command.finish_on_key:
                        digits = digit
                        break
        except TimeoutError:
            pass  # maxLength reached
        finally:
            quiet_task.cancel()
            stop_listening()
            self.session.stop_recording()
        return Recorded(str(path), recorder.duration_seconds, digits)

    def _drain_keys(self) -> None:
        while not self.session.dtmf.empty():
            self.keys += self.session.dtmf.get_nowait().digit


def spoken_texts(flow: Flow, values: Mapping[str, str]) -> list[tuple[str, str | None, str | None]]:
    """(text, voice, language) of every `<Say>` that `values` alone can fill in."""
    texts = []
    for say in flow.says():
        try:
            texts.append((say.text.render(values), say.voice, say.language))
        except MissingValues:
            continue  # needs a value only the call will have (Digits...)
    return texts


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "call"
