"""The store's agents, held in memory for the registrar and the live pool.

The registrar looks credentials up on the event loop, for every REGISTER: that
must never wait on the database. `AgentDirectory` reads the agents and their
HA1s from the store (at start, then every `refresh()`: agents added, edited or
removed with `dialer agent ...` while `serve` runs are picked up within one
poll), seats them in the `LiveAgentPool`, and answers `credentials_for` from
memory. HA1s made for another realm than the configured one cannot verify
anything: such an agent is refused, said once, until their password is reset.

Registrar events become logins: a phone's first binding logs its agent in (and
ready); the last one going (unregistered, expired) logs them out. The pool keeps
the registered phone apart (`sip_phones`), so a console in desk-phone mode can
pair with it.
"""

from __future__ import annotations

import logging

from actors.agent_pool import LiveAgentPool
from dialer.agents.leg import SipPhone
from dialer.agents.pool import AgentSeat
from dialer.runtime import Dialer
from dialer.sip.registrar import AgentCredentials, AgentRegistered, AgentUnregistered
from dialer.store.worker import StoreWorker

log = logging.getLogger("dialer.agents")


class AgentDirectory:
    def __init__(self, store: StoreWorker, realm: str) -> None:
        self.store = store
        self.realm = realm
        self.live: LiveAgentPool | None = None  # set once the loop runs
        self.dialer: Dialer | None = None  # rings the phones that register
        self._credentials: dict[str, AgentCredentials] = {}
        self._stale_said: set[int] = set()

    def credentials_for(self, username: str) -> AgentCredentials | None:
        return self._credentials.get(username)

    async def refresh(self) -> None:
        realm = self.realm
        agents, secrets = await self.store.run(lambda s: (s.list_agents(), s.list_agent_secrets()))
        credentials: dict[str, AgentCredentials] = {}
        by_id = {agent.id: agent for agent in agents}
        for secret in secrets:
            agent = by_id.get(secret.agent_id)
            if agent is None:
                continue  # added between the two reads: the next refresh has it
            if secret.realm != realm:
                if agent.id not in self._stale_said:
                    log.warning("agent %s: password set for realm %r, not %r: reset it with "
                                "`dialer agent password %s`", agent.extension, secret.realm,
                                realm, agent.id)  # fmt: skip
                    self._stale_said.add(agent.id)
                continue
            credentials[agent.extension] = AgentCredentials(
                agent.id, agent.extension, secret.ha1_md5, secret.ha1_sha256
            )
        self._credentials = credentials
        if self.live is None:
            return
        seated = set(self.live.pool.seats)
        for agent in agents:
            campaigns, skills = frozenset(agent.campaigns), frozenset(agent.skills)
            self.live.seat(AgentSeat(agent.id, agent.name, agent.extension, campaigns, skills))
        for gone in seated - {agent.id for agent in agents}:
            self.live.sip_phone_gone(gone, "agent removed")
            self.live.pool.unseat(gone, self.live.wall_clock())

    def on_registrar_event(self, event: object) -> None:
        if self.live is None or self.dialer is None:
            return
        if isinstance(event, AgentRegistered):
            binding = event.binding
            phone = SipPhone(self.dialer, binding.contact, binding.source)
            self.live.sip_phone_registered(event.agent_id, phone)
        elif isinstance(event, AgentUnregistered) and event.remaining == 0:
            self.live.sip_phone_gone(event.agent_id, f"phone {event.reason}")
