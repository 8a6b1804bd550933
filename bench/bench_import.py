"""Benchmark: parse_contacts on a generated 50,000-row contact list.

Rows mix number formats (national with punctuation, E.164, 00-prefixed, Excel
apostrophe, tel: URIs, a few GB/FR/DE numbers), about 5% duplicate numbers, 2%
invalid numbers, optional secondary phones, time zones and two attributes.
Each run clears the phone-parse cache first so the cost is a cold import.

    .venv/bin/python bench/bench_import.py --rows 50000 --repeat 3

Numbers, never pass/fail.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialer.contacts import phone
from dialer.contacts.csv_import import parse_contacts

_ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "", ""]


def _us_number(rng: random.Random) -> str:
    area = rng.choice(["212", "312", "415", "617", "713", "206", "305", "404"])
    exchange = rng.randint(200, 999)
    line = rng.randint(0, 9999)
    style = rng.randrange(6)
    if style == 0:
        return f"({area}) {exchange}-{line:04d}"
    if style == 1:
        return f"+1{area}{exchange}{line:04d}"
    if style == 2:
        return f"{area}.{exchange}.{line:04d}"
    if style == 3:
        return f"'{area}{exchange}{line:04d}"
    if style == 4:
        return f"tel:+1-{area}-{exchange}-{line:04d}"
    return f"1 {area} {exchange} {line:04d}"


def _foreign_number(rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:
        return f"+44 7911 {rng.randint(100000, 999999)}"
    if style == 1:
        return f"0033 6 {rng.randint(10000000, 99999999)}"
    return f"+49 30 {rng.randint(1000000, 9999999)}"


def generate(rows: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    out = ["customerName,phone,email,secondary_phone,timezone,plan,notes"]
    recent: list[str] = []
    for index in range(rows):
        roll = rng.random()
        if roll < 0.05 and recent:
            number = rng.choice(recent)
        elif roll < 0.07:
            number = f"555-{rng.randint(0, 99)}"  # invalid: too short
        elif roll < 0.17:
            number = _foreign_number(rng)
        else:
            number = _us_number(rng)
        recent = ([*recent, number])[-50:]
        secondary = _us_number(rng) if rng.random() < 0.3 else ""
        email = f"person{index}@example.com" if rng.random() < 0.8 else ""
        notes = '"called before, asked for ""Tuesday"""' if rng.random() < 0.1 else ""
        zone = rng.choice(_ZONES)
        plan = rng.choice(["gold", "silver", ""])
        out.append(f"Person {index},{number},{email},{secondary},{zone},{plan},{notes}")
    return ("\r\n".join(out) + "\r\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = generate(args.rows)
    print(f"{args.rows} rows, {len(data) / 1e6:.1f} MB")
    for run in range(args.repeat):
        phone._parse_cleaned.cache_clear()
        started = time.perf_counter()
        result = parse_contacts(data, default_region="US", max_rows=args.rows)
        seconds = time.perf_counter() - started
        print(
            f"run {run + 1}: {seconds:.2f} s, {args.rows / seconds:,.0f} rows/s "
            f"(imported {len(result.records)}, rejected {len(result.errors)}, "
            f"merged {result.merged_duplicates})"
        )


if __name__ == "__main__":
    main()
