"""A validated contact, as import hands it to the store."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ContactRecord:
    line: int  # the CSV line it came from (1 = the header), for reports
    name: str
    phone: str | None  # E.164, e.g. "+14155550100"
    email: str | None
    secondary_phone: str | None = None  # E.164, dialled when the primary fails
    timezone: str | None = None  # an IANA zone name, validated
    attributes: dict[str, str] = field(default_factory=dict)  # every other column
