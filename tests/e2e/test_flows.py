"""Call flows on real calls: SIPp presses keys (RFC 2833 pcaps), echoes what it heard, and a
local aiohttp server plays the webhook, prompt and slow and broken ones alike.

Speech is real espeak-ng through the dialer's renderer; the flows are TwiML files in the
test's folder, run by a real CampaignActor (menus, goal, opt-out) or a single call."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import web

from actors.campaign import CampaignActor, CampaignFinished, CampaignPlan, ChannelPool
from actors.runtime import spawn
from dialer.calling import CallReport, CallRequest, place_call
from dialer.campaign.model import CampaignEvent
from dialer.campaign.pacing import PacerSettings, TrunkPacer
from dialer.campaign.policy import RetryRules
from dialer.campaign.settings import CampaignSettings
from dialer.config import Config, FlowSettings, RtpSettings, SipSettings, TrunkSettings, TtsSettings
from dialer.contacts.record import ContactRecord
from dialer.flow.runner import FlowRequest, FlowRuntime
from dialer.flow.validation import load_campaign_flow
from dialer.flow.webhook import FlowFetcher
from dialer.runtime import Dialer
from dialer.service import CampaignHost, start_due_campaigns
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from media.audiofile import load_ulaw
from media.correlation import best_alignment
from media.g711 import ulaw_decode_samples
from tests.e2e.audio_fixtures import dominant_frequency, read_wav_pcm16, write_wav
from tests.e2e.campaign_run import ALL_DAY
from tests.e2e.peers import LOOPBACK, Baresip, Sipp, free_sip_port, require_binary
from tests.e2e.test_calls import speechlike
from tests.loopback_http import serving
from tts.renderer import Renderer

pytestmark = pytest.mark.e2e

MENU = """<Response>
  <Gather numDigits="1" timeout="4" action="press-{{Digits}}.xml">
    <Say>Hello {{customerName}}. Your appointment is on {{date}}. Press 1 to confirm,
         2 to cancel, or 9 to stop these calls.</Say>
  </Gather>
  <Say>We did not get your answer. Goodbye.</Say>
