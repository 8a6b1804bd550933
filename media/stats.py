"""RTP receive and send statistics (RFC 3550 appendix A.1, A.3 and A.8).

`RtpStreamStats` follows the RFC's per-source algorithm: sequence validation with
MAX_DROPOUT / MAX_MISORDER, a cycle count for wraps, expected vs received, and the
interarrival jitter estimate J += (|D| - J) / 16, computed in timestamp units from
an arrival time the caller passes in (seconds, any monotonic origin).

As in the RFC, `packets_received` counts late and duplicate packets too, so
`packets_lost` may go negative; duplicates and out-of-order arrivals are also
counted separately (a duplicate is detected within the last 512 sequence numbers).

A new SSRC (the far end restarted its stream, or a re-INVITE moved the call) folds
the old source's expected/received counts into the totals and starts over.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final

__all__ = ["RtpStatsSnapshot", "RtpStreamStats"]

SEQ_MOD: Final = 1 << 16
MAX_DROPOUT: Final = 3000
MAX_MISORDER: Final = 100
_HISTORY: Final = 512  # sequence numbers remembered for duplicate detection
_LOST_MIN: Final = -(1 << 23)  # the RR's cumulative-lost field is a signed 24-bit integer
_LOST_MAX: Final = (1 << 23) - 1


@dataclass(frozen=True, slots=True)
class RtpStatsSnapshot:
    """A point-in-time copy of one session's counters."""

    ssrc: int | None  # the far end's current SSRC, None before the first packet
    packets_expected: int
    packets_received: int
    packets_lost: int  # cumulative, RFC 3550 A.3 (clamped to 24 bits, may be negative)
    fraction_lost: float  # of the last interval closed by `close_report_interval`, 0..1
    loss_ratio: float  # cumulative lost / expected, 0..1
    jitter_ms: float  # interarrival jitter, RFC 3550 A.8
    duplicates: int
    out_of_order: int
    octets_received: int  # payload octets
    packets_sent: int
    octets_sent: int  # payload octets, as in an RTCP sender report
    malformed: int = 0  # datagrams dropped as not RTP (counted by the session)
    rtcp: int = 0  # RTCP datagrams received and ignored (counted by the session)

    def to_dict(self) -> dict[str, int | float | None]:
        return asdict(self)


