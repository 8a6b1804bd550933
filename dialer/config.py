"""Configuration: `config.toml` loaded into frozen dataclasses, refused whole on any error.

Every section is a dataclass whose defaults are the embedded configuration, so
an empty file (or no file) runs the demo on loopback. Loading checks each key's
type and range and names the exact key in the error: `trunks.default.transport:
must be one of udp, tcp (got 'tls')`. Unknown keys are errors too, because a
misspelt key silently ignored is how a production box dials at 3 a.m.
"""

from __future__ import annotations

import ipaddress
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

TRANSPORTS = ("udp", "tcp")
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(ValueError):
    """A configuration value that cannot be used; `key` is its dotted path."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


Check = Callable[[Any], str | None]  # returns the reason a value is wrong, or None


def _one_of(*allowed: str) -> Check:
    def check(value: Any) -> str | None:
        if value in allowed:
            return None
        return f"must be one of {', '.join(allowed)} (got {value!r})"

    return check


def _range(low: float, high: float) -> Check:
    def check(value: Any) -> str | None:
        if low <= value <= high:
            return None
        return f"must be between {low:g} and {high:g} (got {value!r})"

    return check


def _host(value: Any) -> str | None:
    if value == "":
        return None
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return f"must be an IP address (got {value!r})"
    return None


def _hosts(value: Any) -> str | None:
    for item in value:
        reason = _host(item)
        if reason:
            return reason
    return None


def _sip_uri(value: Any) -> str | None:
    from dialer.sip.errors import SipParseError
    from dialer.sip.uri import SipUri

    try:
        SipUri.parse(value)
    except SipParseError as exc:
        return f"must be a sip: or sips: URI ({exc.reason}; got {value!r})"
    return None


def _transports(value: Any) -> str | None:
    if not value:
        return "must list at least one transport"
    for item in value:
        if item not in TRANSPORTS:
            return f"must contain only {', '.join(TRANSPORTS)} (got {item!r})"
    return None


def _caller_id(value: Any) -> str | None:
    if not value or any(c in value for c in ' <>"@;:\r\n'):
        return f"must be a SIP user part such as a number or name (got {value!r})"
    return None


def _setting(default: Any, check: Check | None = None) -> Any:
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata={"check": check})
    return field(default=default, metadata={"check": check})


@dataclass(frozen=True)
class SipSettings:
    bind_host: str = _setting("127.0.0.1", _host)
    bind_port: int = _setting(5070, _range(1, 65535))
    public_host: str = _setting("", _host)
    transports: list[str] = _setting(["udp", "tcp"], _transports)
    user_agent: str = "dialer/0.1"
    udp_receive_buffer: int = _setting(4 * 1024 * 1024, _range(65536, 256 * 1024 * 1024))
    timer_t1: float = _setting(0.5, _range(0.05, 10))
    timer_t2: float = _setting(4.0, _range(0.5, 60))
    trusted_peers: list[str] = _setting([], _hosts)
    bad_input_log_interval_s: float = _setting(60.0, _range(0, 86400))

    @property
    def advertised_host(self) -> str:
        return self.public_host or self.bind_host


@dataclass(frozen=True)
class RtpSettings:
    bind_host: str = _setting("127.0.0.1", _host)
    port_min: int = _setting(20000, _range(1024, 65534))
    port_max: int = _setting(29999, _range(1025, 65535))
    dead_air_s: float = _setting(30.0, _range(0, 3600))
    dtmf_inband: str = _setting("auto", _one_of("auto", "always", "off"))


@dataclass(frozen=True)
class TrunkSettings:
    proxy: str = _setting("sip:127.0.0.1:5060", _sip_uri)
    domain: str = ""
    username: str = ""
    password: str = field(default="", repr=False)  # never printed, never logged
    caller_id: str = _setting("dialer", _caller_id)
    caller_name: str = ""
    transport: str = _setting("udp", _one_of(*TRANSPORTS))
    register: bool = False
    register_expires_s: int = _setting(600, _range(60, 86400))
    keepalive_s: float = _setting(30.0, _range(0, 3600))
    cps: float = _setting(10.0, _range(0.1, 1000))
    max_channels: int = _setting(100, _range(1, 100000))


@dataclass(frozen=True)
class LimitSettings:
    max_concurrent_calls: int = _setting(500, _range(1, 100000))
    max_concurrent_campaigns: int = _setting(20, _range(1, 1000))
    ring_timeout_s: float = _setting(45.0, _range(1, 600))
    max_call_duration_s: float = _setting(3600.0, _range(1, 86400))
    max_redirects: int = _setting(1, _range(0, 5))


def _region(value: Any) -> str | None:
    import phonenumbers

    if value in phonenumbers.SUPPORTED_REGIONS:
        return None
    return f"must be an ISO 3166 region that phonenumbers knows, such as US or GB (got {value!r})"


@dataclass(frozen=True)
class ContactSettings:
    default_region: str = _setting("US", _region)
    max_rows: int = _setting(50_000, _range(1, 10_000_000))


TTS_ENGINES = ("espeak-ng", "gtts", "piper")


def _key(value: Any) -> str | None:
    if value == "" or (len(value) == 1 and value in "0123456789*#"):
        return None
    return f"must be one DTMF key 0-9, * or #, or empty to turn it off (got {value!r})"


@dataclass(frozen=True)
class TtsSettings:
    engine: str = _setting("espeak-ng", _one_of(*TTS_ENGINES))
    fallback: str = _setting("espeak-ng", _one_of(*TTS_ENGINES))
    voice: str = "en-us"
    language: str = "en-US"
    speed_wpm: int = _setting(165, _range(80, 450))
    pitch: int = _setting(50, _range(0, 99))
    gtts_timeout_s: float = _setting(5.0, _range(0.5, 60))
    piper_command: str = "piper"
    piper_model: str = ""
    cache_dir: str = "var/tts-cache"
    cache_max_mb: int = _setting(512, _range(1, 1_000_000))


@dataclass(frozen=True)
class FlowSettings:
    webhook_timeout_s: float = _setting(3.0, _range(0.1, 60))
    webhook_retries: int = _setting(1, _range(0, 5))
    max_silence_s: float = _setting(4.0, _range(0.5, 60))
    fallback_flow: str = ""
    webhook_signing_key: str = field(default="", repr=False)  # never printed, never logged
    opt_out_key: str = _setting("9", _key)
    opt_out_message: str = "You will not be called again. Goodbye."
    max_documents: int = _setting(20, _range(1, 1000))
    max_prompt_mb: float = _setting(10.0, _range(0.1, 100))
    recordings_dir: str = "var/recordings"
    library_dir: str = "var/library"  # flows and prompts uploaded through the API


@dataclass(frozen=True)
class AgentSettings:
    realm: str = "dialer"  # the digest realm agents' phones authenticate in
    register_min_expires_s: int = _setting(60, _range(10, 86400))
    register_max_expires_s: int = _setting(3600, _range(60, 604800))
    register_default_expires_s: int = _setting(600, _range(10, 604800))
    max_auth_failures: int = _setting(5, _range(1, 1000))  # per source and per user
    auth_failure_window_s: float = _setting(60.0, _range(1, 86400))
    lockout_s: float = _setting(300.0, _range(1, 86400))
    safe_harbor_s: float = _setting(2.0, _range(0.5, 30))
    safe_harbor_message: str = (
        "Sorry, all our agents are busy. This call was from the dialer. "
        "To not be called again, press 9 now."
    )
    safe_harbor_file: str = ""
    agent_answer_timeout_s: float = _setting(8.0, _range(1, 120))
    wrap_up_s: float = _setting(10.0, _range(0, 3600))
    preview_decide_s: float = _setting(60.0, _range(5, 3600))
    preview_skip_s: float = _setting(900.0, _range(0, 30 * 86400))


@dataclass(frozen=True)
class WebhookSettings:
    # The HMAC-SHA256 key every webhook is signed with; a campaign with a status_callback
    # does not start without one (an unsigned callback could be forged by anyone).
    secret: str = field(default="", repr=False)  # never printed, never logged
    timeout_s: float = _setting(5.0, _range(0.5, 60))
    max_attempts: int = _setting(12, _range(1, 100))  # then given up, kept in the outbox
    first_retry_s: float = _setting(2.0, _range(0.1, 3600))  # doubling on every failure
    max_retry_s: float = _setting(600.0, _range(1, 86400))
    concurrency: int = _setting(4, _range(1, 64))  # deliveries in flight at once


@dataclass(frozen=True)
class RetentionSettings:
    # A campaign's contact data (names, numbers, emails, attributes, agents' notes) is
    # purged this many days after its creation, once it has ended; 0: kept for ever.
    contact_days: int = _setting(0, _range(0, 36500))


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""  # "": no mail (a campaign's completion report is not sent)
    port: int = _setting(587, _range(1, 65535))
    security: str = _setting("starttls", _one_of("starttls", "tls", "none"))
    username: str = ""
    password: str = field(default="", repr=False)  # never printed, never logged
    from_address: str = "dialer@localhost"
    timeout_s: float = _setting(20.0, _range(1, 300))
    max_attempts: int = _setting(5, _range(1, 50))  # a minute apart


@dataclass(frozen=True)
class WebSettings:
    enabled: bool = True  # `dialer serve` serves the agent console and the API
    bind_host: str = _setting("127.0.0.1", _host)
    port: int = _setting(8080, _range(1, 65535))
    session_ttl_s: float = _setting(43200.0, _range(60, 30 * 86400))


@dataclass(frozen=True)
class LogSettings:
    level: str = _setting("info", _one_of(*LOG_LEVELS))


@dataclass(frozen=True)
class Config:
    sip: SipSettings = field(default_factory=SipSettings)
    rtp: RtpSettings = field(default_factory=RtpSettings)
    trunks: dict[str, TrunkSettings] = field(default_factory=lambda: {"default": TrunkSettings()})
    limits: LimitSettings = field(default_factory=LimitSettings)
    contacts: ContactSettings = field(default_factory=ContactSettings)
    tts: TtsSettings = field(default_factory=TtsSettings)
    flows: FlowSettings = field(default_factory=FlowSettings)
    agents: AgentSettings = field(default_factory=AgentSettings)
    web: WebSettings = field(default_factory=WebSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    log: LogSettings = field(default_factory=LogSettings)

    def trunk(self, name: str) -> TrunkSettings:
        try:
            return self.trunks[name]
        except KeyError:
            raise ConfigError(f"trunks.{name}", "no such trunk in the configuration") from None


_SCALARS: dict[type, tuple[type, ...]] = {
    str: (str,),
    bool: (bool,),
    int: (int,),
    float: (int, float),
}


def _convert(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is list:
        (item_type,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(key, f"must be a list (got {type(value).__name__})")
        return [_convert(item, item_type, f"{key}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        _, value_type = typing.get_args(hint)
        if not isinstance(value, Mapping):
            raise ConfigError(key, f"must be a table (got {type(value).__name__})")
        return {name: _convert(item, value_type, f"{key}.{name}") for name, item in value.items()}
    if isinstance(hint, type) and hasattr(hint, "__dataclass_fields__"):
        if not isinstance(value, Mapping):
            raise ConfigError(key, f"must be a table (got {type(value).__name__})")
        return _build(hint, value, key)
    accepted = _SCALARS[hint]
    # bool is an int subclass in Python; `port = true` is still a mistake.
    if (isinstance(value, bool) and hint is not bool) or not isinstance(value, accepted):
        raise ConfigError(key, f"must be {hint.__name__} (got {type(value).__name__} {value!r})")
    return hint(value)


def _build(cls: type, table: Mapping[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    for name in table:
        if name not in known:
            expected = ", ".join(sorted(known))
            raise ConfigError(_join(prefix, name), f"unknown key (expected one of: {expected})")
    values: dict[str, Any] = {}
    for name, spec in known.items():
        key = _join(prefix, name)
        if name not in table:
            continue
        value = _convert(table[name], hints[name], key)
        check = spec.metadata.get("check")
        if check is not None:
            reason = check(value)
            if reason:
                raise ConfigError(key, reason)
        values[name] = value
    instance = cls(**values)
    _check_section(instance, prefix)
    return instance


def _check_section(section: Any, prefix: str) -> None:
    """Rules that involve more than one key of a section."""
    if isinstance(section, RtpSettings):
        if section.port_min % 2:
            raise ConfigError(_join(prefix, "port_min"), "must be even (RTP uses even ports)")
        if section.port_max - section.port_min < 2:
            raise ConfigError(_join(prefix, "port_max"), "must leave room for at least two ports")
    if isinstance(section, SipSettings) and section.timer_t2 < section.timer_t1:
        raise ConfigError(_join(prefix, "timer_t2"), "must not be smaller than timer_t1")
    if isinstance(section, TrunkSettings):
        if section.register and not section.username:
            raise ConfigError(_join(prefix, "username"), "is required when register = true")
        if section.password and not section.username:
            raise ConfigError(_join(prefix, "username"), "is required when a password is set")
    if isinstance(section, Config):
        if not section.trunks:
            raise ConfigError("trunks", "must define at least one trunk")
        for name in section.trunks:
            if not name.replace("-", "").replace("_", "").isalnum():
                raise ConfigError(f"trunks.{name}", "trunk names are letters, digits, - and _")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def parse_config(text: str, source: str = "config.toml") -> Config:
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, f"not valid TOML: {exc}") from None
    config: Config = _build(Config, table, "")
    return config


def load_config(path: Path | None) -> Config:
    """The configuration from `path`, or the embedded defaults when `path` is None."""
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "is not UTF-8 text") from None
    return parse_config(text, str(path))


def default_for(section: type, name: str) -> Any:
    """A field's embedded default (used by the docs test that compares config.toml)."""
    for spec in fields(section):
        if spec.name == name:
            if spec.default is not MISSING:
                return spec.default
            if spec.default_factory is not MISSING:
                return spec.default_factory()
    raise KeyError(name)


__all__ = [
    "Config",
    "ConfigError",
    "ContactSettings",
    "FlowSettings",
    "LimitSettings",
    "LogSettings",
    "RetentionSettings",
    "RtpSettings",
    "SipSettings",
    "SmtpSettings",
    "TrunkSettings",
    "TtsSettings",
    "WebhookSettings",
    "load_config",
    "parse_config",
]
