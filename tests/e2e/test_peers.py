"""The e2e harness itself: real peers talking to each other on 127.0.0.1 (SIPp UAC -> SIPp UAS,
SIPp through Kamailio, SIPp -> baresip). No dialer code is involved."""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.e2e.peers import (
    SCENARIO_DIR,
    Baresip,
    Kamailio,
    PeerError,
    Sipp,
    TracedMessage,
    digest_problems,
    dominant_frequency,
    free_rtp_port,
    free_sip_port,
    read_wav_pcm16,
    rms_dbfs,
    tone_pcm16,
    write_ulaw,
)

pytestmark = pytest.mark.e2e


def _needs(binary: str, package: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        shutil.which(binary) is None, reason=f"{binary} not installed (apt package {package})"
    )


needs_sipp = _needs("sipp", "sip-tester")
needs_kamailio = _needs("kamailio", "kamailio")
needs_baresip = _needs("baresip", "baresip")


def _received(
    peer: Sipp, method: str | None = None, status: int | None = None
) -> list[TracedMessage]:
    return [
        m
        for m in peer.messages()
        if m.direction == "received"
        and (method is None or m.method == method)
        and (status is None or m.status == status)
    ]


def _sent_statuses(peer: Sipp) -> list[int]:
    return [m.status for m in peer.messages() if m.direction == "sent" and m.status is not None]


def _call(uas: Sipp, uac_scenario: str, tmp_path: Path, **kwargs: Any) -> Sipp:
    return Sipp.start_uac(uac_scenario, uas.address, workdir=tmp_path / "uac", **kwargs)


# --------------------------------------------------------------------------- ports, lifecycle


def test_free_ports_leave_room_for_neighbours() -> None:
    rtp = free_rtp_port()
    assert rtp % 2 == 0
    for port in (rtp, rtp + 1, rtp + 2, rtp + 3):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", port))
    sip = free_sip_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", sip + 1))


_RFC7616_REQUEST = (
    'GET sip:x SIP/2.0\nAuthorization: Digest username="Mufasa", '
    'realm="http-auth@example.org", uri="/dir/index.html", algorithm={alg}, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, '
    'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="{response}", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"\n'
)


