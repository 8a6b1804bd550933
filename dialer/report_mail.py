"""A campaign's completion report, as the email its managers receive, and its sending.

`completion_report` writes the message: the figures in the text (contacts, calls,
outcomes, success and abandonment) and the results export attached as CSV.
`send` hands it to the configured SMTP server (`[smtp]`); it blocks, so it runs
off the event loop. Addresses come from validated settings (no line breaks: no
header injection), and the password is never logged.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from dialer.config import SmtpSettings
from dialer.store.repository import Campaign

__all__ = ["EmailMessage", "completion_report", "send"]


def completion_report(
    campaign: Campaign,
    progress: Mapping[str, object],
    abandonment: Mapping[str, object],
    results_csv: str,
    *,
    sender: str,
    recipients: Sequence[str],
    at: float,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"Campaign {campaign.id} \u201c{campaign.name}\u201d completed"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(at)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    finished = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    started = datetime.fromtimestamp(campaign.created_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Campaign {campaign.id}, {campaign.name}, completed at {finished}",
        f"(created {started}, {campaign.runs} run{'s' if campaign.runs != 1 else ''}).",
        "",
        *(f"{key.replace('_', ' ').capitalize():<16}{value}" for key, value in progress.items()),
        "",
        "Abandonment (people handed to agents whom no agent took in time):",
        f"  today {abandonment.get('abandoned_today', 0)} of {abandonment.get('live_today', 0)},"
        f" last 30 days {abandonment.get('abandoned_30d', 0)} of"
        f" {abandonment.get('live_30d', 0)} (limit {abandonment.get('limit', '')})",
        "",
        "Each contact's result is in the attached CSV.",
    ]
    message.set_content("\n".join(lines) + "\n")
    message.add_attachment(
        results_csv.encode("utf-8"),
        maintype="text",
        subtype="csv",
        filename=f"campaign-{campaign.id}-results.csv",
    )
    return message


def send(message: EmailMessage, settings: SmtpSettings) -> None:
    """Blocking: the message to the SMTP server; smtplib's exceptions (or OSError) if not."""
    if settings.security == "tls":
        context = ssl.create_default_context()
        with smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_s,
                              context=context) as smtp:  # fmt: skip
            _deliver(smtp, message, settings)
        return
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s) as smtp:
        if settings.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        _deliver(smtp, message, settings)


def _deliver(smtp: smtplib.SMTP, message: EmailMessage, settings: SmtpSettings) -> None:
    if settings.username:
        smtp.login(settings.username, settings.password)
    smtp.send_message(message)
