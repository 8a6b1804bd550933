"""Campaigns compared side by side.

    GET /api/stats?campaigns=3,7,12

Each campaign's leads, attempts and what they came to, its rates, the success rate,
the abandonment meter and the mean answered call: `CampaignFigures` says what each
figure counts. In the order asked, each campaign once; an unknown id is 404.
"""

from __future__ import annotations

import time
from typing import Any

from dialer import campaigns
from dialer.campaign.comparison import CampaignFigures
from dialer.store.repository import Repository
from dialer.web.api import schemas
from dialer.web.api.operation import ApiCall, Operation, Param

MAX_COMPARED = 20
_ID = r"[1-9]\d{0,17}"  # a comma-separated list: up to 18 digits fit SQLite's integers


async def campaign_stats(call: ApiCall) -> dict[str, Any]:
    wanted = list(dict.fromkeys(int(i) for i in call.query["campaigns"].split(",")))
    now = time.time()

    def compare(store: Repository) -> list[dict[str, Any]]:
        return [_figures(store, campaign_id, now) for campaign_id in wanted]

    return {"campaigns": await call.read(compare)}


def _figures(store: Repository, campaign_id: int, now: float) -> dict[str, Any]:
    campaign = store.get_campaign(campaign_id)
    figures = CampaignFigures.of(
        campaigns.progress(store, campaign_id),
        store.outcome_counts(campaign_id),
        store.mean_answered_duration(campaign_id),
    )
    return (
        campaigns.summary(campaign)
        | figures.to_dict()
        | {"abandonment": campaigns.abandonment(store, campaign, now)}
    )


_RATE = {"type": "number", "minimum": 0, "maximum": 1}
_COUNTS = ("leads", "attempts", "answered", "reached", "human", "voicemail", "no_answer", "busy",
           "rejected", "failed", "cancelled")  # fmt: skip
_RATES = ("reached_rate", "voicemail_rate", "no_answer_rate", "busy_rate", "failed_rate",
          "success_rate")  # fmt: skip
_FIGURES = {
    **dict.fromkeys(_COUNTS, schemas.COUNT),
    **dict.fromkeys(_RATES, _RATE),
    "attempts_per_lead": {"type": "number", "minimum": 0},
    "mean_answered_s": {"type": ["number", "null"], "description": "seconds"},
    "abandonment": {"type": "object"},
}
_COMPARED = {
    **schemas.CAMPAIGN_SUMMARY,
    "properties": {**schemas.CAMPAIGN_SUMMARY["properties"], **_FIGURES},
    "required": [*schemas.CAMPAIGN_SUMMARY["required"], *_FIGURES],
}

OPERATIONS = [
    Operation("GET", "/api/stats", campaign_stats, "Campaigns compared side by side",
              "campaigns",
              query=(Param("campaigns", {"type": "string",
                                         "pattern": f"^{_ID}(,{_ID}){{0,{MAX_COMPARED - 1}}}$"},
                           f"campaign ids, comma-separated (at most {MAX_COMPARED})",
                           required=True),),
              response={"type": "object",
                        "properties": {"campaigns": {"type": "array", "items": _COMPARED}},
                        "required": ["campaigns"]}),
]  # fmt: skip