@pytest.mark.parametrize(
    ("alg", "response"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_digest_check_matches_the_rfc7616_examples(alg: str, response: str) -> None:
    request = TracedMessage("received", _RFC7616_REQUEST.format(alg=alg, response=response))
    assert digest_problems(request, "Mufasa", "Circle of Life", "Authorization") == []
    wrong = digest_problems(request, "Mufasa", "Circle Of Life", "Authorization")
    assert wrong == [f"GET sip:x SIP/2.0: wrong {alg} response for Mufasa"]


@needs_sipp
def test_stop_ends_a_waiting_uas_at_once_and_frees_its_port(tmp_path: Path) -> None:
    uas = Sipp.start_uas("options_200", workdir=tmp_path)
    started = time.monotonic()
    uas.stop()
    assert time.monotonic() - started < 5
    assert uas.returncode is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(uas.address)


@needs_sipp
def test_time_limit_ends_a_peer_stuck_in_a_call(tmp_path: Path) -> None:
    """options_200 waits 120 s for the next OPTIONS, past SIPp's own -timeout: the wrapper's
    hard limit (timeout_s + 5 s) must end it."""
    with Sipp.start_uas("options_200", timeout_s=1, workdir=tmp_path / "uas") as uas:
        with _call(uas, "uac_options", tmp_path) as uac:
            assert uac.wait(10) == 0, uac.report()
        assert uas.wait(15) == 124


@needs_sipp
def test_start_fails_fast_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(PeerError, match="exited while starting"):
            Sipp.start_uas("echo_answer", port=port, media_port=free_rtp_port(), workdir=tmp_path)
        assert time.monotonic() - started < 10


# --------------------------------------------------------------------------- SIPp scenarios


@needs_sipp
@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_echo_answer_answers_with_sdp_and_echoes_rtp(
    tmp_path: Path, transport: Literal["u1", "t1"]
) -> None:
    with Sipp.start_uas(
        "echo_answer", calls=1, rtp_echo=True, transport=transport, workdir=tmp_path / "uas"
    ) as uas:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtp:
            rtp.settimeout(5)
            packet = bytes([0x80, 0x00, 0x00, 0x01]) + b"\x00" * 8 + b"\xff" * 160
            rtp.sendto(packet, ("127.0.0.1", uas.media_port))
            assert rtp.recv(2048) == packet
        with _call(uas, "uac_call", tmp_path, transport=transport, call_duration_ms=200) as uac:
            assert uac.wait(20) == 0, uac.report()
        assert uas.wait(10) == 0, uas.report()
        assert _sent_statuses(uas) == [100, 180, 200, 200]
        ok = next(m for m in uas.messages() if m.direction == "sent" and m.status == 200)
        assert f"m=audio {uas.media_port} RTP/AVP 0 8 101" in ok.body
        assert "a=rtpmap:101 telephone-event/8000" in ok.body
        assert uas.uri().startswith(f"sip:service@127.0.0.1:{uas.port}")


@needs_sipp
def test_builtin_uas_answers_a_call(tmp_path: Path) -> None:
    with Sipp.start_uas("builtin-uas", calls=1, workdir=tmp_path / "uas") as uas:
        with _call(uas, "uac_call", tmp_path) as uac:
            assert uac.wait(20) == 0, uac.report()
        assert uas.wait(10) == 0, uas.report()


@needs_sipp
def test_ring_forever_answers_cancel_with_200_and_487(tmp_path: Path) -> None:
    with Sipp.start_uas("ring_forever", calls=1, workdir=tmp_path / "uas") as uas:
        with _call(uas, "uac_cancel", tmp_path, call_duration_ms=300) as uac:
            assert uac.wait(20) == 0, uac.report()
        assert uas.wait(10) == 0, uas.report()
        sent = [m for m in uas.messages() if m.direction == "sent"]
        assert [m.status for m in sent] == [100, 180, 200, 487]
        assert sent[2].header("CSeq") == "1 CANCEL"
        assert sent[3].header("CSeq") == "1 INVITE"


@needs_sipp
@pytest.mark.parametrize(
    ("scenario", "statuses", "header", "value"),
    [
        ("busy_486_no_trying", [486], None, None),
        ("ring_then_480", [100, 180, 480], None, None),
        ("unavailable_503", [503], "Retry-After", "120"),
        ("redirect_302", [302], "Contact", "<sip:elsewhere@127.0.0.1:5999>"),
    ],
)
def test_rejecting_scenarios_send_their_final_response_and_take_the_ack(
    tmp_path: Path, scenario: str, statuses: list[int], header: str | None, value: str | None
) -> None:
    keys = {"redirect_user": "elsewhere", "redirect_port": "5999"}
    with Sipp.start_uas(scenario, calls=1, keys=keys, workdir=tmp_path / "uas") as uas:
        with _call(uas, "uac_expect_reject", tmp_path) as uac:
            assert uac.wait(20) == 0, uac.report()
        assert uas.wait(10) == 0, uas.report()
        assert _sent_statuses(uas) == statuses
        assert _received(uas, "ACK")
        final = next(m for m in uas.messages() if m.status == statuses[-1])
        if header is not None:
            assert final.header(header) == value


@needs_sipp
def test_ring_then_480_rings_for_about_a_second(tmp_path: Path) -> None:
    with Sipp.start_uas("ring_then_480", calls=1, workdir=tmp_path / "uas") as uas:
        with _call(uas, "uac_expect_reject", tmp_path) as uac:
            assert uac.wait(20) == 0, uac.report()
        stamps = re.findall(r"^-+ \S+ (\d+):(\d+):([\d.]+)\n\w+ message sent", _trace(uas), re.M)
        seconds = [int(h) * 3600 + int(m) * 60 + float(s) for h, m, s in stamps]
        assert seconds[2] - seconds[1] >= 0.9  # 180 -> 480


def _trace(peer: Sipp) -> str:
    return peer.messages_path.read_text()


@needs_sipp
@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_answer_then_bye_hangs_up_itself_with_swapped_parties(
    tmp_path: Path, transport: Literal["u1", "t1"]
) -> None:
    with Sipp.start_uas(
        "answer_then_bye", calls=1, transport=transport, workdir=tmp_path / "uas"
    ) as uas:
        with _call(uas, "uac_far_end_bye", tmp_path, transport=transport) as uac:
            assert uac.wait(20) == 0, uac.report()  # the UAC checks the BYE's From/To tags
        assert uas.wait(10) == 0, uas.report()
        bye = next(m for m in uas.messages() if m.method == "BYE")
        assert bye.first_line.startswith("BYE sip:sipp@127.0.0.1:")  # the caller's Contact


@needs_sipp
def test_reinvite_hold_holds_and_resumes(tmp_path: Path) -> None:
    with Sipp.start_uas("reinvite_hold", calls=1, workdir=tmp_path / "uas") as uas:
        with _call(uas, "uac_hold_target", tmp_path) as uac:
            assert uac.wait(20) == 0, uac.report()
        assert uas.wait(10) == 0, uas.report()
        assert "hold answered with a=recvonly" in uas.actions_log_text()
        offers = [m.body for m in uas.messages() if m.direction == "sent" and m.method == "INVITE"]
        assert ["a=sendonly" in offers[0], "a=sendrecv" in offers[1]] == [True, True]


@needs_sipp
def test_reinvite_hold_fails_the_call_when_hold_is_answered_sendrecv(tmp_path: Path) -> None:
    careless = tmp_path / "uac_hold_ignored.xml"
    careless.write_text((SCENARIO_DIR / "uac_hold_target.xml").read_text().replace(
        "a=recvonly", "a=sendrecv"))  # fmt: skip
    with Sipp.start_uas("reinvite_hold", calls=1, workdir=tmp_path / "uas") as uas:
        with Sipp.start_uac(careless, uas.address, workdir=tmp_path / "uac") as uac:
            uac.wait(20)
        assert uas.wait(10) == 1


@needs_sipp
def test_challenge_401_verifies_the_password_in_sipp(tmp_path: Path) -> None:
    for password, expected in (("secret", 0), ("wrong", 1)):
        with Sipp.start_uas("challenge_401", calls=1, workdir=tmp_path / password) as uas:
            uac = Sipp.start_uac(
                "uac_auth401_call", uas.address, auth=("dialer", password),
                workdir=tmp_path / f"uac-{password}",
            )  # fmt: skip
            with uac:
                uac.wait(20)
            assert uas.wait(10) == expected, uas.report()


@needs_sipp
def test_challenge_407_answers_proxy_authorization_and_python_checks_the_digest(
    tmp_path: Path,
) -> None:
    for password in ("secret", "wrong"):
        with Sipp.start_uas("challenge_407", calls=1, workdir=tmp_path / password) as uas:
            uac = Sipp.start_uac(
                "uac_auth_call", uas.address, auth=("dialer", password), call_duration_ms=200,
                workdir=tmp_path / f"uac-{password}",
            )  # fmt: skip
            with uac:
                assert uac.wait(20) == 0, uac.report()
            assert uas.wait(10) == 0, uas.report()
            assert _sent_statuses(uas)[:2] == [407, 100]
            problems = uas.credential_problems("dialer", "secret")
            assert (problems == []) == (password == "secret"), problems


@needs_sipp
def test_challenge_407_fails_the_call_without_credentials(tmp_path: Path) -> None:
    bare = tmp_path / "uac_no_auth.xml"
    bare.write_text(
        (SCENARIO_DIR / "uac_auth_call.xml").read_text().replace("[authentication]\n", "")
    )
    with Sipp.start_uas("challenge_407", calls=1, workdir=tmp_path / "uas") as uas:
        with Sipp.start_uac(bare, uas.address, workdir=tmp_path / "uac") as uac:
            uac.wait(20)
        assert uas.wait(10) == 1


class _RawUdpUac:
    """Just enough of a UAC to answer a SHA-256 challenge, which SIPp 3.6.1 cannot do."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.uri = f"sip:service@{target[0]}:{target[1]}"
        self.call_id = uuid.uuid4().hex
        self.to_tag = ""

    def send(self, method: str, cseq: int, branch: str, *headers: str, body: str = "") -> None:
        to = f"<{self.uri}>" + (f";tag={self.to_tag}" if self.to_tag else "")
        lines = [
            f"{method} {self.uri} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{branch}",
            f"From: <sip:dialer@127.0.0.1:{self.port}>;tag=raw1",
            f"To: {to}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:dialer@127.0.0.1:{self.port}>",
            "Max-Forwards: 70",
            *headers,
            *(["Content-Type: application/sdp"] if body else []),
            f"Content-Length: {len(body)}",
        ]
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n" + body).encode(), self.target)

    def final_response(self, cseq: str) -> TracedMessage:
        while True:
            message = TracedMessage(
                "received", self.sock.recv(65536).decode().replace("\r\n", "\n")
            )
            if message.header("CSeq") == cseq and (message.status or 0) >= 200:
                tag = re.search(r";tag=([^;>\s]+)", message.header("To") or "")
                self.to_tag = tag.group(1) if tag else self.to_tag
                return message


def _sha256_authorization(challenge: str, uri: str, user: str, password: str) -> str:
    realm = re.search(r'realm="([^"]+)"', challenge)
    nonce = re.search(r'nonce="([^"]+)"', challenge)
    assert realm and nonce and "algorithm=SHA-256" in challenge

    def h(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    ha1, ha2, cnonce = h(f"{user}:{realm[1]}:{password}"), h(f"INVITE:{uri}"), "0a4f113b"
    response = h(f"{ha1}:{nonce[1]}:00000001:{cnonce}:auth:{ha2}")
    return (
        f'Proxy-Authorization: Digest username="{user}", realm="{realm[1]}", nonce="{nonce[1]}", '
        f'uri="{uri}", response="{response}", algorithm=SHA-256, qop=auth, nc=00000001, '
        f'cnonce="{cnonce}"'
    )


@needs_sipp
def test_challenge_407_sha256_with_a_raw_uac(tmp_path: Path) -> None:
    sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    sdp += "m=audio 40000 RTP/AVP 0\r\n"
    with Sipp.start_uas("challenge_407_sha256", calls=1, workdir=tmp_path) as uas:
        uac = _RawUdpUac(uas.address)
        with uac.sock:
            uac.send("INVITE", 1, "a1", body=sdp)
            challenge = uac.final_response("1 INVITE")
            assert challenge.status == 407
            uac.send("ACK", 1, "a1")
            authorization = _sha256_authorization(
                challenge.header("Proxy-Authenticate") or "", uac.uri, "dialer", "secret"
            )
            uac.to_tag = ""
            uac.send("INVITE", 2, "a2", authorization, body=sdp)
            assert uac.final_response("2 INVITE").status == 200
            uac.send("ACK", 2, "a3")
            uac.send("BYE", 3, "a4")
            assert uac.final_response("3 BYE").status == 200
        assert uas.wait(10) == 0, uas.report()
        assert uas.credential_problems("dialer", "secret") == []
        assert uas.credential_problems("dialer", "other") != []


@needs_sipp
def test_options_200_answers_repeated_keepalives(tmp_path: Path) -> None:
    with Sipp.start_uas("options_200", workdir=tmp_path / "uas") as uas:
        for _ in range(2):  # two Call-IDs, two OPTIONS each
            with _call(uas, "uac_options", tmp_path) as uac:
                assert uac.wait(20) == 0, uac.report()
        assert _sent_statuses(uas) == [200, 200, 200, 200]


@needs_sipp
def test_register_401_challenges_then_grants_a_short_expiry(tmp_path: Path) -> None:
    with Sipp.start_uas("register_401", workdir=tmp_path / "uas") as uas:
        with _call(uas, "uac_register", tmp_path, auth=("dialer", "secret")) as uac:
            assert uac.wait(20) == 0, uac.report()
        assert _sent_statuses(uas) == [401, 200, 200]
        granted = [m for m in uas.messages() if m.status == 200]
        assert granted[0].header("Expires") == "10"
        assert granted[0].header("Contact") == "<sip:sipp@127.0.0.1:5060>;expires=10"


# --------------------------------------------------------------------------- Kamailio


@needs_sipp
@needs_kamailio
def test_kamailio_registers_then_proxies_a_call_to_the_carrier(tmp_path: Path) -> None:
    carrier = Sipp.start_uas("echo_answer", calls=1, workdir=tmp_path / "carrier")
    with (
        carrier,
        Kamailio.start(
            users={"dialer": "secret"}, next_hop=carrier.address, workdir=tmp_path / "kamailio"
        ) as proxy,
    ):
        dialer = {"caller": "dialer", "contact_port": "5999"}
        reg = Sipp.start_uac(
            "uac_register", proxy.address, auth=("dialer", "secret"), keys=dialer,
            workdir=tmp_path / "register",
        )  # fmt: skip
        with reg:
            assert reg.wait(20) == 0, reg.report() + proxy.log_tail()
        call = Sipp.start_uac(
            "uac_auth_call", proxy.address, service="15551230000", auth=("dialer", "secret"),
            keys=dialer, call_duration_ms=300, workdir=tmp_path / "call",
        )  # fmt: skip
        with call:
            assert call.wait(20) == 0, call.report() + proxy.log_tail()
        assert carrier.wait(10) == 0, carrier.report()

        invite = _received(carrier, "INVITE")[0]
        assert invite.first_line.startswith("INVITE sip:15551230000@")
        assert f"127.0.0.1:{proxy.port};lr" in (invite.header("Record-Route") or "")
        assert invite.header("Proxy-Authorization") is None  # consumed by the proxy
        bye = _received(carrier, "BYE")[0]
        assert f"127.0.0.1:{proxy.port}" in (bye.header("Via") or "")  # came through the proxy
        log = "\n".join(proxy.routing_log())
        for line in (
            "E2E REGISTERED dialer",
            "E2E CHALLENGE INVITE",
            "E2E AUTHORIZED INVITE user=dialer",
            "E2E ROUTE next-hop sip:15551230000@",
            "E2E ROUTE in-dialog BYE",
        ):
            assert line in log, log


@needs_sipp
@needs_kamailio
def test_kamailio_without_next_hop_rejects_unknown_users(tmp_path: Path) -> None:
    with Kamailio.start(users={}, challenge_invites=False, workdir=tmp_path / "kam") as proxy:
        with Sipp.start_uac("uac_expect_reject", proxy.address, workdir=tmp_path / "uac") as uac:
            assert uac.wait(20) == 0, uac.report() + proxy.log_tail()
        assert [m.status for m in uac.messages() if m.status] == [404]
        assert any("E2E REJECT sip:service@" in line for line in proxy.routing_log())


async def test_wait_async_lets_the_event_loop_run(tmp_path: Path) -> None:
    if shutil.which("sipp") is None:
        pytest.skip("sipp not installed (apt package sip-tester)")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    with Sipp.start_uas("echo_answer", calls=1, workdir=tmp_path / "uas") as uas:
        ticker = asyncio.create_task(tick())
        with _call(uas, "uac_call", tmp_path, call_duration_ms=300) as uac:
            assert await uac.wait_async(20) == 0, uac.report()
        ticker.cancel()
        assert await uas.wait_async(10) == 0
    assert ticks >= 10


@needs_sipp
@needs_kamailio
@needs_baresip
def test_kamailio_routes_a_call_to_a_registered_baresip(tmp_path: Path) -> None:
    users = {"dialer": "secret", "agent": "agentpw"}
    with (
        Kamailio.start(users=users, workdir=tmp_path / "kamailio") as proxy,
        Baresip.start(
            registrar=proxy.address, password="agentpw", workdir=tmp_path / "baresip"
        ) as phone,
    ):
        proxy.wait_for_log("E2E REGISTERED agent")
        call = Sipp.start_uac(
            "uac_auth_call", proxy.address, service="agent", auth=("dialer", "secret"),
            call_duration_ms=500, workdir=tmp_path / "call",
        )  # fmt: skip
        with call:
            assert call.wait(20) == 0, call.report() + proxy.log_tail() + phone.log_tail()
        phone.wait_for_log("Call established")
        assert any("E2E ROUTE registered agent" in line for line in proxy.routing_log())


# --------------------------------------------------------------------------- baresip


@needs_sipp
@needs_baresip
def test_baresip_auto_answers_and_records_what_it_hears(tmp_path: Path) -> None:
    uac_dir = tmp_path / "uac"
    uac_dir.mkdir()
    write_ulaw(uac_dir / "prompt.ulaw", tone_pcm16(1000.0, 1.0, dbfs=-10.0))
    with Baresip.start(workdir=tmp_path / "baresip") as phone:
        call = Sipp.start_uac(
            "uac_stream_prompt", phone.address, service="agent", call_duration_ms=2000,
            workdir=uac_dir,
        )  # fmt: skip
        with call:
            phone.wait_for_log("Call established")
            assert "Active calls (1)" in phone.command("listcalls")
            assert call.wait(20) == 0, call.report() + phone.log_tail()
        phone.wait_for_log("terminated")  # the dump's WAV header is final once the call ends

        heard, rate = read_wav_pcm16(phone.recordings("dec")[-1])
        assert rate == 8000
        assert heard.size >= rate  # at least a second of the 2 s stream
        assert rms_dbfs(heard) > -25.0
        assert abs(dominant_frequency(heard, rate) - 1000.0) < 20.0

        said, rate = read_wav_pcm16(phone.recordings("enc")[-1])
        assert rms_dbfs(said) > -35.0
        assert abs(dominant_frequency(said, rate) - 440.0) < 20.0
