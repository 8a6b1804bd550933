"""Flows and prompts over the API: upload, list, remove (`dialer.library` keeps the files).

    GET    /api/flows                 the flows, with the contact fields each one speaks
    GET    /api/flows/{name}          one, with its documents' text
    PUT    /api/flows/{name}          multipart, field "file" once per file (main.xml first
                                      document): checked whole, then it replaces the flow
    DELETE /api/flows/{name}
    GET    /api/prompts               recorded messages, with their length
    PUT    /api/prompts/{name}        multipart, field "file": decoded, then kept
    DELETE /api/prompts/{name}

A campaign names a flow or a prompt by the `path` these answer. What a campaign
that may still dial (scheduled, running, paused) names cannot be replaced or
removed (409): its calls read the files while it runs.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

from aiohttp import web

from dialer.campaign.model import CampaignState
from dialer.campaign.settings import CampaignSettings
from dialer.library import FlowEntry, Library, PromptEntry, Upload
from dialer.store.repository import NotFound, Repository
from dialer.web.api import schemas
from dialer.web.api.errors import ApiError
from dialer.web.api.operation import ApiCall, Changed, Operation
from dialer.web.api.tts_ops import SPEECH
from dialer.web.state import CONFIG

LIBRARY = web.AppKey("library", Library)
MAX_DOCUMENT_SHOWN = 64 * 1024
_ACTIVE = {str(CampaignState.SCHEDULED), str(CampaignState.RUNNING), str(CampaignState.PAUSED)}


def add_library(app: web.Application) -> None:
    app[LIBRARY] = Library(app[CONFIG].flows.library_dir)


async def list_flows(call: ApiCall) -> dict[str, Any]:
    flows = await asyncio.to_thread(call.request.app[LIBRARY].flows)
    return {"flows": [flow.to_dict() for flow in flows], "total": len(flows)}


async def get_flow(call: ApiCall) -> dict[str, Any]:
    library, name = call.request.app[LIBRARY], call.path["flow_name"]

    def read() -> dict[str, Any]:
        flow = library.flow(name)
        if flow is None:
            raise NotFound("flow", name)
        folder = Path(flow.path).parent
        documents = {
            file: (folder / file).read_text(errors="replace")[:MAX_DOCUMENT_SHOWN]
            for file in flow.files
            if file.endswith(".xml")
        }
        return flow.to_dict() | {"documents": documents}

    return await asyncio.to_thread(read)


async def save_flow(call: ApiCall) -> dict[str, Any]:
    library, name = call.request.app[LIBRARY], call.path["flow_name"]
    folder = library.flow_path(name).parent
    await _refuse_if_used(call, folder, f"flow {name!r}")
    before = await asyncio.to_thread(library.flow, name)
    check_voice = call.request.app[SPEECH].renderer.check_voice
    saved = await asyncio.to_thread(
        functools.partial(library.save_flow, max_audio_bytes=_max_audio_bytes(call)),
        name, call.files, check_voice,
    )  # fmt: skip
    return await _audit_save(call, f"flow:{name}", before, saved)


async def remove_flow(call: ApiCall) -> dict[str, Any]:
    library, name = call.request.app[LIBRARY], call.path["flow_name"]
    flow = await asyncio.to_thread(library.flow, name)
    if flow is None:
        raise NotFound("flow", name)
    await _refuse_if_used(call, Path(flow.path).parent, f"flow {name!r}")
    await asyncio.to_thread(library.remove_flow, name)
    return await _audit_removal(call, f"flow:{name}", flow)


async def list_prompts(call: ApiCall) -> dict[str, Any]:
    prompts = await asyncio.to_thread(call.request.app[LIBRARY].prompts)
    return {"prompts": [prompt.to_dict() for prompt in prompts], "total": len(prompts)}


async def save_prompt(call: ApiCall) -> dict[str, Any]:
    library, name = call.request.app[LIBRARY], call.path["prompt_name"]
    before = await asyncio.to_thread(library.prompt, name)
    if before is not None:
        await _refuse_if_used(call, Path(before.path), f"prompt {name!r}")
    upload = Upload(call.files[0].filename or f"{name}.wav", call.files[0].data)
    saved = await asyncio.to_thread(
        functools.partial(library.save_prompt, max_bytes=_max_audio_bytes(call)), name, upload
    )
    return await _audit_save(call, f"prompt:{name}", before, saved)


async def remove_prompt(call: ApiCall) -> dict[str, Any]:
    library, name = call.request.app[LIBRARY], call.path["prompt_name"]
    prompt = await asyncio.to_thread(library.prompt, name)
    if prompt is None:
        raise NotFound("prompt", name)
    await _refuse_if_used(call, Path(prompt.path), f"prompt {name!r}")
    await asyncio.to_thread(library.remove_prompt, name)
    return await _audit_removal(call, f"prompt:{name}", prompt)


async def _audit_save(
    call: ApiCall,
    target: str,
    before: FlowEntry | PromptEntry | None,
    saved: FlowEntry | PromptEntry,
) -> dict[str, Any]:
    """The saved entry, as answer and audit ("flow.save" for target "flow:{name}")."""
    after = saved.to_dict()
    was = before.to_dict() if before else None
    kind = target.split(":", 1)[0]
    return await call.change(
        f"{kind}.save", target, lambda store: Changed(after, before=was, after=after)
    )


async def _audit_removal(
    call: ApiCall, target: str, removed: FlowEntry | PromptEntry
) -> dict[str, Any]:
    answer = {"removed": removed.name}
    kind = target.split(":", 1)[0]
    return await call.change(
        f"{kind}.remove", target, lambda store: Changed(answer, before=removed.to_dict())
    )


def _max_audio_bytes(call: ApiCall) -> int:
    return int(call.request.app[CONFIG].flows.max_prompt_mb * 1024 * 1024)


async def _refuse_if_used(call: ApiCall, path: Path, what: str) -> None:
    users = await call.read(lambda store: _campaigns_using(store, path.resolve()))
    if users:
        shown = ", ".join(f"{campaign_id} ({state})" for campaign_id, state in users[:10])
        raise ApiError(409, f"{what} is in use by campaign {shown}: stop it or change its"
                       " flow first")  # fmt: skip


def _campaigns_using(store: Repository, path: Path) -> list[tuple[int, str]]:
    """Campaigns that may still dial and name `path` (or a file inside it, for a folder)."""
    found: list[tuple[int, str]] = []
    for campaign in store.list_campaigns():
        if campaign.state not in _ACTIVE:
            continue
        settings = CampaignSettings.from_dict(campaign.settings)
        named = (settings.flow, settings.prompt_file, settings.answering.message_flow)
        if any(text and _within(Path(text).resolve(), path) for text in named):
            found.append((campaign.id, str(campaign.state)))
    return found


def _within(named: Path, path: Path) -> bool:
    return named == path or path in named.parents


_FLOW: schemas.Schema = {
    "type": "object",
    "properties": {
        "name": schemas.TEXT,
        "path": {**schemas.TEXT, "description": "what a campaign's `flow` setting names"},
        "files": {"type": "array", "items": schemas.TEXT},
        "placeholders": {
            "type": "array",
            "items": schemas.TEXT,
            "description": "the contact fields its speech needs",
        },
        "updated_at": {"type": "number"},
    },
    "required": ["name", "path", "files", "placeholders", "updated_at"],
}
_FLOW_WITH_DOCUMENTS = {
    **_FLOW,
    "properties": {
        **_FLOW["properties"],
        "documents": {"type": "object", "additionalProperties": schemas.TEXT},
    },
}
_PROMPT = {
    "type": "object",
    "properties": {
        "name": schemas.TEXT,
        "path": {**schemas.TEXT, "description": "what a campaign's `prompt_file` names"},
        "bytes": schemas.COUNT,
        "duration_s": {"type": "number"},
        "updated_at": {"type": "number"},
    },
    "required": ["name", "path", "bytes", "duration_s", "updated_at"],
}
_REMOVED = {"type": "object", "properties": {"removed": schemas.TEXT}, "required": ["removed"]}
_FLOWS, _PROMPTS = "/api/flows", "/api/prompts"
_TAG = "library"

OPERATIONS = [
    Operation("GET", _FLOWS, list_flows, "List the uploaded flows", _TAG,
              response=schemas.page_of("flows", _FLOW)),
    Operation("GET", _FLOWS + "/{flow_name}", get_flow, "A flow, with its documents", _TAG,
              response=_FLOW_WITH_DOCUMENTS),
    Operation("PUT", _FLOWS + "/{flow_name}", save_flow, "Upload a flow (its files, main.xml"
              " first document), checked whole", _TAG, upload="file", response=_FLOW,
              refusals=(409, 422)),
    Operation("DELETE", _FLOWS + "/{flow_name}", remove_flow, "Remove a flow no campaign"
              " dialing uses", _TAG, response=_REMOVED, refusals=(409,)),
    Operation("GET", _PROMPTS, list_prompts, "List the uploaded prompts", _TAG,
              response=schemas.page_of("prompts", _PROMPT)),
    Operation("PUT", _PROMPTS + "/{prompt_name}", save_prompt, "Upload a recorded prompt", _TAG,
              upload="file", response=_PROMPT, refusals=(409, 422)),
    Operation("DELETE", _PROMPTS + "/{prompt_name}", remove_prompt, "Remove a prompt no"
              " campaign dialing uses", _TAG, response=_REMOVED, refusals=(409,)),
]  # fmt: skip