</Response>"""
PRESS_1 = """<Response><Set name="confirmed" value="true"/><Say>Thank you, see you then.</Say>
<Hangup/></Response>"""
PRESS_2 = """<Response><Set name="confirmed" value="false"/>
<Gather numDigits="1" timeout="3" action="cancel-{{Digits}}.xml">
  <Say>Press 1 to cancel for good.</Say></Gather></Response>"""
CANCEL_1 = """<Response><Set name="cancelled" value="true"/><Say>Cancelled.</Say></Response>"""


def write_flows(folder: Path, **documents: str) -> Path:
    for name, text in documents.items():
        (folder / f"{name.replace('_', '-')}.xml").write_text(text)
    return folder / "main.xml"


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Callable[..., FlowRuntime]]:
    made: list[FlowRuntime] = []

    def make(**flows: Any) -> FlowRuntime:
        settings = FlowSettings(recordings_dir=str(tmp_path / "recordings"), **flows)
        tts = TtsSettings(cache_dir=str(tmp_path / "tts-cache"))
        built = FlowRuntime(
            settings, Renderer(tts), FlowFetcher(settings), Path(settings.recordings_dir)
        )
        made.append(built)
        return built

    yield make
    for built in made:
        await built.close()


def config_for(peer: Sipp | Baresip) -> Config:
    host, port = peer.address
    return Config(
        sip=SipSettings(bind_host=LOOPBACK, bind_port=free_sip_port(), transports=["udp"]),
        rtp=RtpSettings(bind_host=LOOPBACK, dead_air_s=30.0),  # flow_keys sends no audio
        trunks={"default": TrunkSettings(proxy=f"sip:{host}:{port}", keepalive_s=0)},
    )


async def test_a_menu_campaign_branches_by_key_and_the_results_hold_the_variables(
    tmp_path: Path, runtime: Callable[..., FlowRuntime]
) -> None:
    main = write_flows(tmp_path, main=MENU, press_1=PRESS_1, press_2=PRESS_2, cancel_1=CANCEL_1)
    flows = runtime()
    campaign_flow = load_campaign_flow(str(main), flows.speech.check_voice)
    assert campaign_flow.placeholders == {"customerName", "date"}
    # flow_keys.xml presses by the number's last digit: 1, 2 then 1 (8), 9, or nothing (0).
    people = {"1": "Ada", "8": "Ben", "9": "Cy", "0": "Dee"}
    records = [
        ContactRecord(i + 2, name, f"+141555500{i}{digit}", None, attributes={"date": "March 15"})
        for i, (digit, name) in enumerate(people.items())
    ]
    with Sipp.start_uas("flow_keys", timeout_s=90) as sipp:
        config = config_for(sipp)
        store = StoreWorker(lambda: SqliteStore(tmp_path / "dialer.db"))
        campaign_id = await store.run(lambda s: s.create_campaign("menu", now=0.0))
        await store.run(lambda s: s.import_contacts(campaign_id, records, now=0.0))
        await store.run(lambda s: s.set_campaign_state(campaign_id, CampaignEvent.START, now=0.0))
        dialer = await Dialer.start(config)
        finished: asyncio.Future[CampaignFinished] = asyncio.get_running_loop().create_future()
        actor = CampaignActor(
            dialer,
            store,
            CampaignPlan(
                campaign_id,
                max_concurrent=4,
                rules=RetryRules(max_attempts=1, goal_variable="confirmed"),
                hours=ALL_DAY,
                flow=campaign_flow,
                flow_runtime=flows,
                max_duration_s=40,
            ),
            channels=(ChannelPool(10),),
            pacer=TrunkPacer(PacerSettings(cps=20.0), now=asyncio.get_running_loop().time()),
            on_finished=finished.set_result,
        )
        task = spawn(actor)
        try:
            result = await asyncio.wait_for(finished, timeout=80)
            await task
        finally:
            await dialer.close()
    try:
        leads = {lead.name: lead for lead in await store.run(lambda s: s.list_leads(campaign_id))}
        attempts = {a.lead_id: a for a in await store.run(lambda s: s.list_attempts(campaign_id))}
        opted_out = records[2].phone or ""
        on_list = await store.run(lambda s: s.dnc_contains(opted_out))
        entries = await store.run(lambda s: s.list_dnc())
    finally:
        store.close()

    assert result.state == "completed"

    def variables(name: str) -> dict[str, str]:
        attempt = attempts[leads[name].id]
        assert attempt.result is not None
        return dict(attempt.result.variables)

    # 1: confirmed, the goal: completed.
    assert leads["Ada"].state == "completed"
    assert variables("Ada") == {"Digits": "1", "confirmed": "true", "dtmf": "1"}
    # 2, then 1 at the second menu: the branch of the branch; the goal was not met.
    assert leads["Ben"].state == "max_retries"
    assert variables("Ben") == {
        "Digits": "1",
        "confirmed": "false",
        "cancelled": "true",
        "dtmf": "21",
    }
    # 9: opted out, on the do-not-call list for good, never called again.
    assert leads["Cy"].state == "do_not_call" and on_list
    assert variables("Cy")["opted_out"] == "true"
    assert any(e.number == opted_out and "opt-out key" in e.source for e in entries)
    # Nothing pressed: the menu fell through to its goodbye; answered, goal not reached.
    assert leads["Dee"].state == "max_retries", attempts[leads["Dee"].id]
    assert variables("Dee") == {"Digits": ""}, attempts[leads["Dee"].id]


async def test_the_callee_hears_the_personalised_prompt(
    tmp_path: Path, runtime: Callable[..., FlowRuntime], make_call: Any
) -> None:
    main = write_flows(
        tmp_path,
        main="<Response><Say>Hello {{customerName}}, your appointment is on {{date}}.</Say>"
        "</Response>",
    )
    flows = runtime()
    contact = {"customerName": "Jane Doe", "date": "March fifteenth"}
    with Sipp.start_uas("echo_answer", rtp_echo=True, calls=1) as sipp:
        report = await make_call(sipp, flows, main, contact, tmp_path / "heard.wav")
    assert report.outcome == "completed" and report.reason == "flow finished"
    heard = ulaw_decode_samples(load_ulaw(tmp_path / "heard.wav"))
    expected = ulaw_decode_samples(
        flows.speech.render("Hello Jane Doe, your appointment is on March fifteenth.")
    )
    someone_else = ulaw_decode_samples(
        flows.speech.render("Hello Bob Smith, your appointment is on June second.")
    )
    assert best_alignment(expected, heard).score > 0.8
    assert best_alignment(someone_else, heard).score < best_alignment(expected, heard).score - 0.2
    # The envelope: as long as the rendered prompt (the echo adds silence around it only).
    voiced = _voiced_seconds(heard)
    assert abs(voiced - _voiced_seconds(expected)) < 0.4, (voiced, _voiced_seconds(expected))


def _voiced_seconds(pcm: np.ndarray[Any, Any]) -> float:
    frames = pcm[: len(pcm) // 160 * 160].reshape(-1, 160).astype(np.float64)
    rms = np.sqrt((frames**2).mean(axis=1))
    voiced = np.nonzero(rms > 300)[0]
    return 0.0 if len(voiced) == 0 else (voiced[-1] - voiced[0] + 1) * 0.02


@pytest.fixture
async def make_call() -> AsyncIterator[Callable[..., Awaitable[CallReport]]]:
    dialers: list[Dialer] = []

    async def make(
        peer: Sipp | Baresip,
        flows: FlowRuntime,
        flow: Path | str,
        contact: dict[str, str],
        record_to: Path | None = None,
        target: str | None = None,
    ) -> CallReport:
        dialer = await Dialer.start(config_for(peer))
        dialers.append(dialer)
        start = load_campaign_flow(str(flow), flows.speech.check_voice).start()
        request = CallRequest(
            target=target or (peer.uri() if isinstance(peer, Sipp) else peer.uri),
            flow=FlowRequest(flows, start, contact),
            record_to=record_to,
            max_duration_s=30,
        )
        return await asyncio.wait_for(place_call(dialer, request), 60)

    yield make
    for dialer in dialers:
        await dialer.close()


class Webhook:
    """A TwiML server on 127.0.0.1: answers each path from `pages`, records requests."""

    def __init__(self) -> None:
        self.pages: dict[str, Callable[[dict[str, str]], Awaitable[web.StreamResponse]]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.requests.append((request.path, form))
        page = self.pages.get(request.path)
        if page is None:
            return web.Response(status=404)
        return await page(form)


def twiml(text: str) -> Callable[[dict[str, str]], Awaitable[web.StreamResponse]]:
    async def page(form: dict[str, str]) -> web.StreamResponse:
        return web.Response(text=text, content_type="application/xml")

    return page


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[Webhook, str]]:
    state = Webhook()
    async with serving(state.handle) as base:
        yield state, base


async def test_a_webhook_flow_gets_the_call_and_the_keys_and_drives_the_menu(
    tmp_path: Path,
    runtime: Callable[..., FlowRuntime],
    make_call: Any,
    webhook: tuple[Webhook, str],
) -> None:
    server, base = webhook
    server.pages["/ivr"] = twiml(
        '<Response><Gather numDigits="1" action="/ivr/choice">'
        "<Say>Hello {{customerName}}, press 1.</Say></Gather></Response>"
    )
    server.pages["/ivr/choice"] = twiml(
        '<Response><Set name="confirmed" value="true"/><Say>Thanks.</Say></Response>'
    )
    flows = runtime()
    with Sipp.start_uas("flow_keys", timeout_s=60) as sipp:
        target = f"sip:+14155550001@{LOOPBACK}:{sipp.port}"  # ...1: SIPp presses 1
        report = await make_call(sipp, flows, f"{base}/ivr", {"customerName": "Ada"}, target=target)
    assert report.outcome == "completed"
    assert report.variables == {"Digits": "1", "confirmed": "true"}
    (first, params), (second, answer) = server.requests
    assert (first, second) == ("/ivr", "/ivr/choice")
    assert params["To"] == target
    assert params["CallStatus"] == "in-progress" and params["customerName"] == "Ada"
    assert params["CallSid"] == answer["CallSid"] and answer["Digits"] == "1"


@pytest.mark.parametrize("failure", ["slow", "broken"])
async def test_a_slow_or_broken_webhook_gives_way_to_the_fallback_within_the_silence_limit(
    tmp_path: Path,
    runtime: Callable[..., FlowRuntime],
    make_call: Any,
    webhook: tuple[Webhook, str],
    failure: str,
) -> None:
    server, base = webhook
    release = asyncio.Event()

    async def slow(form: dict[str, str]) -> web.StreamResponse:
        await release.wait()
        return web.Response(text="<Response/>", content_type="application/xml")

    async def broken(form: dict[str, str]) -> web.StreamResponse:
        return web.Response(status=500)

    server.pages["/ivr"] = slow if failure == "slow" else broken
    fallback = write_flows(
        tmp_path, main="<Response><Say>Sorry, we will call you back.</Say></Response>"
    )
    flows = runtime(
        fallback_flow=str(fallback), webhook_timeout_s=0.8, webhook_retries=2, max_silence_s=1.5
    )
    with Sipp.start_uas("echo_answer", rtp_echo=True, calls=1) as sipp:
        report = await make_call(sipp, flows, f"{base}/ivr", {}, tmp_path / "heard.wav")
    release.set()
    assert report.outcome == "completed"
    assert report.variables.get("flow_fallback") == "true"
    # What the caller heard: silence while the dialer waited, then the fallback's words.
    heard = ulaw_decode_samples(load_ulaw(tmp_path / "heard.wav"))
    frames = heard[: len(heard) // 160 * 160].reshape(-1, 160).astype(np.float64)
    first_voice = int(np.argmax(np.sqrt((frames**2).mean(axis=1)) > 300)) * 0.02
    assert 0 < first_voice <= flows.settings.max_silence_s + 0.7, first_voice
    expected = ulaw_decode_samples(flows.speech.render("Sorry, we will call you back."))
    assert best_alignment(expected, heard).score > 0.8
    # Slow: two tries fit in the 1.5 s of silence allowed (0.8 s, then the 0.7 s left).
    # Broken: every try fails at once, so all of them are made.
    expected_tries = 2 if failure == "slow" else 1 + flows.settings.webhook_retries
    assert len(server.requests) == expected_tries


async def test_baresip_keys_drive_the_menu_like_a_callee_would(
    tmp_path: Path, runtime: Callable[..., FlowRuntime], make_call: Any
) -> None:
    require_binary("baresip")
    main = write_flows(tmp_path, main=MENU, press_1=PRESS_1, press_2=PRESS_2, cancel_1=CANCEL_1)
    flows = runtime()
    contact = {"customerName": "Ada", "date": "March 15"}
    with Baresip.start() as phone:
        placed = asyncio.create_task(make_call(phone, flows, main, contact))
        await phone.wait_for_log_async("Call established", timeout=10)
        await asyncio.to_thread(phone.command, "sndcode", "1")  # RFC 4733, while it speaks
        report = await placed
    assert report.outcome == "completed" and report.reason == "hung up by the flow"
    assert report.variables == {"Digits": "1", "confirmed": "true"}


async def test_record_captures_the_reply_until_max_length_or_silence(
    tmp_path: Path, runtime: Callable[..., FlowRuntime], make_call: Any
) -> None:
    flow = write_flows(
        tmp_path,
        main="<Response><Say>Leave a message after the beep.</Say>"
        '<Record maxLength="3" timeout="1" playBeep="true"/><Say>Thanks.</Say></Response>',
    )
    flows = runtime()
    # baresip never stops talking (a 440 Hz tone): the recording runs to maxLength.
    with Baresip.start() as phone:
        talking = await make_call(phone, flows, flow, {})
    recording = Path(talking.variables["RecordingUrl"])
    assert talking.variables["RecordingDuration"] == "3"
    pcm, rate = read_wav_pcm16(recording)
    assert rate == 8000 and 2.7 <= len(pcm) / rate <= 3.3
    assert abs(dominant_frequency(pcm, rate) - 440) < 10  # what the far end said, not us
    # SIPp's echo sends back our beep, then the silence we send: a second of it ends it.
    with Sipp.start_uas("echo_answer", rtp_echo=True, calls=1) as sipp:
        quiet = await make_call(sipp, flows, flow, {})
    assert int(quiet.variables["RecordingDuration"]) <= 2  # under maxLength: silence ended it


async def test_a_webhook_can_play_a_prompt_it_serves(
    tmp_path: Path,
    runtime: Callable[..., FlowRuntime],
    make_call: Any,
    webhook: tuple[Webhook, str],
) -> None:
    server, base = webhook
    prompt = speechlike(2.0, seed=44)
    wav = write_wav(tmp_path / "served.wav", ulaw_decode_samples(prompt))

    async def served(form: dict[str, str]) -> web.StreamResponse:
        return web.Response(body=wav.read_bytes(), content_type="audio/wav")

    server.pages["/ivr"] = twiml("<Response><Play>/prompts/hello.wav</Play></Response>")
    server.pages["/prompts/hello.wav"] = served
    flows = runtime()
    with Sipp.start_uas("echo_answer", rtp_echo=True, calls=1) as sipp:
        report = await make_call(sipp, flows, f"{base}/ivr", {}, tmp_path / "heard.wav")
    assert report.outcome == "completed" and report.reason == "flow finished"
    heard = ulaw_decode_samples(load_ulaw(tmp_path / "heard.wav"))
    assert best_alignment(ulaw_decode_samples(prompt), heard).score > 0.8


async def test_a_campaign_with_a_flow_runs_from_its_settings_as_serve_runs_it(
    tmp_path: Path,
) -> None:
    main = write_flows(tmp_path, main=MENU, press_1=PRESS_1, press_2=PRESS_2, cancel_1=CANCEL_1)
    settings = CampaignSettings(
        flow=str(main), retry=RetryRules(max_attempts=1, goal_variable="confirmed"),
        recipient_hours=None, max_duration_s=30,
    )  # fmt: skip
    records = [ContactRecord(2, "Ada", "+14155550001", None, attributes={"date": "May 2"})]
    with Sipp.start_uas("flow_keys", timeout_s=60) as sipp:
        config = replace(
            config_for(sipp),
            tts=TtsSettings(cache_dir=str(tmp_path / "tts-cache")),
            flows=FlowSettings(recordings_dir=str(tmp_path / "recordings")),
        )
        store = StoreWorker(lambda: SqliteStore(tmp_path / "dialer.db"))
        campaign_id = await store.run(
            lambda s: s.create_campaign("c", now=0.0, settings=settings.to_dict())
        )
        await store.run(lambda s: s.import_contacts(campaign_id, records, now=0.0))
        await store.run(lambda s: s.set_campaign_state(campaign_id, CampaignEvent.START, now=0.0))
        dialer = await Dialer.start(config)
        host = CampaignHost(config, dialer, store)
        try:
            await start_due_campaigns(host, store, set())
            finished = await asyncio.wait_for(host.wait_finished(campaign_id), 40)
        finally:
            await host.close()
            await dialer.close()
    try:
        (lead,) = await store.run(lambda s: s.list_leads(campaign_id))
        (attempt,) = await store.run(lambda s: s.list_attempts(campaign_id))
    finally:
        store.close()
    assert finished.state == "completed" and lead.state == "completed"
    assert attempt.result is not None and attempt.result.variables["confirmed"] == "true"
    assert any((tmp_path / "tts-cache").iterdir())  # the host's renderer, as configured


async def test_dialer_call_runs_a_flow_with_the_values_given(tmp_path: Path) -> None:
    main = write_flows(tmp_path, main=MENU, press_1=PRESS_1, press_2=PRESS_2, cancel_1=CANCEL_1)
    config = tmp_path / "config.toml"
    with Sipp.start_uas("flow_keys", timeout_s=60) as sipp:
        config.write_text(
            f'[sip]\nbind_port = {free_sip_port()}\ntransports = ["udp"]\n'
            f'[trunks.default]\nproxy = "sip:{LOOPBACK}:{sipp.port}"\nkeepalive_s = 0\n'
            f'[tts]\ncache_dir = "{tmp_path / "tts-cache"}"\n'
            f'[flows]\nrecordings_dir = "{tmp_path / "recordings"}"\n'
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dialer.cli", "call", f"sip:+14155550001@{LOOPBACK}",
            "--flow", str(main), "--value", "customerName=Ann", "--value", "date=May 2",
            "--config", str(config), "--json",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 40)
    assert process.returncode == 0, err.decode()[-2000:]
    result = json.loads(out)
    assert result["outcome"] == "completed" and result["reason"] == "hung up by the flow"
    assert result["variables"] == {"Digits": "1", "confirmed": "true"}
    assert result["first_prompt_ms"] is not None
