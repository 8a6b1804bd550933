"""The library of uploaded flows and prompts: files a campaign names by their path.

    {library_dir}/flows/{name}/main.xml   the flow's first document, beside the other
                                          documents and audio files it leads to
    {library_dir}/prompts/{name}.wav      a recorded message (WAV, MP3, ... or raw μ-law)

A flow is replaced whole. The upload is written to a staging folder and checked as
a campaign's flow is checked before it starts (every document parses, every
reference stays inside the folder, every voice is one the TTS engine has); only
then is it swapped in, so no campaign ever reads half a flow. A prompt is decoded
before it is kept, for the same reason. Names are what a URL path can carry
without escaping; file names inside a flow are plain names, never folders.

The web API is the only writer (`dialer.web.api.library_ops`); it refuses to change
what a campaign that may still dial is using.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dialer.flow.document import FlowError
from dialer.flow.validation import VoiceCheck, load_campaign_flow
from media.audiofile import RAW_ULAW_SUFFIXES, AudioFileError, decode_prompt_bytes

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}\.[A-Za-z0-9]{1,8}")
FIRST_DOCUMENT = "main.xml"
AUDIO_SUFFIXES = frozenset({".wav", ".mp3", ".ogg", ".oga", ".opus", ".flac", ".m4a"})
FLOW_SUFFIXES = frozenset({".xml"}) | AUDIO_SUFFIXES | RAW_ULAW_SUFFIXES
MAX_FLOW_FILES = 100
_STAGING = "."  # staging and retired folders start with a dot: never listed, never a name


class LibraryError(ValueError):
    """An upload that cannot be kept: every reason, for the uploader to fix at once."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class FlowEntry:
    name: str
    path: str  # what a campaign's `flow` setting names
    files: tuple[str, ...]
    placeholders: tuple[str, ...]  # the contact fields its speech needs
    updated_at: float

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "path": self.path, "files": list(self.files),
                "placeholders": list(self.placeholders), "updated_at": self.updated_at}  # fmt: skip


@dataclass(frozen=True)
class PromptEntry:
    name: str
    path: str  # what a campaign's `prompt_file` setting names
    bytes: int
    duration_s: float
    updated_at: float

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "path": self.path, "bytes": self.bytes,
                "duration_s": self.duration_s, "updated_at": self.updated_at}  # fmt: skip


def _any_voice(voice: str | None, language: str | None) -> str | None:
    return None  # listing reads placeholders only; voices were checked on upload


