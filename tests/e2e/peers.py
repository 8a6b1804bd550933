"""Real SIP peers on loopback for end-to-end tests and benchmarks: SIPp, Kamailio, baresip.

Every peer listens on 127.0.0.1 only (baresip's resolver sockets aside, see below), runs in
its own session (process group) under coreutils `timeout` (a hard time limit even if the test
process dies), and `stop()` / `__exit__` kill the whole group: SIGTERM, then SIGKILL.
`start*()` returns once the peer's sockets are bound, seen in /proc/net/{udp,tcp} with inodes
owned by the peer's process group (never a sleep).

Gotchas measured on this machine (SIPp 3.6.1, baresip 1.0.0, Kamailio 5.6.3):

SIPp 3.6.1
- `-timeout` does not end SIPp while a call waits in a long `<recv timeout=...>`: it stops new
  calls and waits. SIGTERM ends it at once and still writes the screen/stat files; SIGUSR1
  waits for calls. Hence the `timeout` wrapper as the hard limit.
- `-timeout` reached with no call running exits 97; 0 = all calls succeeded, 1 = some failed,
  255 = fatal (bad scenario, bind failure), 124 = our hard limit (99 = no call, per its docs).
- `<verifyauth>` reads only `Authorization:`, never `Proxy-Authorization:`, and 3.6.1 knows
  only MD5 (SHA-256 is refused by both verifyauth and `[authentication]`). So challenge_407*
  check the header's shape in SIPp and the digest in Python: `Sipp.credential_problems()`.
- A variable assigned but referenced only once is a load error ("Variable $x is referenced 1
  times!"): give every ereg capture a second use.
- `<nop next="label"/>` without `test=` stalls the call; put `next=` on the `<send>` instead.
- `[last_cseq_number]` is 0 in a UAS `<assignstr>`; capture the CSeq with `<ereg>` instead.
- `<ereg>` regexps and other attributes get no `[key]` substitution; message text,
  `<log message>` and verifyauth's username/password do.
- SIPp binds the media port AND media port + 2 (`-mp`), with or without `-rtp_echo`, and
  `rtp_stream` sends from `-mp` (`[rtpstream_audio_port]` in the SDP). `rtp_stream` wants raw
  headerless u-law; its file path is relative to SIPp's working directory (our workdir).
- The control socket (`-cp`, UDP, default 8888) binds all interfaces unless `-ci` is given.
- Over TCP, a peer closing the connection fails any SIPp call still in `<timewait>` or a pause:
  our scenarios end on their last message, with no timewait.

baresip 1.0.0
- Needs `net_interface 127.0.0.1`; still opens two DNS-client UDP sockets on 0.0.0.0/[::]
  ephemeral ports (libre's resolver), which no option removes.
- SIP over TLS listens on sip_listen port + 1 (even without a certificate): keep it free.
- `ausine` supports only 48 kHz and fails the call at 8 kHz: we play a generated WAV with
  `aufile` instead. `aufile` has no player/recorder in 1.0.0, and at end of file it ENDS THE
  CALL: the default source is a tone as long as the process may live.
- Recording is the `sndfile` audio filter: `snd_path/dump-<time>-dec.wav` (what it heard) and
  `-enc.wav` (what it sent), named to the second; the header is final when the call ends.
- No sound card: `audio_player alsa,null`. Call control needs `ctrl_tcp` AND `menu` (commands
  come from menu); ctrl_tcp speaks netstrings of JSON.

Kamailio 5.6.3
- The TCP listener lives in the TCP main child, not the first process: readiness is checked
  across the whole process group. `-DD -E` keeps it in the foreground logging to stderr.
- Digest auth without a database: `pv_auth_check(realm, "$var(password)", "0", "0")` with the
  password chosen by `$au` in route[PASSWORD] (generated from `users`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from tests.e2e.audio_fixtures import (
    Pcm16,
    dominant_frequency,
    read_wav_pcm16,
    rms_dbfs,
    tone_pcm16,
    ulaw_encode,
    write_ulaw,
    write_wav,
)
from tests.e2e.sip_trace import TracedMessage, digest_problems, parse_message_trace

# fmt: off
__all__ = [
    "BUILTIN_UAS", "LOOPBACK", "SCENARIO_DIR", "Baresip", "Kamailio", "Pcm16", "PeerError",
    "PeerProcess", "Sipp", "TracedMessage", "digest_problems", "dominant_frequency",
    "free_rtp_port", "free_sip_port", "free_tcp_port", "free_udp_port", "parse_message_trace",
    "read_wav_pcm16", "require_binary", "rms_dbfs", "tone_pcm16", "ulaw_encode", "write_ulaw",
    "write_wav",
]
# fmt: on

LOOPBACK = "127.0.0.1"
E2E_DIR = Path(__file__).resolve().parent
SCENARIO_DIR = E2E_DIR / "scenarios"
KAMAILIO_TEMPLATE = E2E_DIR / "kamailio" / "kamailio.cfg"
BUILTIN_UAS = "builtin-uas"
_POLL_S = 0.02
_GRACE_S = 3.0  # SIGTERM to SIGKILL
_HARD_LIMIT_MARGIN_S = 5.0  # the `timeout` wrapper's limit beyond the peer's own guard
_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_.+-]+$")

Transport = Literal["u1", "t1"]


class PeerError(RuntimeError):
    """A peer failed to start, did not end in time, or misbehaved; carries its log tail."""


def require_binary(name: str) -> str:
    """The binary's path; PeerError if missing (tests turn that into a skip)."""
    path = shutil.which(name)
    if path is None:
        raise PeerError(f"{name} is not installed")
    return path


