"""config.toml: defaults, documentation, and refusal with the exact key and reason."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from dialer.config import Config, ConfigError, TrunkSettings, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_config_toml_is_valid_and_equals_the_embedded_defaults() -> None:
    assert load_config(ROOT / "config.toml") == Config()


def test_shipped_config_toml_documents_every_key() -> None:
    text = (ROOT / "config.toml").read_text()
    table = tomllib.loads(text)
    config = Config()
    for section in ("sip", "rtp", "limits", "contacts", "tts", "flows", "log"):
        documented = set(table[section])
        expected = {f.name for f in fields(getattr(config, section))}
        assert documented == expected, section
    assert set(table["trunks"]["default"]) == {f.name for f in fields(TrunkSettings)}


def test_no_file_means_embedded_defaults() -> None:
    assert load_config(None) == Config()


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ('[trunks.default]\ntransport = "tls"', "trunks.default.transport", "must be one of"),
        ("[sip]\nbind_port = 70000", "sip.bind_port", "between 1 and 65535"),
        ("[sip]\nbind_port = true", "sip.bind_port", "must be int"),
        ('[sip]\nbind_port = "5060"', "sip.bind_port", "must be int"),
        ('[sip]\nbind_host = "example.com"', "sip.bind_host", "IP address"),
        ("[sip]\nbnd_port = 5060", "sip.bnd_port", "unknown key"),
        ("[sipp]\nx = 1", "sipp", "unknown key"),
        ('[sip]\ntransports = ["udp", "sctp"]', "sip.transports", "only udp, tcp"),
        ("[sip]\ntransports = []", "sip.transports", "at least one"),
        ("[rtp]\nport_min = 20001", "rtp.port_min", "even"),
        ("[rtp]\nport_min = 30000\nport_max = 30001", "rtp.port_max", "room"),
        ('[trunks.default]\nproxy = "http://x"', "trunks.default.proxy", "sip: or sips:"),
        ("[trunks.default]\nregister = true", "trunks.default.username", "required"),
        ('[trunks.default]\ncaller_id = "a b"', "trunks.default.caller_id", "user part"),
        ("[trunks]", "trunks", "at least one trunk"),
        ("[sip]\ntimer_t1 = 2.0\ntimer_t2 = 1.0", "sip.timer_t2", "timer_t1"),
        ('[log]\nlevel = "loud"', "log.level", "must be one of"),
        ('[contacts]\ndefault_region = "XX"', "contacts.default_region", "ISO 3166"),
        ("[limits]\nmax_concurrent_campaigns = 0", "limits.max_concurrent_campaigns", "between"),
        ('[tts]\nengine = "festival"', "tts.engine", "must be one of"),
        ('[flows]\nopt_out_key = "99"', "flows.opt_out_key", "one DTMF key"),
        ('[rtp]\ndtmf_inband = "yes"', "rtp.dtmf_inband", "must be one of"),
        ("sip = 3", "sip", "must be a table"),
        ("[sip\n", "config.toml", "not valid TOML"),
    ],
)
def test_wrong_config_is_refused_with_key_and_reason(text: str, key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert caught.value.key == key
    assert reason in caught.value.reason


def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path / "missing.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary)


def test_trunks_and_floats_parse() -> None:
    config = parse_config(
        '[trunks.carrier]\nproxy = "sip:10.0.0.1:5080;transport=tcp"\nusername = "u"\n'
        'password = "p"\ncps = 5\n'
    )
    trunk = config.trunk("carrier")
    assert trunk.cps == 5.0 and isinstance(trunk.cps, float)
    with pytest.raises(ConfigError, match="no such trunk"):
        config.trunk("default")


def test_password_never_appears_in_repr() -> None:
    config = parse_config('[trunks.default]\nusername = "u"\npassword = "hunter2-secret"\n')
    assert "hunter2-secret" not in repr(config)
