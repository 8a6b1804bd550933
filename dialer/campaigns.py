"""What managers do to campaigns, whoever asks: the command line or the web API.

Each function takes the store (a `Repository`, on the store worker's thread)
and returns what both fronts show; refusals are `StoreError`, `SettingsError`,
`IllegalTransition` or `NotEditable`, with the reason for the manager.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dialer.campaign.abandonment import WINDOW_DAYS
from dialer.campaign.export import iso_utc
from dialer.campaign.model import FINAL_LEAD_STATES, CampaignEvent
from dialer.campaign.progress import Progress
from dialer.campaign.schedule import first_run
from dialer.campaign.settings import CampaignSettings, SettingsError
from dialer.campaign.timeline import series, slot_size
from dialer.config import Config
from dialer.flow.document import FlowError
from dialer.flow.validation import CampaignFlow, load_campaign_flow, missing_values
from dialer.store.repository import Campaign, Lead, Repository
from tts.engines import Engines

ABANDONMENT_WINDOW_S = WINDOW_DAYS * 86400.0
# The channels a campaign reaches people on. Calls are what this dialer places; the
# API names the channel so that clients filtering by it need not change if one is added.
VOICE = "voice"
CHANNELS = (VOICE,)
CONTROLS = {
    "pause": CampaignEvent.PAUSE,
    "resume": CampaignEvent.RESUME,
    "stop": CampaignEvent.STOP,
}


def start(store: Repository, campaign_id: int, now: float, config: Config) -> Campaign:
    """A draft starts now, or waits as scheduled for its schedule's first run.

    Refused while its flow is broken, or has something to say that some of the
    contacts still to be called have no value for."""
    campaign = store.get_campaign(campaign_id)
    settings = CampaignSettings.from_dict(campaign.settings)
    flows = check_flow(settings, config)
    if flows:
        check_contacts(store, campaign_id, frozenset().union(*(f.placeholders for f in flows)))
    schedule = settings.schedule
    moment = datetime.fromtimestamp(now, UTC)
    first = first_run(schedule, moment)
    if first is None:
        raise SettingsError("schedule", "has no run left: edit it, or duplicate the campaign")
    if first <= moment:  # datetimes, not floats: a float round trip can land a hair later
        return store.set_campaign_state(campaign_id, CampaignEvent.START, now=now)
    return store.set_campaign_state(
        campaign_id, CampaignEvent.SCHEDULE, now=now, next_run_at=first.timestamp()
    )


def check_flow(settings: CampaignSettings, config: Config) -> list[CampaignFlow]:
    """The settings' flows (the flow, and the message left on machines), checked: every
    document, every voice; SettingsError with every problem."""
    wanted = [("flow", settings.flow)]
    if settings.answering.enabled and settings.answering.on_machine == "message":
        wanted.append(("amd.message_flow", settings.answering.message_flow))
    if not any(flow for _, flow in wanted):
        return []
    engines = Engines(config.tts)  # EngineUnavailable is a ConfigError: exit 2, key named
    checked = []
    try:
        for key, flow in wanted:
            if flow:
                try:
                    checked.append(load_campaign_flow(flow, engines.check_voice))
                except FlowError as exc:
                    raise SettingsError(key, str(exc)) from None
    finally:
        engines.close()
    return checked


def check_contacts(store: Repository, campaign_id: int, placeholders: frozenset[str]) -> None:
    to_call = [
        (lead.id, lead.template_values())
        for lead in store.list_leads(campaign_id)
        if lead.state not in FINAL_LEAD_STATES
    ]
    lacking = missing_values(to_call, placeholders)
    if lacking:
        shown = "; ".join(f"lead {lead}: {', '.join(names)}" for lead, names in lacking[:10])
        more = f" and {len(lacking) - 10} more" if len(lacking) > 10 else ""
        raise SettingsError(
            "contacts",
            f"{len(lacking)} contacts have no value for what the flow says ({shown}{more}):"
            " fill in the values, or remove or complete those contacts",
        )


def describe(campaign: Campaign) -> dict[str, Any]:
    return summary(campaign) | {
        "description": campaign.description,
        "settings": dict(campaign.settings),
    }


def summary(campaign: Campaign) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "campaign": campaign.id,
        "name": campaign.name,
        "state": str(campaign.state),
        "runs": campaign.runs,
        "next_run_at": iso_utc(campaign.next_run_at),
        "channel": VOICE,
        "tags": list(campaign.tags),
    }
    if campaign.failure_reason:
        summary["failure_reason"] = campaign.failure_reason
    return summary


def abandonment(store: Repository, campaign: Campaign, now: float) -> dict[str, Any]:
    """The abandonment meter: people no agent took in time, of those handed to agents, over
    the last 30 days and today (UTC), against the campaign's limit."""
    limit = campaign.settings.get("abandon_limit", CampaignSettings.abandon_limit)
    live, lost = store.hand_off_counts(campaign.id, now - ABANDONMENT_WINDOW_S)
    live_today, lost_today = store.hand_off_counts(campaign.id, now - now % 86400)
    return {
        "limit": limit,
        "live_30d": live,
        "abandoned_30d": lost,
        "rate_30d": round(lost / live, 4) if live else 0.0,
        "live_today": live_today,
        "abandoned_today": lost_today,
        "rate_today": round(lost_today / live_today, 4) if live_today else 0.0,
    }


def progress(store: Repository, campaign_id: int) -> Progress:
    return Progress.of(store.campaign_counts(campaign_id), store.next_due_at(campaign_id))


def timeline(store: Repository, campaign_id: int, now: float) -> dict[str, Any]:
    """The campaign's finished calls over time (see dialer.campaign.timeline)."""
    first = store.first_finish(campaign_id)
    size = slot_size(now if first is None else first, now)
    counted = {} if first is None else store.finished_by_slot(campaign_id, size)
    return series(first, counted, size, now)


def lead_view(lead: Lead) -> dict[str, Any]:
    """A lead as managers see it (a contact and where its calls stand)."""
    return {
        "id": lead.id,
        "name": lead.name,
        "phone": lead.phone,
        "secondary_phone": lead.secondary_phone,
        "email": lead.email,
        "state": str(lead.state),
        "attempts": lead.attempts,
        "last_outcome": lead.last_outcome,
        "next_attempt_at": iso_utc(lead.next_attempt_at),
    }