# --------------------------------------------------------------------------- ports


def _port_pool() -> tuple[int, int]:
    """A range below the kernel's ephemeral one, so no outgoing socket can take our port."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return (10000, low) if low > 12000 else (50000, 65000)


def _bindable(host: str, port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str, *, udp: Sequence[int], tcp: Sequence[int], step: int = 1) -> int:
    """A port p (multiple of `step`) with p+offset free for every UDP and TCP offset given."""
    low, high = _port_pool()
    for _ in range(500):
        port = random.randrange(low, high - 8) // step * step
        if all(_bindable(host, port + o, socket.SOCK_DGRAM) for o in udp) and all(
            _bindable(host, port + o, socket.SOCK_STREAM) for o in tcp
        ):
            return port
    raise PeerError(f"no free port on {host}")


def free_udp_port(host: str = LOOPBACK) -> int:
    return _free_port(host, udp=(0,), tcp=())


def free_tcp_port(host: str = LOOPBACK) -> int:
    return _free_port(host, udp=(), tcp=(0,))


def free_sip_port(host: str = LOOPBACK) -> int:
    """Free on UDP and TCP, and port + 1 free on TCP (baresip's TLS listener)."""
    return _free_port(host, udp=(0,), tcp=(0, 1))


def free_rtp_port(host: str = LOOPBACK) -> int:
    """An even port with p .. p+3 free on UDP (RTP/RTCP; SIPp binds p and p + 2)."""
    return _free_port(host, udp=(0, 1, 2, 3), tcp=(), step=2)


# --------------------------------------------------------------------------- /proc sockets


def _group_socket_inodes(pgid: int) -> set[str]:
    inodes: set[str] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat[stat.rindex(")") + 2 :].split()[2]) != pgid:
                continue
            for fd in (entry / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except (OSError, ValueError):
            continue  # the process ended while we looked
    return inodes


def _port_inodes(proto: Literal["udp", "tcp"], host: str, port: int) -> set[str]:
    """Inodes of sockets bound to host:port (TCP: listening only)."""
    packed = socket.inet_aton(host)[::-1].hex().upper()  # /proc shows little-endian IPv4
    wanted = f"{packed}:{port:04X}"
    found: set[str] = set()
    for line in Path(f"/proc/net/{proto}").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and (proto == "udp" or fields[3] == "0A"):
            found.add(fields[9])
    return found


# --------------------------------------------------------------------------- processes


class PeerProcess:
    """A peer running in its own process group under `timeout`; always ends, always reaped."""

    name = "peer"

    def __init__(
        self, argv: Sequence[str], *, workdir: Path, owns_workdir: bool, time_limit_s: float
    ) -> None:
        self.workdir = workdir
        self._owns_workdir = owns_workdir
        self.log_path = workdir / f"{self.name}.out"
        limit = f"{time_limit_s + _HARD_LIMIT_MARGIN_S:.0f}s"
        with self.log_path.open("wb") as log:
            self._popen = subprocess.Popen(
                ["timeout", "--kill-after=3", limit, *argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                start_new_session=True,
            )
        self.argv = list(argv)
        self._returncode: int | None = None

    @property
    def pid(self) -> int:
        return self._popen.pid

    def _exited(self) -> bool:
        """Whether the group leader ended, without reaping it (its pid keeps the group id ours)."""
        if self._returncode is not None:
            return True
        info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        return info is not None and info.si_pid == self.pid

    def _reap(self) -> int:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)  # stragglers; safe: the leader is not reaped yet
        self._returncode = self._popen.wait()
        return self._returncode

    def wait(self, timeout: float) -> int:
        """The exit code once the peer ends by itself; PeerError if it is still running."""
        deadline = time.monotonic() + timeout
        while not self._exited():
            if time.monotonic() > deadline:
                raise PeerError(f"{self.name} still running after {timeout} s\n{self.log_tail()}")
            time.sleep(_POLL_S)
        return self._returncode if self._returncode is not None else self._reap()

    async def wait_async(self, timeout: float) -> int:
        """wait() for async tests: polls without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while not self._exited():
            if time.monotonic() > deadline:
                raise PeerError(f"{self.name} still running after {timeout} s\n{self.log_tail()}")
            await asyncio.sleep(_POLL_S)
        return self._returncode if self._returncode is not None else self._reap()

    @property
    def returncode(self) -> int | None:
        if self._returncode is None and self._exited():
            self._reap()
        return self._returncode

    def stop(self) -> None:
        """End the whole group now (SIGTERM, then SIGKILL) and reap it. Idempotent."""
        if self._returncode is None:
            if not self._exited():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGTERM)
                deadline = time.monotonic() + _GRACE_S
                while not self._exited() and time.monotonic() < deadline:
                    time.sleep(_POLL_S)
            self._reap()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def log_text(self) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def _log_line(self, pattern: re.Pattern[str]) -> str | None:
        return next((line for line in self.log_text().splitlines() if pattern.search(line)), None)

    def wait_for_log(self, needle: str | re.Pattern[str], timeout: float = 10.0) -> str:
        """The first log line matching `needle` (substring or regex), waiting for it."""
        pattern = needle if isinstance(needle, re.Pattern) else re.compile(re.escape(needle))
        deadline = time.monotonic() + timeout
        while (line := self._log_line(pattern)) is None:
            if self._exited() or time.monotonic() > deadline:
                raise PeerError(f"{self.name}: no log line {pattern.pattern!r}\n{self.log_tail()}")
            time.sleep(_POLL_S)
        return line

    async def wait_for_log_async(self, needle: str | re.Pattern[str], timeout: float = 10.0) -> str:
        """wait_for_log() for async tests: polls without blocking the event loop."""
        pattern = needle if isinstance(needle, re.Pattern) else re.compile(re.escape(needle))
        deadline = time.monotonic() + timeout
        while (line := self._log_line(pattern)) is None:
            if self._exited() or time.monotonic() > deadline:
                raise PeerError(f"{self.name}: no log line {pattern.pattern!r}\n{self.log_tail()}")
            await asyncio.sleep(_POLL_S)
        return line

    def _await_sockets(
        self, wanted: Iterable[tuple[Literal["udp", "tcp"], int]], timeout: float
    ) -> None:
        """Return once every (proto, port) is bound on loopback by our group; else PeerError."""
        pending = list(wanted)
        deadline = time.monotonic() + timeout
        while pending:
            if self._exited():
                raise PeerError(f"{self.name} exited while starting\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise PeerError(f"{self.name} not listening on {pending}\n{self.log_tail()}")
            candidates = {p: _port_inodes(p[0], LOOPBACK, p[1]) for p in pending}
            if any(candidates.values()):
                ours = _group_socket_inodes(self.pid)
                pending = [p for p in pending if not candidates[p] & ours]
            if pending:
                time.sleep(_POLL_S)


def _workdir(workdir: Path | None, prefix: str) -> tuple[Path, bool]:
    if workdir is not None:  # absolute: the peer runs in it, and gets paths into it
        workdir.mkdir(parents=True, exist_ok=True)
        return workdir.resolve(), False
    return Path(tempfile.mkdtemp(prefix=f"e2e-{prefix}-")), True


# --------------------------------------------------------------------------- SIPp


class Sipp(PeerProcess):
    """A running SIPp. Scenarios are tests/e2e/scenarios/NAME.xml, a Path, or "builtin-uas"."""

    name = "sipp"
    DEFAULT_KEYS: Mapping[str, str] = {
        "caller": "sipp",
        "auth_user": "dialer",
        "auth_pass": "secret",
        "redirect_user": "redirected",
        "redirect_port": "5060",
        "reg_expires": "10",
        "contact_port": "5060",
    }

    port: int
    media_port: int
    transport: Transport

    @classmethod
    def start_uas(
        cls,
        scenario: str | Path = "echo_answer",
        *,
        port: int | None = None,
        transport: Transport = "u1",
        media_port: int | None = None,
        rtp_echo: bool = False,
        calls: int | None = None,
        keys: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = (),
        timeout_s: float = 60.0,
        workdir: Path | None = None,
        trace_messages: bool = True,
    ) -> Sipp:
        """Start a UAS and return once it listens. `calls` (-m) makes it exit after N calls;
        without it, it ends at `timeout_s` (exit code 97) or on stop()."""
        args = ["-rtp_echo"] if rtp_echo else []
        if calls is not None:
            args += ["-m", str(calls)]
        for attempt in range(3):
            # fmt: off
            sipp = cls._spawn(scenario, None, [*args, *extra_args], port, transport, media_port,
                              keys, timeout_s, workdir, trace_messages)
            # fmt: on
            proto: Literal["udp", "tcp"] = "udp" if transport == "u1" else "tcp"
            try:
                sipp._await_sockets([(proto, sipp.port), ("udp", sipp.media_port)], timeout=10.0)
            except PeerError:
                sipp.stop()
                if attempt == 2 or (port is not None and media_port is not None):
                    raise
                continue  # a port we picked was taken meanwhile: pick again
            return sipp
        raise AssertionError("unreachable")

    @classmethod
    def start_uac(
        cls,
        scenario: str | Path,
        target: str | tuple[str, int],
        *,
        service: str = "service",
        port: int | None = None,
        transport: Transport = "u1",
        media_port: int | None = None,
        calls: int = 1,
        rate: float | None = None,
        call_duration_ms: int = 0,
        auth: tuple[str, str] | None = None,
        keys: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = (),
        timeout_s: float = 60.0,
        workdir: Path | None = None,
        trace_messages: bool = True,
    ) -> Sipp:
        """Start a UAC placing `calls` calls to `target` (R-URI user `service`); `-d` is
        `call_duration_ms` (the length of scenario `<pause/>`s); `auth` is -au/-ap."""
        host, tport = target if isinstance(target, tuple) else target.rsplit(":", 1)
        args = ["-s", service, "-m", str(calls), "-d", str(call_duration_ms)]
        if rate is not None:
            args += ["-r", str(rate)]
        if auth is not None:
            args += ["-au", auth[0], "-ap", auth[1]]
        # fmt: off
        return cls._spawn(scenario, f"{host}:{tport}", [*args, *extra_args], port, transport,
                          media_port, keys, timeout_s, workdir, trace_messages)
        # fmt: on

    @classmethod
    def _spawn(
        cls,
        scenario: str | Path,
        target: str | None,
        args: Sequence[str],
        port: int | None,
        transport: Transport,
        media_port: int | None,
        keys: Mapping[str, str] | None,
        timeout_s: float,
        workdir: Path | None,
        trace_messages: bool,
    ) -> Sipp:
        binary = require_binary("sipp")
        if scenario == BUILTIN_UAS:
            scenario_args, label = ["-sn", "uas"], "uas"
        else:
            path = (
                Path(scenario) if isinstance(scenario, Path) else SCENARIO_DIR / f"{scenario}.xml"
            )
            if not path.is_file():
                raise PeerError(f"no SIPp scenario {path}")
            scenario_args, label = ["-sf", str(path)], path.stem
        wd, owns = _workdir(workdir, f"sipp-{label}")
        sip_port = port if port is not None else free_sip_port()
        rtp_port = media_port if media_port is not None else free_rtp_port()
        files = {
            f: wd / f"{label}-{sip_port}-{f}"
            for f in ("messages.log", "errors.log", "screen.log", "stats.csv", "actions.log")
        }
        # fmt: off
        argv = [binary, *([target] if target else []), *scenario_args,
            "-i", LOOPBACK, "-bind_local", "-p", str(sip_port), "-t", transport,
            "-mi", LOOPBACK, "-mp", str(rtp_port), "-ci", LOOPBACK, "-cp", str(free_udp_port()),
            "-nostdin", "-timeout", f"{timeout_s:.0f}s",
            "-trace_err", "-error_file", str(files["errors.log"]),
            "-trace_screen", "-screen_file", str(files["screen.log"]),
            "-trace_stat", "-stf", str(files["stats.csv"]),
            "-trace_logs", "-log_file", str(files["actions.log"])]
        # fmt: on
        if trace_messages:
            argv += ["-trace_msg", "-message_file", str(files["messages.log"])]
        for key, value in {**cls.DEFAULT_KEYS, **(keys or {})}.items():
            argv += ["-key", key, value]
        sipp = cls([*argv, *args], workdir=wd, owns_workdir=owns, time_limit_s=timeout_s)
        sipp.port, sipp.media_port, sipp.transport = sip_port, rtp_port, transport
        sipp.messages_path, sipp.errors_path = files["messages.log"], files["errors.log"]
        sipp.screen_path, sipp.stats_path = files["screen.log"], files["stats.csv"]
        sipp.actions_log_path = files["actions.log"]
        return sipp

    messages_path: Path
    errors_path: Path
    screen_path: Path
    stats_path: Path
    actions_log_path: Path

    @property
    def address(self) -> tuple[str, int]:
        return (LOOPBACK, self.port)

    def uri(self, user: str = "service") -> str:
        suffix = ";transport=tcp" if self.transport == "t1" else ""
        return f"sip:{user}@{LOOPBACK}:{self.port}{suffix}"

    def messages(self) -> list[TracedMessage]:
        return parse_message_trace(_read(self.messages_path))

    def errors_text(self) -> str:
        return _read(self.errors_path)

    def actions_log_text(self) -> str:
        """Lines written by the scenario's `<log>` actions."""
        return _read(self.actions_log_path)

    def screen_text(self) -> str:
        """SIPp's final screens (written when it exits)."""
        return _read(self.screen_path)

    def report(self) -> str:
        """Everything useful for an assertion message."""
        return f"errors:\n{self.errors_text()}\nscreen:\n{self.screen_text()[-3000:]}"

    def credential_problems(
        self, username: str, password: str, header: str = "Proxy-Authorization"
    ) -> list[str]:
        """Problems with the digest credentials in the requests SIPp received; [] if every
        request carrying `header` is right for username/password and at least one did."""
        carriers = [m for m in self.messages() if m.direction == "received" and m.header(header)]
        if not carriers:
            return [f"no received request carried {header}"]
        return [p for m in carriers for p in digest_problems(m, username, password, header)]


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


# --------------------------------------------------------------------------- Kamailio


class Kamailio(PeerProcess):
    """Registrar + record-routing proxy with digest auth (see tests/e2e/kamailio/kamailio.cfg).
    Each request/reply it handles is logged on a line containing "E2E "."""

    name = "kamailio"
    port: int
    realm: str

    @classmethod
    def start(
        cls,
        *,
        users: Mapping[str, str],
        next_hop: tuple[str, int] | None = None,
        port: int | None = None,
        challenge_invites: bool = True,
        realm: str = "e2e.test",
        timeout_s: float = 120.0,
        workdir: Path | None = None,
    ) -> Kamailio:
        """Start and return once UDP and TCP listen on 127.0.0.1:port. `users` maps auth user
        to password; INVITEs for unregistered R-URI users go to `next_hop` (else 404)."""
        binary = require_binary("kamailio")
        for token in [realm, *users, *users.values()]:
            if not _SAFE_TOKEN.match(token):
                raise ValueError(f"unsafe token for the Kamailio config: {token!r}")
        wd, owns = _workdir(workdir, "kamailio")
        sip_port = port if port is not None else free_sip_port()
        hop = f"sip:{next_hop[0]}:{next_hop[1]}" if next_hop else ""
        passwords = "\n".join(
            f'\tif ($au == "{user}") {{ $var(password) = "{pw}"; }}' for user, pw in users.items()
        )
        replacements = {
            "PORT": str(sip_port),
            "REALM": realm,
            "NEXT_HOP": hop,
            "CHALLENGE_INVITES": "1" if challenge_invites else "0",
            "PASSWORDS": passwords,
        }
        config = KAMAILIO_TEMPLATE.read_text()
        for name, value in replacements.items():
            config = config.replace("{{" + name + "}}", value)
        cfg = wd / "kamailio.cfg"
        cfg.write_text(config)
        # fmt: off
        argv = [binary, "-DD", "-E", "-f", str(cfg), "-w", str(wd), "-Y", str(wd),
                "-P", str(wd / "kamailio.pid"), "-n", "2", "-m", "32", "-M", "8"]
        # fmt: on
        kam = cls(argv, workdir=wd, owns_workdir=owns, time_limit_s=timeout_s)
        kam.port, kam.realm = sip_port, realm
        try:
            kam._await_sockets([("udp", sip_port), ("tcp", sip_port)], timeout=15.0)
        except PeerError:
            kam.stop()
            raise
        return kam

    @property
    def address(self) -> tuple[str, int]:
        return (LOOPBACK, self.port)

    def uri(self, user: str | None = None) -> str:
        return f"sip:{user + '@' if user else ''}{LOOPBACK}:{self.port}"

    def routing_log(self) -> list[str]:
        """The "E2E ..." lines: REQUEST/ROUTE/REPLY/CHALLENGE/AUTHORIZED/REGISTERED/REJECT."""
        return [
            line[line.index("E2E ") :] for line in self.log_text().splitlines() if "E2E " in line
        ]


# --------------------------------------------------------------------------- baresip


class Baresip(PeerProcess):
    """An agent softphone: auto-answers, plays a WAV (aufile), records what it hears (sndfile)."""

    name = "baresip"
    sip_port: int
    ctrl_port: int
    user: str
    record_dir: Path

    @classmethod
    def start(
        cls,
        *,
        sip_port: int | None = None,
        user: str = "agent",
        audio_in: Path | None = None,
        record_dir: Path | None = None,
        auto_answer: bool = True,
        registrar: tuple[str, int] | None = None,
        password: str | None = None,
        register_interval_s: int = 60,
        timeout_s: float = 60.0,
        workdir: Path | None = None,
    ) -> Baresip:
        """Start and return once SIP and the ctrl_tcp socket listen. `audio_in` is an 8 kHz
        mono 16-bit WAV (the call ENDS when it does); by default a 440 Hz tone at -20 dBFS
        lasting `timeout_s`. With `registrar` it REGISTERs there as `user`/`password`."""
        binary = require_binary("baresip")
        if not _SAFE_TOKEN.match(user) or (
            password is not None and not _SAFE_TOKEN.match(password)
        ):
            raise ValueError("user and password must be plain tokens")
        wd, owns = _workdir(workdir, "baresip")
        conf = wd / "config"
        conf.mkdir(exist_ok=True)
        recordings = record_dir if record_dir is not None else wd / "recordings"
        recordings.mkdir(parents=True, exist_ok=True)
        if audio_in is None:
            audio_in = wd / "agent-tone.wav"
            write_wav(audio_in, tone_pcm16(440.0, timeout_s + _HARD_LIMIT_MARGIN_S, dbfs=-20.0))
        port = sip_port if sip_port is not None else free_sip_port()
        ctrl = free_tcp_port()
        while ctrl in (port, port + 1):
            ctrl = free_tcp_port()
        rtp = free_rtp_port()
        (conf / "config").write_text(
            _BARESIP_CONFIG.format(
                sip_port=port,
                ctrl_port=ctrl,
                rtp_low=rtp,
                rtp_high=rtp + 40,
                audio_in=audio_in,
                snd_path=recordings,
            )
        )
        answer = "auto" if auto_answer else "manual"
        if registrar is None:
            account = f"<sip:{user}@{LOOPBACK}:{port}>;regint=0;answermode={answer}"
        else:
            auth = f";auth_pass={password}" if password else ""
            account = (
                f"<sip:{user}@{registrar[0]}:{registrar[1]}>{auth}"
                f";regint={register_interval_s};answermode={answer}"
            )
        (conf / "accounts").write_text(account + "\n")
        (conf / "contacts").write_text("")
        argv = [binary, "-4", "-f", str(conf), "-t", f"{timeout_s:.0f}"]
        phone = cls(argv, workdir=wd, owns_workdir=owns, time_limit_s=timeout_s)
        phone.sip_port, phone.ctrl_port, phone.user, phone.record_dir = port, ctrl, user, recordings
        try:
            phone._await_sockets([("udp", port), ("tcp", port), ("tcp", ctrl)], timeout=15.0)
        except PeerError:
            phone.stop()
            raise
        return phone

    @property
    def address(self) -> tuple[str, int]:
        return (LOOPBACK, self.sip_port)

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@{LOOPBACK}:{self.sip_port}"

    def command(self, command: str, params: str | None = None, timeout: float = 5.0) -> str:
        """Run a menu command over ctrl_tcp ("hangup", "listcalls", "dial", "accept", ...) and
        return its text; PeerError if baresip says it failed."""
        payload = json.dumps({"command": command, "params": params, "token": "e2e"}).encode()
        with socket.create_connection((LOOPBACK, self.ctrl_port), timeout=timeout) as sock:
            sock.sendall(b"%d:%s," % (len(payload), payload))
            buffer = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    raise PeerError(f"baresip closed ctrl_tcp during {command!r}")
                buffer += chunk
                while b":" in buffer:
                    length, _, rest = buffer.partition(b":")
                    if len(rest) < int(length) + 1:
                        break
                    message = json.loads(rest[: int(length)])
                    buffer = rest[int(length) + 1 :]
                    if message.get("response"):
                        if not message.get("ok"):
                            raise PeerError(f"baresip {command!r} failed: {message.get('data')}")
                        return str(message.get("data", ""))

    def recordings(self, kind: Literal["dec", "enc"] = "dec") -> list[Path]:
        """sndfile dumps, oldest first: "dec" is what the agent heard, "enc" what it sent."""
        return sorted(self.record_dir.glob(f"dump-*-{kind}.wav"))


_BARESIP_CONFIG = """\
poll_method\t\tepoll
sip_listen\t\t127.0.0.1:{sip_port}
net_interface\t\t127.0.0.1
dns_server\t\t127.0.0.1:53
call_local_timeout\t120
call_max_calls\t\t4
audio_player\t\talsa,null
audio_alert\t\talsa,null
audio_source\t\taufile,{audio_in}
rtp_ports\t\t{rtp_low}-{rtp_high}
rtcp_mux\t\tno
module_path\t\t/usr/lib/baresip/modules
module\t\t\tg711.so
module\t\t\taufile.so
module\t\t\talsa.so
module\t\t\tsndfile.so
module\t\t\tctrl_tcp.so
module_app\t\taccount.so
module_app\t\tmenu.so
snd_path\t\t{snd_path}
ctrl_tcp_listen\t\t127.0.0.1:{ctrl_port}
"""
