"""How long the far end has been quiet, from the audio it sends: ends a `<Record>`.

Quiet is a 20 ms frame whose RMS level is under `threshold_dbfs` (-45 dBFS by
default: well under speech, above a line's hiss). Counted in samples, not
seconds of wall time, so it is exact whatever the packet timing.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

SAMPLE_RATE = 8000
FULL_SCALE = 32768.0


class SilenceTimer:
    def __init__(self, timeout_s: float, *, threshold_dbfs: float = -45.0) -> None:
        self.timeout_samples = int(timeout_s * SAMPLE_RATE)
        self.threshold = FULL_SCALE * 10 ** (threshold_dbfs / 20)
        self.quiet_samples = 0
        self.heard_sound = False

    def on_frame(self, pcm: NDArray[np.int16]) -> bool:
        """Take one frame; True once the far end has been quiet for the timeout."""
        if len(pcm) == 0:
            return self.expired
        rms = float(np.sqrt(np.mean(np.square(pcm, dtype=np.float64))))
        if rms < self.threshold:
            self.quiet_samples += len(pcm)
        else:
            self.quiet_samples = 0
            self.heard_sound = True
        return self.expired

    @property
    def expired(self) -> bool:
        return self.timeout_samples > 0 and self.quiet_samples >= self.timeout_samples
