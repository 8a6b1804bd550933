"""Every API operation, called by each role and by nobody: who gets in is the policy.

The policy is written here a second time on purpose, by path, so that an
operation marked with the wrong role in its table fails this test."""

from __future__ import annotations

import re

import pytest

from dialer.web.api import operations
from dialer.web.api.operation import Operation
from tests.web.api.harness import Api

PUBLIC = {("POST", "/api/session"), ("GET", "/api/openapi.json")}
ANY_ROLE = {("GET", "/api/session"), ("DELETE", "/api/session")}
ADMIN_PATHS = re.compile(r"/api/(users|tokens|audit|system/settings)\b")
RANK = {"agent": 0, "manager": 1, "admin": 2}


def least_role(operation: Operation) -> str | None:
    key = (operation.method, operation.path)
    if key in PUBLIC:
        return None
    if key in ANY_ROLE:
        return "agent"
    return "admin" if ADMIN_PATHS.match(operation.path) else "manager"


CASES = [
    pytest.param(op, who, id=f"{op.method} {op.path} as {who or 'nobody'}")
    for op in operations()
    for who in (None, "agent", "manager", "admin")
]


@pytest.mark.parametrize(("operation", "who"), CASES)
async def test_only_the_roles_the_policy_names_get_in(
    api: Api, operation: Operation, who: str | None
) -> None:
    path = re.sub(r"{\w+}", "1", operation.path)
    body = {"json": {}} if operation.body is not None else {}
    answer = await api.client.request(operation.method, path, headers=api.auth(who), **body)
    needed = least_role(operation)
    if needed is None:
        assert answer.status not in (401, 403), await answer.text()
    elif who is None:
        assert answer.status == 401, await answer.text()
    elif RANK[who] < RANK[needed]:
        assert answer.status == 403, await answer.text()
    else:
        assert answer.status not in (401, 403), await answer.text()
    assert answer.content_type in ("application/json", operation.produces)
