"""AgentDirectory: the store's agents in memory for the registrar, seated in the live pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from actors.agent_pool import LiveAgentPool
from dialer.agents import credentials
from dialer.agents.directory import AgentDirectory
from dialer.agents.leg import SipPhone
from dialer.agents.pool import AgentPool
from dialer.agents.states import AgentState
from dialer.sip.actions import Destination
from dialer.sip.auth import digest_ha1
from dialer.sip.registrar import AgentRegistered, AgentUnregistered, Binding
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker

PASSWORD = "correct.horse.battery"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "SCRYPT_N", 2**8)


@pytest.fixture
async def directory(tmp_path: Path) -> AsyncIterator[AgentDirectory]:
    store = StoreWorker(lambda: SqliteStore(tmp_path / "d.db"))
    directory = AgentDirectory(store, "dialer")
    directory.live = LiveAgentPool(AgentPool(wrap_up_s=0.0))
    directory.dialer = object()  # type: ignore[assignment]  # phones are never rung here
    yield directory
    await directory.live.close()
    store.close()


def binding(agent_id: int, username: str) -> Binding:
    source = Destination("127.0.0.1", 5090)
    return Binding(agent_id, username, f"sip:{username}@127.0.0.1:5090", source, 9e9, 0.0, "c", 1)


async def test_credentials_come_from_memory_and_only_for_this_realm(
    directory: AgentDirectory,
) -> None:
    ann = await directory.store.run(
        lambda s: s.add_agent(
            "Ann", "1001", PASSWORD, "dialer", campaigns=(), skills=("spanish",), now=0.0
        )
    )
    await directory.store.run(lambda s: s.add_agent("Bob", "1002", PASSWORD, "old-realm", now=0.0))
    assert directory.credentials_for("1001") is None  # nothing read yet
    await directory.refresh()
    found = directory.credentials_for("1001")
    assert found is not None and found.agent_id == ann.id
    assert found.ha1_md5 == digest_ha1("MD5", "1001", "dialer", PASSWORD)
    assert directory.credentials_for("1002") is None  # HA1s of another realm verify nothing
    assert directory.credentials_for("9999") is None
    assert directory.live is not None and set(directory.live.pool.seats) == {1, 2}
    assert directory.live.pool.seats[ann.id].skills == {"spanish"}  # what routing goes by


async def test_registrations_log_agents_in_and_removal_logs_them_out(
    directory: AgentDirectory,
) -> None:
    assert directory.live is not None
    await directory.store.run(lambda s: s.add_agent("Ann", "1001", PASSWORD, "dialer", now=0.0))
    await directory.refresh()
    directory.on_registrar_event(AgentRegistered(1, "1001", binding(1, "1001"), refreshed=False))
    assert directory.live.pool.state(1) is AgentState.READY
    phone = directory.live.phones[1]
    assert isinstance(phone, SipPhone) and phone.destination.port == 5090
    gone = AgentUnregistered(1, "1001", "expired", binding(1, "1001"), remaining=1)
    directory.on_registrar_event(gone)
    assert directory.live.pool.state(1) is AgentState.READY  # another binding is still there
    directory.on_registrar_event(
        AgentUnregistered(1, "1001", "expired", binding(1, "1001"), remaining=0)
    )
    assert directory.live.pool.state(1) is AgentState.LOGGED_OUT
    directory.on_registrar_event(AgentRegistered(1, "1001", binding(1, "1001"), refreshed=False))
    await directory.store.run(lambda s: s.remove_agent(1, now=1.0))
    await directory.refresh()
    assert directory.credentials_for("1001") is None
    assert 1 not in directory.live.pool.seats and 1 not in directory.live.phones
