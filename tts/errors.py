"""What can go wrong in text-to-speech, from a caller's point of view.

`TtsError` is the one exception a caller of the renderer needs to catch: the
engine and its fallback both failed, or the voice cannot be rendered at all.
`EngineError` is one engine failing once (the renderer falls back on it);
`EngineUnavailable` is a configuration that cannot work, refused at start.
"""

from __future__ import annotations

from dialer.config import ConfigError


class TtsError(Exception):
    """A prompt that could not be rendered, with the reason in the message."""


class EngineError(TtsError):
    """One engine failed to render (offline, timed out, crashed): the fallback may do it."""


class UnknownVoice(TtsError, ValueError):
    """A voice or language no configured engine can render: a validation error, never
    silently replaced by another voice."""


class EngineUnavailable(ConfigError, TtsError):
    """An engine the configuration names cannot run here (e.g. Piper without its model);
    `key` is the configuration key to fix."""
