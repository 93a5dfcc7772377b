"""Who may do what at the MQTT broker: the server identity and each device's topics.

One model for both brokers (the embedded amqtt broker checks it per message from a dict, the
Mosquitto files are generated from it): a device, known to the broker by its serial as
username and its credential secret as password, publishes only its own telemetry and reads only
its own commands and receipts, on the topics of the clinic that holds it; the server identity
(ingestion worker, receipts sender, command sender) reads all telemetry and alone publishes
commands and receipts.

>>> grant = device_grant("ES-MAD-01", "SX2-0001")
>>> "exoshare/v1/ES-MAD-01/SX2-0001/samples" in grant.publish
True
>>> "exoshare/v1/ES-MAD-01/SX2-0002/samples" in grant.publish
False
>>> server_may_publish("exoshare/v1/ES-MAD-01/SX2-0001/commands")
True
>>> server_may_publish("exoshare/v1/ES-MAD-01/SX2-0001/samples")
False
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from exoshare.config import Settings
from exoshare.telemetry.protocol import TOPIC_ROOT, topic

SERVER_USERNAME = "exoshare-server"
"""The broker identity of the exoshare server (ingestion, receipts, commands). No device serial
may take it: :func:`device_grant` refuses it."""

DEVICE_PUBLISHES = ("session", "samples", "events", "acks")
DEVICE_READS = ("commands", "receipts")
SERVER_PUBLISHES = frozenset(DEVICE_READS)
SERVER_SUBSCRIPTION_PREFIX = f"{TOPIC_ROOT}/"


def server_password(secret_key: str) -> str:
    """The server identity's broker password, derived from the server's secret key.

    Every process of one installation (web, storage child, CLI writing Mosquitto's files)
    derives the same password without storing another secret; rotating the secret key rotates
    it (then run ``exoshare broker sync``).
    """
    digest = hmac.new(secret_key.encode(), b"exoshare mqtt server identity v1", hashlib.sha256)
    return "exosrv_" + digest.hexdigest()


@dataclass(frozen=True)
class DeviceGrant:
    """The exact topics one device may publish to and subscribe to (no wildcards)."""

    serial: str
    org_unit_code: str
    publish: frozenset[str]
    subscribe: frozenset[str]


def device_grant(org_unit_code: str, serial: str) -> DeviceGrant:
    """The topics of device ``serial`` held by the clinic ``org_unit_code``.

    Raises ValueError for a serial or code that cannot be a topic level, or a serial that is
    the server's username.
    """
    if serial == SERVER_USERNAME:
        raise ValueError(f"{serial!r} is reserved for the server")
    return DeviceGrant(
        serial,
        org_unit_code,
        frozenset(topic(org_unit_code, serial, kind) for kind in DEVICE_PUBLISHES),
        frozenset(topic(org_unit_code, serial, kind) for kind in DEVICE_READS),
    )


def server_may_publish(name: str) -> bool:
    """Commands and receipts to any device, nothing else."""
    parts = name.split("/")
    return (
        len(parts) == 5
        and name.startswith(SERVER_SUBSCRIPTION_PREFIX)
        and parts[4] in SERVER_PUBLISHES
        and all(parts)
    )


def server_may_subscribe(topic_filter: str) -> bool:
    """Anything under the protocol root (the worker subscribes ``exoshare/v1/+/+/+``), also as
    a member of a shared-subscription group (``$share/<group>/exoshare/v1/+/+/+``).

    Mosquitto checks a shared subscription against the filter after ``$share/<group>/``, so
    its ACL line ``topic read exoshare/v1/#`` allows both already.

    >>> server_may_subscribe("$share/exoshare-ingest/exoshare/v1/+/+/+")
    True
    >>> server_may_subscribe("$share/exoshare-ingest/$SYS/#")
    False
    """
    if topic_filter.startswith("$share/"):
        parts = topic_filter.split("/", 2)
        if len(parts) < 3 or not parts[1] or any(c in parts[1] for c in "+#"):
            return False
        topic_filter = parts[2]
    return topic_filter.startswith(SERVER_SUBSCRIPTION_PREFIX)


def installation_server_password(settings: Settings) -> str:
    """The server identity's broker password of this installation's settings."""
    return server_password(settings.resolved_secret_key())
