"""The OpenAPI 3.1 document, written from the operation table (`GET /api/openapi.json`)."""

from __future__ import annotations

from typing import Any

from dialer.web.api import schemas
from dialer.web.api.operation import Operation, path_schema
from dialer.web.api.principal import CSRF_HEADER, SESSION_COOKIE

TITLE = "dialer"
VERSION = "1"

_REFUSALS = {
    "400": "the request is not valid (the details say where)",
    "401": "not logged in, or a wrong token",
    "403": "the role does not allow it, or no CSRF token",
    "404": "no such thing",
    "409": "not in this state (a running campaign, a lead being called)",
    "413": "too large",
    "415": "wrong content type",
    "422": "settings that cannot work",
    "429": "too many failed logins",
    "503": "a service the dialer relies on failed (the speech engines)",
}


def document(operations: list[Operation]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": (
                "The dialer's API. Machines send `Authorization: Bearer <token>` (`dialer token"
                f" create`); browsers log in at POST /api/session and send `{CSRF_HEADER}` with"
                " every change. Roles: admin > manager > agent."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": schemas.ERROR},
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
            },
        },
    }


def _operation(operation: Operation) -> dict[str, Any]:
    described: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": path_schema(name)}
            for name in operation.path_params
        ]
        + [
            {
                "name": p.name,
                "in": "query",
                "required": p.required,
                "schema": p.schema,
                **({"description": p.description} if p.description else {}),
            }
            for p in operation.query
        ],
        "responses": _responses(operation),
    }
    if operation.description:
        described["description"] = operation.description
    if operation.role is None:
        described["security"] = [{}]
    else:
        described["security"] = [{"token": []}, {"session": []}]
        described["x-role"] = operation.role.name.lower()
    if operation.body is not None:
        described["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": operation.body}},
        }
    elif operation.upload is not None:
        form = {
            "type": "object",
            "properties": {operation.upload: {"type": "string", "format": "binary"}},
            "required": [operation.upload],
        }
        described["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": form}},
        }
    return described


def _responses(operation: Operation) -> dict[str, Any]:
    content: dict[str, Any]
    if operation.produces == "application/json":
        content = {"application/json": {"schema": operation.response or {}}}
    else:
        content = {operation.produces: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(operation.status): {"description": "done", "content": content}}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    statuses = {"400", "404", "409", "413", "415", "422"} | {str(s) for s in operation.refusals}
    if operation.role is not None:
        statuses |= {"401", "403"}
    for status in sorted(statuses):
        responses[status] = {"description": _REFUSALS[status], "content": error}
    return responses
