"""CPU per received message of the ingestion worker's MQTT client: MQTT 3.1.1 against v5.

The worker subscribes to every device topic in a shared-subscription group
(``$share/<group>/exoshare/v1/+/+/+``). Mosquitto and EMQX take that from a 3.1.1 client as from
a v5 one, so the protocol version is free to choose, and it costs: as v5, paho builds and parses
a properties object for every message it receives. This runs both versions, taking turns, on
the same input: a private Mosquitto on a free port, one subscriber, and a publisher process
sending ``--messages`` messages of ``--size`` bytes over 300 device topics. It prints the
subscriber process's CPU per message received and the ratio.

    uv run python benchmarks/mqtt_receive_versions.py
"""

from __future__ import annotations

import argparse
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

PUBLISHER = """
import sys, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
port, count, size = map(int, sys.argv[1:])
client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher")
client.connect("127.0.0.1", port)
client.loop_start()
payload = bytes(size)
for i in range(count):
    client.publish(f"exoshare/v1/ES-MAD-01/DEV-{i % 300:04d}/samples", payload, qos=0)
    if i % 500 == 0:
        time.sleep(0.01)  # a steady stream, not one burst the broker would have to queue
time.sleep(1.0)
client.loop_stop()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def receive(port: int, protocol: int, count: int, size: int) -> float:
    """Process CPU seconds per message while a subscriber of ``protocol`` receives them."""
    received = 0
    done = threading.Event()

    def on_message(*_: object) -> None:
        nonlocal received
        received += 1
        if received == count:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-worker", protocol=protocol)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe("$share/exoshare-ingest/exoshare/v1/+/+/+", 0)
    client.loop_start()
    time.sleep(0.3)
    publisher = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(port), str(count), str(size)]
    )
    before = _cpu_s()
    done.wait(120)
    spent = _cpu_s() - before
    client.loop_stop()
    client.disconnect()
    publisher.wait()
    if received != count:
        raise SystemExit(f"only {received} of {count} messages arrived; rerun on a quieter host")
    return spent / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--size", type=int, default=1200, help="bytes (a 27-channel batch)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("mosquitto") is None:
        raise SystemExit("needs the mosquitto binary (apt install mosquitto)")
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "mosquitto.conf"
        config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
        broker = subprocess.Popen(
            ["mosquitto", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(0.5)
        try:
            spent: dict[str, list[float]] = {"3.1.1": [], "5": []}
            for _ in range(args.rounds):
                spent["5"].append(receive(port, mqtt.MQTTv5, args.messages, args.size))
                spent["3.1.1"].append(receive(port, mqtt.MQTTv311, args.messages, args.size))
        finally:
            broker.terminate()
            broker.wait()
    v5, v311 = (statistics.median(spent[v]) * 1e6 for v in ("5", "3.1.1"))
    print(f"{args.messages} messages of {args.size} B, median of {args.rounds} rounds")
    print(f"MQTT 5:     {v5:.1f} µs of CPU per message received")
    print(f"MQTT 3.1.1: {v311:.1f} µs of CPU per message received")
    print(f"ratio (5 / 3.1.1): {v5 / v311:.2f}×")


if __name__ == "__main__":
    main()
