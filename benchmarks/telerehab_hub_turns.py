"""The live hub's CPU per batch: a turn's batches together (``LiveHub.on_batches``) against the
same batches one at a time (``LiveHub.on_batch``, what the tap did before), on the same input.

N sessions each get the simulator's 27-channel, 10-sample batches of a healthy gait (100 Hz),
10 a second of session time, and the hub shows them as the live tap does: every session's next
batch, in turns of ``--turn`` batches (the MQTT worker taps a whole read of the broker's socket
in one turn of the event loop; at 200-300 live sessions most batches came in turns of 10-40).
Each form runs in a fresh hub, taking turns with the other, and the CPU time of the process per
batch is reported (median of the rounds), with the rolling gait analysis included (it runs once
per 5 s of each session, as live).

    uv run python benchmarks/telerehab_hub_turns.py
    uv run python benchmarks/telerehab_hub_turns.py --sessions 300 --turn 1 16 40
"""

from __future__ import annotations

import argparse
import statistics
import time

from exoshare.demo.gait_profiles import healthy_profile
from exoshare.demo.gait_simulator import VirtualExoskeleton
from exoshare.telemetry.protocol import SampleBatch, decode, encode, parse_message
from exoshare.telerehab.alerts import AlertRules
from exoshare.telerehab.live import LiveHub

FS = 100.0
WARMUP_BATCHES = 20


def _stream(seconds: float) -> list[SampleBatch]:
    """One session's batches as the hub gets them from the wire (decoded, float64)."""
    exo = VirtualExoskeleton(healthy_profile(), seed=1)
    names = exo.channel_names()
    n_batches = int(seconds * 10)
    signals = exo.next_batch(n_batches * 10)
    out = []
    for seq in range(n_batches):
        values = {name: signals[name][seq * 10 : (seq + 1) * 10] for name in names}
        batch = SampleBatch("live", seq, seq / 10.0, 10, values)
        message = parse_message(decode(encode(batch.to_wire())))
        assert isinstance(message, SampleBatch)
        out.append(message)
    return out


def _cpu_us_per_batch(stream: list[SampleBatch], sessions: int, turn: int) -> float:
    """Process CPU per batch past the warm-up, every session fed ``stream``; ``turn`` 0 takes
    the batches one at a time."""
    hub = LiveHub()
    lives = [
        hub.follow(f"therapy-{i}", f"telemetry-{i}", FS, 0.0, AlertRules()) for i in range(sessions)
    ]
    spent = 0.0
    for seq, batch in enumerate(stream):
        now = seq / 10.0
        started = time.process_time()
        if turn == 0:
            for live in lives:
                hub.on_batch(live, batch, received_wall_s=now)
        else:
            for first in range(0, sessions, turn):
                hub.on_batches([(live, batch) for live in lives[first : first + turn]], now)
        if seq >= WARMUP_BATCHES:
            spent += time.process_time() - started
    return spent / ((len(stream) - WARMUP_BATCHES) * sessions) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--turn", type=int, nargs="+", default=[1, 16, 40])
    parser.add_argument("--seconds", type=float, default=12.0, help="session time per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    stream = _stream(args.seconds)
    print(
        f"{args.sessions} sessions, {args.seconds:g} s of 100 Hz batches each, "
        f"{args.rounds} rounds (median)"
    )
    print("batches per turn | one at a time µs/batch | in turns µs/batch | ratio")
    for turn in args.turn:
        alone, together = [], []
        for _ in range(args.rounds):
            alone.append(_cpu_us_per_batch(stream, args.sessions, 0))
            together.append(_cpu_us_per_batch(stream, args.sessions, turn))
        a, t = statistics.median(alone), statistics.median(together)
        print(f"{turn} | {a:.1f} | {t:.1f} | {a / t:.2f}×")


if __name__ == "__main__":
    main()
