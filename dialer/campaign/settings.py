"""A campaign's own settings, stored with it as JSON, validated key by key.

`dialer campaign create` writes them; `dialer serve` (and `campaign run`) read
them back to build the running campaign, so a campaign behaves the same
whichever process dials it. A stored value that is wrong is refused with the
key and the reason, like config.toml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from dialer.campaign.policy import RetryRules, RulesError


class SettingsError(ValueError):
    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class CampaignSettings:
    trunk: str = "default"
    max_concurrent: int = 10
    max_attempts: int = 3
    retry_delay_s: float = 3600.0
    prompt_file: str | None = None  # played on answer
    max_duration_s: float | None = None  # hang up answered calls after this long
    any_hour: bool = False  # ignore recipients' calling hours (lab trunks and tests only)

    def __post_init__(self) -> None:
        if self.max_concurrent < 1:
            raise SettingsError("max_concurrent", "must be at least 1")
        if self.max_duration_s is not None and self.max_duration_s <= 0:
            raise SettingsError("max_duration_s", "must be positive")
        try:
            self.rules()
        except RulesError as exc:
            raise SettingsError("retry rules", str(exc)) from None

    def rules(self) -> RetryRules:
        return RetryRules(max_attempts=self.max_attempts, retry_delay_s=self.retry_delay_s)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, stored: Mapping[str, object]) -> CampaignSettings:
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in stored.items():
            if key not in known:
                raise SettingsError(key, f"unknown setting (expected one of {sorted(known)})")
            values[key] = _checked(key, value, known[key].type)
        return cls(**values)


def _checked(key: str, value: object, hint: object) -> object:
    expected: dict[str, tuple[type, ...]] = {
        "str": (str,),
        "int": (int,),
        "float": (int, float),
        "bool": (bool,),
        "str | None": (str, type(None)),
        "float | None": (int, float, type(None)),
    }
    allowed = expected[str(hint)]
    if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
        raise SettingsError(key, f"must be {hint} (got {type(value).__name__} {value!r})")
    if isinstance(value, int) and not isinstance(value, bool) and float in allowed:
        return float(value)
    return value
