"""The dialer's registrar for agents' phones, against real peers: baresip and SIPp on loopback.

The abusers send from their own loopback addresses (127.0.0.2 and up: 127.0.0.0/8 is all
loopback), so locking one address out shows it does not lock out the agents on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from dialer.agents.endpoint import CallOffer
from dialer.agents.leg import SipPhone
from dialer.config import AgentSettings, Config, RtpSettings, SipSettings
from dialer.runtime import Dialer
from dialer.sip.auth import digest_ha1
from dialer.sip.registrar import (
    AgentCredentials,
    AgentRegistered,
    AgentUnregistered,
    RegistrationRefused,
)
from tests.e2e.peers import (
    LOOPBACK,
    Baresip,
    Sipp,
    TracedMessage,
    free_sip_port,
    require_binary,
)

pytestmark = pytest.mark.e2e
REALM = "dialer"
PASSWORDS = {"1001": "agentpw1001", "1002": "agentpw1002", "1003": "agentpw1003"}
CREDENTIALS = {
    user: AgentCredentials(
        agent_id=int(user) - 1000,
        username=user,
        ha1_md5=digest_ha1("MD5", user, REALM, password),
        ha1_sha256=digest_ha1("SHA-256", user, REALM, password),
    )
    for user, password in PASSWORDS.items()
}
SECRETS = [*PASSWORDS.values(), *(c.ha1_md5 for c in CREDENTIALS.values())]


class AgentDesk:
    """A dialer serving agents, and every registrar event it reported, to wait on."""

    def __init__(self, dialer: Dialer) -> None:
        self.dialer = dialer
        self.events: list[object] = []
        self._changed = asyncio.Event()
        dialer.add_agent_listener(self._on_event)

    @property
    def address(self) -> tuple[str, int]:
        return (LOOPBACK, self.dialer.config.sip.bind_port)

    def _on_event(self, event: object) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(
        self, kind: type, timeout: float = 10.0, *, after: int = 0, **fields: object
    ) -> object:
        """The first event of `kind` (from the `after`th on) whose attributes match
        `fields`, waiting for it."""
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events[after:]:
                    if isinstance(event, kind) and all(
                        getattr(event, k) == v for k, v in fields.items()
                    ):
                        return event
                self._changed.clear()
                await self._changed.wait()

    def of_type(self, kind: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.events if isinstance(e, kind)]


MakeDesk = Callable[..., Awaitable[AgentDesk]]


@pytest.fixture
async def make_desk() -> AsyncIterator[MakeDesk]:
    started: list[Dialer] = []

    async def make(**agents: object) -> AgentDesk:
        config = Config(
            sip=SipSettings(bind_host=LOOPBACK, bind_port=free_sip_port()),
            rtp=RtpSettings(bind_host=LOOPBACK),
            trunks={},
            agents=AgentSettings(**agents),  # type: ignore[arg-type]
        )
        dialer = await Dialer.start(config, agent_credentials=CREDENTIALS.get)
        started.append(dialer)
        return AgentDesk(dialer)

    yield make
    for dialer in started:
        await dialer.close()


def start_phone(desk: AgentDesk, tmp_path: Path, user: str, **options: object) -> Baresip:
    require_binary("baresip")
    options.setdefault("password", PASSWORDS[user])
    return Baresip.start(
        user=user, registrar=desk.address, workdir=tmp_path / f"baresip-{user}", **options
    )  # type: ignore[arg-type]


def answers(sipp: Sipp) -> list[int]:
    return [m.status for m in sipp.messages() if m.direction == "received" and m.status]


def shape(message: TracedMessage) -> tuple[object, ...]:
    """What an answer says, less what differs in every answer (nonce, tags, Call-ID)."""
    challenge = re.sub(r'nonce="[^"]*"', "nonce", message.header("WWW-Authenticate") or "")
    names = ("Contact", "Min-Expires", "Server", "Expires")
    return (message.first_line, challenge, *(message.header(n) is not None for n in names))


def registrar_warnings(caplog: pytest.LogCaptureFixture, needle: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "agent registrar" in r.getMessage()
        if needle in r.getMessage()
    ]


async def test_baresip_registers_as_an_agent_with_digest_auth_and_auto_answers(
    make_desk: MakeDesk, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dialer")
    desk = await make_desk()
    registrar = desk.dialer.registrar
    assert registrar is not None
    with start_phone(desk, tmp_path, "1001", register_interval_s=120) as phone:
        registered = await desk.wait_for(AgentRegistered, username="1001")
        assert isinstance(registered, AgentRegistered) and registered.agent_id == 1
        binding = registered.binding
        assert binding.contact.startswith("sip:1001") and binding.expires_in(desk.dialer.now) > 100
        assert (binding.source.host, binding.source.port) == phone.address
        assert registrar.binding_for("1001", desk.dialer.now) == binding
        assert registrar.counters.challenges >= 1  # it got in by answering the challenge
        # The dialer rings the phone where it registered, and it answers by itself.
        phone_there = SipPhone(desk.dialer, binding.contact, binding.source)
        leg = await phone_there.ring(
            CallOffer("call-1", "+15550100", "Jane Doe", answer_timeout_s=10, max_duration_s=30)
        )
        try:
            assert await asyncio.wait_for(leg.answered(), 15), phone.log_tail()
            await phone.wait_for_log_async("Call established")
        finally:
            await leg.close()
        phone.command("quit")  # baresip unregisters on its way out
        gone = await desk.wait_for(AgentUnregistered, username="1001")
        assert isinstance(gone, AgentUnregistered)
        assert (gone.reason, gone.remaining) == ("unregistered", 0)
        await phone.wait_async(10)
    assert registrar.binding_for("1001", desk.dialer.now) is None
    assert any("agent 1001 (id 1): registered" in r.getMessage() for r in caplog.records)
    assert not any(secret in caplog.text for secret in SECRETS)


async def test_a_phone_that_vanishes_expires(make_desk: MakeDesk, tmp_path: Path) -> None:
    desk = await make_desk(register_min_expires_s=1)
    with start_phone(desk, tmp_path, "1001", register_interval_s=3) as phone:
        registered = await desk.wait_for(AgentRegistered, username="1001")
        assert isinstance(registered, AgentRegistered)
        os.killpg(phone.pid, signal.SIGKILL)  # no goodbye: no unregistering REGISTER
        gone = await desk.wait_for(AgentUnregistered, timeout=10, username="1001")
        assert isinstance(gone, AgentUnregistered) and gone.reason == "expired"
        assert desk.dialer.now >= registered.binding.expires_at
    assert desk.dialer.registrar is not None
    assert desk.dialer.registrar.binding_for("1001", desk.dialer.now) is None


async def test_registrar_abuse_gets_nobody_in_and_the_dialer_keeps_working(
    make_desk: MakeDesk, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    require_binary("sipp")
    caplog.set_level(logging.INFO, logger="dialer")
    desk = await make_desk()
    registrar = desk.dialer.registrar
    assert registrar is not None

    def sipp(scenario: str, source: str, user: str, name: str, **options: object) -> Sipp:
        options.setdefault("keys", {"caller": user, "realm": REALM})
        return Sipp.start_uac(
            scenario,
            desk.address,
            extra_args=["-i", source],
            workdir=tmp_path / name,
            **options,  # type: ignore[arg-type]
        )

    with start_phone(desk, tmp_path, "1001") as agent:
        await desk.wait_for(AgentRegistered, username="1001")

        # Wrong passwords for 1002 from 127.0.0.2: refused, then that address is locked out.
        with sipp("register_wrong_password", "127.0.0.2", "1002", "guess", calls=7,
                  auth=("1002", "guess-4711")) as guesser:  # fmt: skip
            assert await guesser.wait_async(30) == 0, guesser.report()
        assert answers(guesser) == [401, 401] * 5 + [403, 403]
        # An unknown user from 127.0.0.3: the very answers a wrong password gets.
        with sipp("register_wrong_password", "127.0.0.3", "7777", "unknown", calls=2,
                  auth=("7777", "guess-0815")) as stranger:  # fmt: skip
            assert await stranger.wait_async(30) == 0, stranger.report()
        assert answers(stranger) == [401, 401, 401, 401]
        unknown = [m for m in stranger.messages() if m.status == 401][-1]
        known = [m for m in guesser.messages() if m.status == 401][-1]
        assert unknown.first_line == known.first_line
        assert shape(unknown) == shape(known)
        # A flood from 127.0.0.4: 300 REGISTERs at 500/s. Five are looked at, the rest get 403.
        with sipp("register_flood", "127.0.0.4", "6666", "flood", calls=300, rate=500) as flood:
            assert await flood.wait_async(30) == 0, flood.report()
        flooded = answers(flood)
        assert len(flooded) == 300 and flooded[:5] == [401] * 5 and set(flooded[5:]) == {403}
        # 1002 itself is locked out now: its right password from yet another address gets 403.
        with sipp("register_wrong_password", "127.0.0.5", "1002", "owner", calls=1,
                  auth=("1002", PASSWORDS["1002"])) as owner:  # fmt: skip
            assert await owner.wait_async(30) == 0, owner.report()
        assert answers(owner) == [403]

        # Nobody got in; the agent already registered is still there, and a new one gets in.
        assert registrar.bindings("1002", desk.dialer.now) == []
        assert registrar.bindings("1003", desk.dialer.now) == []
        assert registrar.binding_for("1001", desk.dialer.now) is not None
        assert {e.username for e in desk.of_type(AgentRegistered)} == {"1001"}
        with sipp("uac_register", "127.0.0.6", "1003", "late", auth=("1003", PASSWORDS["1003"]),
                  keys={"caller": "1003"}) as late:  # fmt: skip
            assert await late.wait_async(30) == 0, late.report()
        assert answers(late) == [401, 200, 200]
        await desk.wait_for(AgentRegistered, username="1003")
        assert agent.returncode is None  # untouched, still running

    counters = registrar.counters
    assert counters.locked_out >= 295 + 2 + 1 and counters.lockouts >= 2
    assert counters.registrations >= 3  # 1001, then 1003 and its refresh
    # Logged once per lockout, whatever the number of packets; never a secret.
    for source in ("127.0.0.2", "127.0.0.4"):
        assert len(registrar_warnings(caplog, f"last from {source}")) == 1, caplog.text
        assert len(registrar_warnings(caplog, f"from {source}:")) <= 2
    # In all: 127.0.0.2 its first failure and its lockout, 127.0.0.3 its first failure,
    # 127.0.0.4 its first failure and its lockout; 127.0.0.5 only met the lockout of 1002.
    assert len(registrar_warnings(caplog, "")) == 5, caplog.text
    assert not any(secret in caplog.text for secret in [*SECRETS, "guess-4711", "guess-0815"])
    assert "response=" not in caplog.text


async def test_a_phone_with_a_wrong_password_locks_out_its_address_not_the_phones_there(
    make_desk: MakeDesk, tmp_path: Path
) -> None:
    # Both phones are on 127.0.0.1, as phones behind one office NAT share an address.
    require_binary("sipp")
    desk = await make_desk(register_min_expires_s=1)
    with start_phone(desk, tmp_path, "1001", register_interval_s=4) as agent:
        await desk.wait_for(AgentRegistered, username="1001")
        # baresip answers every 401 at once: a wrong password soon locks its address out.
        with start_phone(desk, tmp_path, "1003", password="notmypassword"):
            await desk.wait_for(RegistrationRefused, username="1003", locked="source and user")
        locked_at = len(desk.events)
        assert not [e for e in desk.of_type(AgentRegistered) if e.username == "1003"]
        # A new phone from that address is refused while the lockout lasts...
        with Sipp.start_uac(
            "register_wrong_password",
            desk.address,
            auth=("1002", PASSWORDS["1002"]),
            keys={"caller": "1002"},
            workdir=tmp_path / "newcomer",
        ) as newcomer:
            assert await newcomer.wait_async(30) == 0, newcomer.report()
        assert answers(newcomer) == [403]
        # ...but the phone registered there keeps its registration fresh.
        refreshed = await desk.wait_for(
            AgentRegistered, after=locked_at, username="1001", refreshed=True
        )
        assert isinstance(refreshed, AgentRegistered)
        assert (refreshed.binding.source.host, refreshed.binding.source.port) == agent.address
