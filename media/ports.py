"""RTP port allocation from a configured range.

A port is reserved in the pool (never handed out twice while held) and checked by
binding a throwaway socket, so ports taken by other programs are skipped. The
caller binds it for real right after; the pool keeps no socket. Ports are handed
out round-robin so a just-released port is not reused at once (late packets of
the previous call would land in the next one).
"""

from __future__ import annotations

import socket
from typing import Final

__all__ = ["RtpPortPool", "RtpPortsExhausted"]

_ANY_HOSTS: Final = {"", "0.0.0.0", "::"}


class RtpPortsExhausted(RuntimeError):
    """Every even port of the range is in use (or taken by another program)."""


class RtpPortPool:
    """Even UDP ports in [start, end] (RTP convention: RTP even, RTCP the odd one above)."""

    def __init__(self, host: str, start: int, end: int) -> None:
        if not 0 < start <= end <= 65535:
            raise ValueError(f"bad RTP port range {start}..{end}")
        first = start + (start % 2)
        if first > end:
            raise ValueError(f"RTP port range {start}..{end} has no even port")
        self.host = host
        self._ports = list(range(first, end + 1, 2))
        self._next = 0
        self._in_use: set[int] = set()
        self._family = socket.AF_INET6 if ":" in host else socket.AF_INET

    @property
    def capacity(self) -> int:
        return len(self._ports)

    @property
    def in_use(self) -> int:
        return len(self._in_use)

    def is_reserved(self, port: int) -> bool:
        return port in self._in_use

    def acquire(self) -> int:
        """Reserve the next free port that binds right now. Raises RtpPortsExhausted."""
        for _ in range(len(self._ports)):
            port = self._ports[self._next]
            self._next = (self._next + 1) % len(self._ports)
            if port in self._in_use:
                continue
            if self._binds(port):
                self._in_use.add(port)
                return port
        raise RtpPortsExhausted(
            f"no free RTP port in {self._ports[0]}..{self._ports[-1]} "
            f"({len(self._in_use)} in use by us)"
        )

    def release(self, port: int) -> None:
        """Give a port back. Releasing a port not held is a no-op (close paths may repeat)."""
        self._in_use.discard(port)

    def _binds(self, port: int) -> bool:
        host = "::" if self._family == socket.AF_INET6 and self.host in _ANY_HOSTS else self.host
        with socket.socket(self._family, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((host or "0.0.0.0", port))
            except OSError:
                return False
        return True
