"""Failed console logins limited per source and per extension; sessions that expire."""

from __future__ import annotations

from dialer.store.repository import Agent
from dialer.web.login_limit import LoginLimiter
from dialer.web.sessions import AgentSessions


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_block_the_extension_from_any_source_and_the_source_for_any_extension() -> None:
    clock = Clock()
    limiter = LoginLimiter(max_failures=3, window_s=60, clock=clock)
    for source in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):  # one extension, sprayed from afar
        assert limiter.try_login(source, "1001") == 0
    assert limiter.try_login("10.0.0.4", "1001") == 60  # the extension is blocked
    assert limiter.try_login("10.0.0.4", "1002") == 0  # another one is not
    for extension in ("2001", "2002"):
        assert limiter.try_login("10.0.0.4", extension) == 0
    assert limiter.try_login("10.0.0.4", "2003") > 0  # that source is blocked now
    clock.now += 60
    assert limiter.try_login("10.0.0.4", "1001") == 0  # the failures aged out


def test_a_good_login_is_not_a_failure() -> None:
    limiter = LoginLimiter(max_failures=2, window_s=60, clock=Clock())
    for _ in range(5):
        assert limiter.try_login("10.0.0.1", "1001") == 0
        limiter.succeeded("10.0.0.1", "1001")


def test_sessions_expire_and_each_login_gets_a_fresh_token() -> None:
    clock = Clock()
    sessions = AgentSessions(60, clock=clock)
    agent = Agent(1, "Ann", "1001", (), (), "dialer", 0.0, 0.0)
    first, second = sessions.create(agent), sessions.create(agent)
    assert first.token != second.token and first.csrf != first.token
    assert sessions.get(first.token) == first
    assert first.token not in repr(first)  # never in a log line
    assert sessions.get("forged") is None and sessions.get(None) is None
    assert first.csrf_matches(first.csrf) and not first.csrf_matches(second.csrf)
    clock.now += 60
    assert sessions.get(first.token) is None
