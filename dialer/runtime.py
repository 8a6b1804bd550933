"""The running dialer: one SIP endpoint, one media clock, one RTP port pool, the trunks.

`Dialer.start(config)` binds the sockets, starts the media clock, registers
to the trunks that ask for it and starts their OPTIONS keepalives. Calls are
placed with `Dialer.call(...)` (see `dialer.calling`). The campaign engine
builds on this same object.

Given `agent_credentials` (the store's lookup of an agent's HA1s), the dialer
is also the registrar of agents' SIP phones (`Dialer.registrar`, configured by
`[agents]`): `registrar.binding_for(username, dialer.now)` says where an agent's
phone is, and listeners added with `add_agent_listener` get its events.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from dialer.config import AgentSettings, Config, TrunkSettings
from dialer.metrics import DialerMetrics
from dialer.sip.actions import Destination
from dialer.sip.endpoint import EndpointSettings, SipEndpoint
from dialer.sip.keepalive import KeepaliveParams, OptionsKeepalive, TrunkAlive, TrunkDown
from dialer.sip.registrar import (
    AgentRegistered,
    AgentUnregistered,
    CredentialsLookup,
    Registrar,
    RegistrarSettings,
    RegistrationRefused,
)
from dialer.sip.registration import (
    Registered,
    RegistrationClient,
    RegistrationFailed,
    RegistrationParams,
)
from dialer.sip.timers import TimerConfig
from dialer.sip.transport import SipTransport, TransportSettings
from dialer.sip.uri import SipUri
from media.clock import MediaClock
from media.ports import RtpPortPool

log = logging.getLogger("dialer")


@dataclass
class TrunkStatus:
    """What the dialer knows of a trunk right now (for logs, the API and metrics)."""

    name: str
    registered: bool | None = None  # None: registration not configured
    alive: bool | None = None  # None: no keepalive answer yet
    rtt_ms: float | None = None
    last_error: str = ""
    changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)


@dataclass
class Trunk:
    name: str
    settings: TrunkSettings
    destination: Destination
    domain: str
    status: TrunkStatus = field(init=False)

    def __post_init__(self) -> None:
        self.status = TrunkStatus(self.name)

    @classmethod
    def from_settings(cls, name: str, settings: TrunkSettings) -> Trunk:
        proxy = SipUri.parse(settings.proxy)
        transport = str(proxy.params.get("transport") or settings.transport).lower()
        port = proxy.port or (5061 if proxy.scheme == "sips" else 5060)
        return cls(
            name=name,
            settings=settings,
            destination=Destination(proxy.host, port, transport),
            domain=settings.domain or _host_port(proxy),
        )

    def request_uri(self, target: str) -> str:
        """A dialled number becomes sip:NUMBER@domain; a SIP URI is used as given."""
        if target.startswith(("sip:", "sips:")):
            return target
        return f"sip:{target}@{self.domain}"

    @property
    def from_uri(self) -> str:
        return f"sip:{self.settings.caller_id}@{self.domain}"


class Dialer:
    def __init__(
        self, config: Config, *, agent_credentials: CredentialsLookup | None = None
    ) -> None:
        self.config = config
        self.trunks = {
            name: Trunk.from_settings(name, trunk) for name, trunk in config.trunks.items()
        }
        sip = config.sip
        trusted = frozenset(sip.trusted_peers) | {t.destination.host for t in self.trunks.values()}
        self.trusted_hosts = trusted
        ports = dict.fromkeys(sip.transports, sip.bind_port)
        self.registrar: Registrar | None = None
        if agent_credentials is not None:
            # A nonce secret per process: a restart only costs phones one more challenge.
            self.registrar = Registrar(
                registrar_settings(config.agents), agent_credentials, secrets.token_bytes(32)
            )
        self._agent_listeners: list[Callable[[object], None]] = []
        self.endpoint = SipEndpoint(
            EndpointSettings(
                host=sip.advertised_host,
                ports=ports,
                user_agent=sip.user_agent,
                timers=TimerConfig(t1=sip.timer_t1, t2=sip.timer_t2),
                is_trusted=trusted.__contains__,
                bad_input_log_interval_s=sip.bad_input_log_interval_s,
            ),
            registrar=self.registrar,
        )
        self.transport: SipTransport | None = None
        self.clock = MediaClock()
        self.ports = RtpPortPool(config.rtp.bind_host, config.rtp.port_min, config.rtp.port_max)
        self._registrations: list[RegistrationClient] = []
        self._keepalives: list[OptionsKeepalive] = []
        self.metrics = DialerMetrics()
        self.metrics.gauge(
            "dialer_trunk_options_rtt_seconds", "The last OPTIONS round trip to each trunk",
            "trunk", self._options_rtts,
        )  # fmt: skip

    @classmethod
    async def start(
        cls, config: Config, *, agent_credentials: CredentialsLookup | None = None
    ) -> Dialer:
        dialer = cls(config, agent_credentials=agent_credentials)
        await dialer._start()
        return dialer

    @property
    def now(self) -> float:
        """The clock the SIP core runs on (registrar bindings expire on it)."""
        return asyncio.get_running_loop().time()

    def add_agent_listener(self, listener: Callable[[object], None]) -> None:
        """Call `listener` with every registrar event (AgentRegistered, AgentUnregistered,
        RegistrationRefused), after the dialer has logged it."""
        self._agent_listeners.append(listener)

    async def _start(self) -> None:
        sip = self.config.sip
        self.transport = SipTransport(
            self.endpoint,
            TransportSettings(
                bind_host=sip.bind_host,
                port=sip.bind_port,
                transports=tuple(sip.transports),
                udp_receive_buffer=sip.udp_receive_buffer,
            ),
        )
        if self.registrar is not None:  # subscribed before the socket opens: no event is lost
            self.transport.start_user(self.registrar, [], self._on_agent_event)
        await self.transport.start()
        self.clock.start()
        for trunk in self.trunks.values():
            self._start_trunk(trunk)

    def _options_rtts(self) -> dict[str, float]:
        return {k.params.trunk: k.last_rtt_s for k in self._keepalives if k.last_rtt_s is not None}

    async def close(self) -> None:
        await self.clock.stop()
        if self.transport is not None:
            await self.transport.close()

    def contact_for(self, trunk: Trunk) -> str:
        sip = self.config.sip
        transport = trunk.destination.transport
        suffix = "" if transport == "udp" else f";transport={transport}"
        host = _host_for_uri(sip.advertised_host)
        return f"sip:{trunk.settings.caller_id}@{host}:{sip.bind_port}{suffix}"

    def _start_trunk(self, trunk: Trunk) -> None:
        transport = self.transport
        assert transport is not None
        settings = trunk.settings
        if settings.register:
            trunk.status.registered = False
            registration = RegistrationClient(
                RegistrationParams(
                    trunk=trunk.name,
                    registrar=f"sip:{trunk.domain}",
                    aor=f"sip:{settings.username}@{trunk.domain}",
                    contact=self.contact_for(trunk),
                    destination=trunk.destination,
                    username=settings.username,
                    password=settings.password,
                    expires_s=settings.register_expires_s,
                    user_agent=self.config.sip.user_agent,
                )
            )
            self._registrations.append(registration)
            transport.start_user(
                registration, registration.start(transport.now), self._trunk_listener(trunk)
            )
        if settings.keepalive_s > 0:
            keepalive = OptionsKeepalive(
                KeepaliveParams(
                    trunk=trunk.name,
                    target=f"sip:{trunk.domain}",
                    from_uri=trunk.from_uri,
                    destination=trunk.destination,
                    interval_s=settings.keepalive_s,
                    user_agent=self.config.sip.user_agent,
                )
            )
            self._keepalives.append(keepalive)
            transport.start_user(
                keepalive, keepalive.start(transport.now), self._trunk_listener(trunk)
            )

    def _trunk_listener(self, trunk: Trunk) -> Callable[[object], None]:
        return lambda event: self._on_trunk_event(trunk, event)

    async def wait_registered(self, name: str, timeout: float) -> bool:
        """Wait until trunk `name` is registered; False if it is not within `timeout`."""
        status = self.trunks[name].status
        try:
            async with asyncio.timeout(timeout):
                while not status.registered:
                    status.changed.clear()
                    await status.changed.wait()
        except TimeoutError:
            return False
        return True

    def _on_agent_event(self, event: object) -> None:
        if isinstance(event, AgentRegistered):
            binding = event.binding
            level = logging.DEBUG if event.refreshed else logging.INFO
            log.log(
                level,
                "agent %s (id %d): %s %s from %s for %ds",
                event.username,
                event.agent_id,
                "refreshed" if event.refreshed else "registered",
                binding.contact,
                binding.source,
                binding.expires_in(self.now),
            )
        elif isinstance(event, AgentUnregistered):
            log.info(
                "agent %s (id %d): %s %s (%s); %d binding(s) left",
                event.username,
                event.agent_id,
                event.reason,
                event.binding.contact,
                event.binding.source,
                event.remaining,
            )
        elif isinstance(event, RegistrationRefused) and event.log:
            self._log_refusal(event)
        for listener in list(self._agent_listeners):
            listener(event)

    def _log_refusal(self, event: RegistrationRefused) -> None:
        agents = self.config.agents
        who = f"{event.source[0]}:{event.source[1]}"
        if event.lockout_until is not None:
            log.warning(
                "agent registrar: %s locked out for %gs after %d failed authentications "
                "within %gs (last from %s as %r: %s); its REGISTERs get 403, counted, not logged",
                event.locked,
                agents.lockout_s,
                agents.max_auth_failures,
                agents.auth_failure_window_s,
                who,
                event.username,
                event.reason,
            )
        else:
            log.warning(
                "agent registrar: refused REGISTER from %s as %r (%d: %s); after %d failures "
                "within %gs a source or user is locked out for %gs; repeats are counted",
                who,
                event.username,
                event.status,
                event.reason,
                agents.max_auth_failures,
                agents.auth_failure_window_s,
                agents.lockout_s,
            )

    def _on_trunk_event(self, trunk: Trunk, event: object) -> None:
        status = trunk.status
        status.changed.set()
        if isinstance(event, Registered):
            if not status.registered:
                log.info("trunk %s: registered for %ds", trunk.name, event.expires_s)
            status.registered = True
        elif isinstance(event, RegistrationFailed):
            status.registered = False
            status.last_error = f"registration: {event.sip_code or ''} {event.reason}".strip()
            log.warning(
                "trunk %s: registration failed (%s); retrying in %.0fs",
                trunk.name,
                status.last_error,
                event.retry_at - asyncio.get_running_loop().time(),
            )
        elif isinstance(event, TrunkAlive):
            if status.alive is not True:
                log.info(
                    "trunk %s: up (OPTIONS %d, %.1f ms)",
                    trunk.name,
                    event.sip_code,
                    event.rtt_s * 1000,
                )
            status.alive = True
            status.rtt_ms = event.rtt_s * 1000
        elif isinstance(event, TrunkDown):
            if status.alive is not False:
                log.warning("trunk %s: down (%s)", trunk.name, event.reason)
            status.alive = False
            status.last_error = event.reason


def registrar_settings(agents: AgentSettings) -> RegistrarSettings:
    """The registrar's settings from `[agents]`."""
    return RegistrarSettings(
        realm=agents.realm,
        min_expires_s=agents.register_min_expires_s,
        max_expires_s=agents.register_max_expires_s,
        default_expires_s=agents.register_default_expires_s,
        max_auth_failures=agents.max_auth_failures,
        auth_failure_window_s=agents.auth_failure_window_s,
        lockout_s=agents.lockout_s,
    )


def _host_port(uri: SipUri) -> str:
    host = _host_for_uri(uri.host)
    return f"{host}:{uri.port}" if uri.port else host


def _host_for_uri(host: str) -> str:
    return f"[{host}]" if ":" in host else host