class Library:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.flows_dir = self.root / "flows"
        self.prompts_dir = self.root / "prompts"

    # -- flows ---------------------------------------------------------------------------

    def flow_path(self, name: str) -> Path:
        return self.flows_dir / _checked_name(name) / FIRST_DOCUMENT

    def flows(self) -> list[FlowEntry]:
        if not self.flows_dir.is_dir():
            return []
        names = sorted(p.name for p in self.flows_dir.iterdir() if NAME.fullmatch(p.name))
        return [entry for name in names if (entry := self._flow_entry(name)) is not None]

    def flow(self, name: str) -> FlowEntry | None:
        return self._flow_entry(_checked_name(name))

    def save_flow(
        self,
        name: str,
        uploads: Iterable[Upload],
        check_voice: VoiceCheck,
        *,
        max_audio_bytes: int,
    ) -> FlowEntry:
        """Check the files as one flow and put them in place of any flow of that name."""
        folder = self.flows_dir / _checked_name(name)
        files = list(uploads)
        problems = _flow_file_problems(files)
        if problems:
            raise LibraryError(problems)
        self.flows_dir.mkdir(parents=True, exist_ok=True)
        staging = self.flows_dir / f"{_STAGING}staging-{name}-{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            for upload in files:
                (staging / upload.filename).write_bytes(upload.data)
            problems = _checked_files(staging, files, check_voice, max_audio_bytes)
            if problems:
                raise LibraryError(problems)
            _swap_in(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        entry = self._flow_entry(name)
        assert entry is not None
        return entry

    def remove_flow(self, name: str) -> bool:
        folder = self.flows_dir / _checked_name(name)
        if not folder.is_dir():
            return False
        retired = self.flows_dir / f"{_STAGING}removed-{name}-{secrets.token_hex(4)}"
        folder.rename(retired)  # gone at once for readers; the files go after
        shutil.rmtree(retired, ignore_errors=True)
        return True

    def _flow_entry(self, name: str) -> FlowEntry | None:
        first = self.flows_dir / name / FIRST_DOCUMENT
        try:
            files = tuple(sorted(p.name for p in first.parent.iterdir() if p.is_file()))
            updated_at = first.stat().st_mtime
        except OSError:
            return None
        try:
            placeholders = tuple(sorted(load_campaign_flow(str(first), _any_voice).placeholders))
        except FlowError:
            placeholders = ()  # checked on upload; a file edited by hand since is the starter's
        return FlowEntry(name, str(first), files, placeholders, updated_at)

    # -- prompts -------------------------------------------------------------------------

    def prompt_path(self, name: str) -> Path | None:
        """The prompt's file, whatever its format (None: no such prompt)."""
        checked = _checked_name(name)
        if not self.prompts_dir.is_dir():
            return None
        found = [p for p in self.prompts_dir.iterdir() if p.stem == checked and p.is_file()]
        return found[0] if found else None

    def prompts(self) -> list[PromptEntry]:
        if not self.prompts_dir.is_dir():
            return []
        names = sorted(p.stem for p in self.prompts_dir.iterdir() if NAME.fullmatch(p.stem))
        return [entry for name in names if (entry := self.prompt(name)) is not None]

    def prompt(self, name: str) -> PromptEntry | None:
        path = self.prompt_path(name)
        if path is None:
            return None
        try:
            stat = path.stat()
            audio = decode_prompt_bytes(path.read_bytes(), path.name, max_bytes=None)
        except (OSError, AudioFileError):
            return None
        return PromptEntry(path.stem, str(path), stat.st_size, len(audio) / 8000, stat.st_mtime)

    def save_prompt(self, name: str, upload: Upload, *, max_bytes: int) -> PromptEntry:
        """Decode the audio (so that it can be played), then keep it as `name`."""
        _checked_name(name)
        suffix = Path(upload.filename).suffix.lower()
        if suffix not in AUDIO_SUFFIXES | RAW_ULAW_SUFFIXES:
            kinds = ", ".join(sorted(AUDIO_SUFFIXES | RAW_ULAW_SUFFIXES))
            raise LibraryError([f"{upload.filename}: not an audio file name ({kinds})"])
        try:
            decode_prompt_bytes(upload.data, upload.filename, max_bytes=max_bytes)
        except AudioFileError as exc:
            raise LibraryError([str(exc)]) from None
        self.prompts_dir.mkdir(parents=True, exist_ok=True)
        earlier = self.prompt_path(name)
        target = self.prompts_dir / f"{name}{suffix}"
        staging = self.prompts_dir / f"{_STAGING}{name}-{secrets.token_hex(4)}{suffix}"
        staging.write_bytes(upload.data)
        os.replace(staging, target)
        if earlier is not None and earlier != target:
            earlier.unlink(missing_ok=True)  # the same prompt in its earlier format
        entry = self.prompt(name)
        assert entry is not None
        return entry

    def remove_prompt(self, name: str) -> bool:
        path = self.prompt_path(name)
        if path is None:
            return False
        path.unlink(missing_ok=True)
        return True


def _checked_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise LibraryError([f"{name!r}: a name is letters, digits, - and _ (at most 64)"])
    return name


def _flow_file_problems(files: list[Upload]) -> list[str]:
    problems = []
    if not files:
        problems.append("no files: a flow is at least its main.xml")
    if len(files) > MAX_FLOW_FILES:
        problems.append(f"{len(files)} files: a flow has at most {MAX_FLOW_FILES}")
    names = [upload.filename for upload in files]
    for filename in names:
        if not FILE_NAME.fullmatch(filename):
            problems.append(f"{filename!r}: a file name is a plain name.ext, no folders")
        elif Path(filename).suffix.lower() not in FLOW_SUFFIXES:
            problems.append(f"{filename}: neither a flow document (.xml) nor audio")
    if len(set(names)) != len(names):
        problems.append("the same file name twice")
    if files and FIRST_DOCUMENT not in names:
        problems.append(f"no {FIRST_DOCUMENT}: the document each call starts with")
    return problems


def _checked_files(
    folder: Path, files: list[Upload], check_voice: VoiceCheck, max_audio_bytes: int
) -> list[str]:
    """Every document as a flow of its own (so that one no menu reaches yet is checked
    too), and every audio file decoded; each problem once, in the uploader's names."""
    problems: dict[str, None] = {}
    for upload in files:
        if upload.filename.endswith(".xml"):
            try:
                load_campaign_flow(str(folder / upload.filename), check_voice)
            except FlowError as exc:
                problems.update(
                    (str(p).replace(f"{folder}{os.sep}", ""), None) for p in exc.problems
                )
            continue
        try:
            decode_prompt_bytes(upload.data, upload.filename, max_bytes=max_audio_bytes)
        except AudioFileError as exc:
            problems[str(exc)] = None
    return list(problems)


def _swap_in(staging: Path, folder: Path) -> None:
    """Put the checked folder where the flow lives; the one it replaces goes after."""
    retired = folder.with_name(f"{_STAGING}replaced-{folder.name}-{secrets.token_hex(4)}")
    had_one = folder.exists()
    if had_one:
        folder.rename(retired)
    staging.rename(folder)
    if had_one:
        shutil.rmtree(retired, ignore_errors=True)
