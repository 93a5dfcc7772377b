"""The rates a live network puts on each engine, measured on a short run: the inputs of the
capacity model in docs/scaling.md.

Runs :mod:`telerehab_live` (real servers, a private Mosquitto, PostgreSQL, N simulated 100 Hz
devices each watched by a browser) and prints, per live device and per 100 live sessions: server
CPU, broker messages (device → server, receipts → device), PostgreSQL transactions and rows
written, telemetry files written (one object-storage PUT each) and, with ``--processes 2``, Redis
commands.

    uv run python benchmarks/capacity_rates.py --sessions 50 --seconds 10
    uv run python benchmarks/capacity_rates.py --sessions 50 --seconds 10 --processes 2
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import telerehab_live  # the sibling benchmark, found through the line above


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--mqtt-url")
    parser.add_argument("--relay-url")
    args = parser.parse_args()
    args.profile = False
    args.relay_channel = None
    n = args.sessions
    load = os.getloadavg()[0]
    r = telerehab_live.run_one(args, "postgresql", n)
    rates = r["rates"]
    per_100 = 100 / n
    print(f"{n} live 100 Hz sessions, {args.processes} process(es), {args.seconds:g} s, "
          f"{os.cpu_count()} cores, load average {load:.2f} at the start")  # fmt: skip
    print(f"frames {r['frames']}/{r['expected']}, p99 {r['p99']:.0f} ms")
    rows = [
        ("server CPU, % of a core per live session", 100 * r["server_cores"] / n),
        ("  of which storage process", 100 * r["storage_cores"] / n),
        ("device messages to the servers per s, per device", rates["device_messages_per_s"] / n),
        ("receipt messages to the devices per s, per device", rates["receipt_messages_per_s"] / n),
        ("broker messages per s, per 100 sessions",
         (rates["device_messages_per_s"] + rates["receipt_messages_per_s"]) * per_100),
        ("PostgreSQL transactions per s, per 100 sessions",
         rates["db_transactions_per_s"] * per_100),
        ("PostgreSQL rows written per s, per 100 sessions", rates["db_rows_per_s"] * per_100),
        ("telemetry files (object PUTs) per s, in total", rates["object_puts_per_s"]),
        ("Redis commands per s, per 100 sessions", rates["redis_commands_per_s"] * per_100),
    ]  # fmt: skip
    for name, value in rows:
        print(f"{name:<55} {value:10.2f}")


if __name__ == "__main__":
    main()
