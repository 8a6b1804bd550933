"""Campaign settings stored as JSON: round trip and refusal with the key."""

from __future__ import annotations

import pytest

from dialer.campaign.settings import CampaignSettings, SettingsError


def test_round_trip_and_ints_become_floats() -> None:
    settings = CampaignSettings(max_concurrent=5, retry_delay_s=60.0, any_hour=True)
    assert CampaignSettings.from_dict(settings.to_dict()) == settings
    assert CampaignSettings.from_dict({"retry_delay_s": 30}).retry_delay_s == 30.0
    assert CampaignSettings.from_dict({}) == CampaignSettings()


@pytest.mark.parametrize(
    ("stored", "key"),
    [
        ({"max_concurent": 3}, "max_concurent"),
        ({"max_concurrent": "3"}, "max_concurrent"),
        ({"max_concurrent": True}, "max_concurrent"),
        ({"max_concurrent": 0}, "max_concurrent"),
        ({"max_attempts": 0}, "retry rules"),
        ({"max_duration_s": -1}, "max_duration_s"),
        ({"prompt_file": 7}, "prompt_file"),
    ],
)
def test_wrong_settings_are_refused_with_the_key(stored: dict[str, object], key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        CampaignSettings.from_dict(stored)
    assert caught.value.key == key
