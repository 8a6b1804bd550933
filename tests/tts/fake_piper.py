"""A stand-in for the `piper` program, for tests only: no Piper (nor any Piper voice) can be
installed on this machine, so its command-line contract is checked against this double.

It takes `--model M --output_file F --length_scale S`, reads the text on stdin, writes
a 16 kHz mono WAV of 0.25 s per word times the length scale, and appends its argv and
stdin as a JSON line to $FAKE_PIPER_LOG. With $FAKE_PIPER_FAIL set it exits 3.
"""

import json
import math
import os
import struct
import sys
import wave

arguments = sys.argv[1:]


def option(flag: str) -> str:
    return arguments[arguments.index(flag) + 1]


text = sys.stdin.read()
if os.environ.get("FAKE_PIPER_LOG"):
    with open(os.environ["FAKE_PIPER_LOG"], "a") as log:
        log.write(json.dumps({"argv": arguments, "stdin": text}) + "\n")
if os.environ.get("FAKE_PIPER_FAIL"):
    sys.stderr.write("fake piper: model failed to load\n")
    sys.exit(3)
if not os.path.isfile(option("--model")):
    sys.exit(2)
samples = int(16000 * 0.25 * len(text.split()) * float(option("--length_scale")))
with wave.open(option("--output_file"), "wb") as out:
    out.setnchannels(1)
    out.setsampwidth(2)
    out.setframerate(16000)
    tone = (int(8000 * math.sin(2 * math.pi * 200 * n / 16000)) for n in range(samples))
    out.writeframes(b"".join(struct.pack("<h", value) for value in tone))
