"""The running configuration as JSON for people to read, with every secret replaced.

A secret is what `dialer.config` declares `repr=False` (never printed, never logged):
a trunk's password, the flows' signing key, the webhook secret, the SMTP password. The
rule is read from the dataclasses, not listed here, so a secret added later is hidden
the moment it is declared one. A secret shows as `REDACTED` when set and "" when not,
which is all an admin needs to tell (a webhook secret must be set for callbacks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import Field, fields, is_dataclass
from typing import Any

from dialer.config import Config

REDACTED = "<redacted>"


def redacted(config: Config) -> dict[str, Any]:
    shown: dict[str, Any] = _shown(config)
    return shown


def secret_keys(config: Config) -> list[str]:
    """The dotted keys `redacted` hid, set or not (trunks.default.password, ...)."""
    return sorted(_secrets(config, ""))


def _shown(value: object) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {spec.name: _field(spec, getattr(value, spec.name)) for spec in fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _shown(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_shown(item) for item in value]
    return value


def _field(spec: Field[Any], value: object) -> Any:
    if not spec.repr:
        return REDACTED if value else ""
    return _shown(value)


def _secrets(value: object, prefix: str) -> list[str]:
    if is_dataclass(value) and not isinstance(value, type):
        found = []
        for spec in fields(value):
            key = f"{prefix}{spec.name}"
            found += [key] if not spec.repr else _secrets(getattr(value, spec.name), key + ".")
        return found
    if isinstance(value, Mapping):
        return [key for name, item in value.items() for key in _secrets(item, f"{prefix}{name}.")]
    return []