class RtpStreamStats:
    """Counters for one RTP session: what arrived (from one source at a time) and what was sent."""

    # Slots: touched for every packet of every call, so keep them few cache lines.
    __slots__ = (
        "_bad_seq",
        "_base_seq",
        "_clock_rate",
        "_cycles",
        "_expected_prior",
        "_jitter",
        "_last_arrival",
        "_last_timestamp",
        "_max_seq",
        "_prior_sources_expected",
        "_prior_sources_received",
        "_received",
        "_received_prior",
        "_seen",
        "_ssrc",
        "duplicates",
        "last_fraction_lost",
        "octets_received",
        "octets_sent",
        "out_of_order",
        "packets_sent",
    )

    def __init__(self, clock_rate: int = 8000) -> None:
        self._clock_rate = clock_rate
        self.packets_sent = 0
        self.octets_sent = 0
        self.octets_received = 0
        self.duplicates = 0
        self.out_of_order = 0
        self.last_fraction_lost = 0  # 8-bit fixed point, RFC 3550 A.3
        # Totals of previous sources (after an SSRC change).
        self._prior_sources_expected = 0
        self._prior_sources_received = 0
        self._reset_source(None)

    def _reset_source(self, ssrc: int | None) -> None:
        self._ssrc = ssrc
        self._base_seq = 0
        self._max_seq = 0
        self._cycles = 0
        self._bad_seq = SEQ_MOD + 1  # never equal to a real sequence number
        self._received = 0
        self._expected_prior = 0
        self._received_prior = 0
        self._jitter = 0.0  # in timestamp units
        self._last_arrival: float | None = None
        self._last_timestamp = 0
        self._seen: set[int] = set()

    def _init_sequence(self, seq: int) -> None:
        self._base_seq = seq
        self._max_seq = seq
        self._bad_seq = SEQ_MOD + 1
        self._cycles = 0
        self._received = 0
        self._received_prior = 0
        self._expected_prior = 0
        self._seen = set()

    # -- receive side -------------------------------------------------------------------

    def on_received(
        self,
        seq: int,
        timestamp: int,
        ssrc: int,
        payload_size: int,
        arrival: float,
        *,
        timing: bool = True,
    ) -> bool:
        """Account one arriving packet. Returns False when A.1's validation rejects it
        (a big sequence jump not yet confirmed by a second packet).

        `timing=False` leaves the jitter estimate alone: RFC 4733 events carry the
        event's start timestamp, not their sampling instant.
        """
        if ssrc == self._ssrc and seq == (self._max_seq + 1) & 0xFFFF:
            # The common case, the next packet in order: A.1 without its branches.
            if seq == 0:
                self._cycles += SEQ_MOD
            self._max_seq = seq
            self._remember(self._cycles + seq)
            self._received += 1
            self.octets_received += payload_size
            if timing:
                self._update_jitter(timestamp, arrival)
            return True
        if ssrc != self._ssrc:
            if self._ssrc is not None:
                self._prior_sources_expected += self._expected()
                self._prior_sources_received += self._received
            self._reset_source(ssrc)
            self._init_sequence(seq)
        elif not self._update_sequence(seq):
            return False
        self._received += 1
        self.octets_received += payload_size
        if timing:
            self._update_jitter(timestamp, arrival)
        return True

    def _update_sequence(self, seq: int) -> bool:
        """RFC 3550 A.1 update_seq (without the probation of new sources)."""
        udelta = (seq - self._max_seq) % SEQ_MOD
        extended = self._cycles + seq
        if 0 < udelta < MAX_DROPOUT:
            if seq < self._max_seq:
                self._cycles += SEQ_MOD
                extended = self._cycles + seq
            self._max_seq = seq
            self._remember(extended)
        elif udelta == 0:
            self.duplicates += 1
        elif udelta <= SEQ_MOD - MAX_MISORDER:
            # A very large jump: believe it only when the next packet follows it.
            if seq == self._bad_seq:
                self._prior_sources_expected += self._expected()
                self._prior_sources_received += self._received
                self._init_sequence(seq)
                self._remember(seq)
            else:
                self._bad_seq = (seq + 1) % SEQ_MOD
                return False
        else:
            # Late or duplicate: it belongs before max_seq, possibly in the previous cycle.
            if seq > self._max_seq:
                extended -= SEQ_MOD
            if extended in self._seen:
                self.duplicates += 1
            else:
                self.out_of_order += 1
                self._remember(extended)
        return True

    def _remember(self, extended: int) -> None:
        seen = self._seen
        seen.add(extended)
        if len(seen) > 2 * _HISTORY:
            floor = self._cycles + self._max_seq - _HISTORY
            self._seen = {n for n in seen if n > floor}

    def _update_jitter(self, timestamp: int, arrival: float) -> None:
        """RFC 3550 A.8 with the transit difference computed from deltas, so the
        32-bit timestamp wrap needs no special case."""
        last_arrival = self._last_arrival
        if last_arrival is not None:
            ts_delta = (timestamp - self._last_timestamp + 0x8000_0000) % (1 << 32) - 0x8000_0000
            d = (arrival - last_arrival) * self._clock_rate - ts_delta
            self._jitter += (abs(d) - self._jitter) / 16.0
        self._last_arrival = arrival
        self._last_timestamp = timestamp

    def _expected(self) -> int:
        if self._ssrc is None:
            return 0
        return self._cycles + self._max_seq - self._base_seq + 1

    @property
    def packets_expected(self) -> int:
        return self._prior_sources_expected + self._expected()

    @property
    def packets_received(self) -> int:
        return self._prior_sources_received + self._received

    @property
    def packets_lost(self) -> int:
        lost = self.packets_expected - self.packets_received
        return max(_LOST_MIN, min(_LOST_MAX, lost))

    @property
    def jitter_ms(self) -> float:
        return self._jitter * 1000.0 / self._clock_rate

    def close_report_interval(self) -> int:
        """RFC 3550 A.3 fraction lost since the previous call, as the RR's 8-bit value."""
        expected = self._expected()
        expected_interval = expected - self._expected_prior
        self._expected_prior = expected
        received_interval = self._received - self._received_prior
        self._received_prior = self._received
        lost_interval = expected_interval - received_interval
        if expected_interval == 0 or lost_interval <= 0:
            fraction = 0
        else:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        self.last_fraction_lost = fraction
        return fraction

    # -- send side ---------------------------------------------------------------------

    def on_sent(self, payload_size: int) -> None:
        self.packets_sent += 1
        self.octets_sent += payload_size

    def snapshot(self, *, malformed: int = 0, rtcp: int = 0) -> RtpStatsSnapshot:
        expected = self.packets_expected
        lost = self.packets_lost
        return RtpStatsSnapshot(
            ssrc=self._ssrc,
            packets_expected=expected,
            packets_received=self.packets_received,
            packets_lost=lost,
            fraction_lost=self.last_fraction_lost / 256.0,
            loss_ratio=max(0.0, lost / expected) if expected else 0.0,
            jitter_ms=self.jitter_ms,
            duplicates=self.duplicates,
            out_of_order=self.out_of_order,
            octets_received=self.octets_received,
            packets_sent=self.packets_sent,
            octets_sent=self.octets_sent,
            malformed=malformed,
            rtcp=rtcp,
        )
