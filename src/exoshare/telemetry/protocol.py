"""The device wire protocol v1: message shapes, MQTT topics and the MessagePack/JSON codec.

Every message is a map with ``"v": 1`` and ``"type"``; see ``docs/protocol.md`` for the prose.
Sample values travel as little-endian float32 byte strings (MessagePack ``bin``), one per
channel, which is what makes MessagePack ~4x smaller than JSON here; JSON clients (a WebSocket
text frame) send plain number lists instead and both decode to the same arrays.

>>> batch = SampleBatch("s-1", 0, 1700000000.0, 2, {"knee_angle_left_deg": np.array([1.5, 2.5])})
>>> parse_message(decode(encode(batch.to_wire()))).values["knee_angle_left_deg"].tolist()
[1.5, 2.5]
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgpack
import numpy as np

from exoshare.errors import TelemetryRejected
from exoshare.telemetry.validation import check_sampling_rate

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
TOPIC_ROOT = "exoshare/v1"
TOPIC_KINDS = ("session", "samples", "events", "commands", "acks", "receipts")
"""Device → server: session, samples, events, acks. Server → device: commands, receipts."""
MQTT_QOS = 1
MAX_SESSION_ID_LENGTH = 64
MAX_BATCH_SAMPLES = 10_000
SAMPLE_DTYPE = np.dtype("<f4")
TIME_DTYPE = np.dtype("<f8")


def topic(org_unit_code: str, device_serial: str, kind: str) -> str:
    """``exoshare/v1/{org_unit_code}/{device_serial}/{kind}``.

    >>> topic("ES-MAD-01", "SX2-0001", "samples")
    'exoshare/v1/ES-MAD-01/SX2-0001/samples'
    """
    if kind not in TOPIC_KINDS:
        raise ValueError(f"unknown topic kind {kind!r}; one of {', '.join(TOPIC_KINDS)}")
    for part in (org_unit_code, device_serial):
        if not part or any(c in part for c in "/+#"):
            raise ValueError(f"{part!r} cannot be a topic level")
    return f"{TOPIC_ROOT}/{org_unit_code}/{device_serial}/{kind}"


def parse_topic(name: str) -> tuple[str, str, str]:
    """``(org_unit_code, device_serial, kind)`` of a protocol topic, or TelemetryRejected."""
    parts = name.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != TOPIC_ROOT or parts[4] not in TOPIC_KINDS:
        raise TelemetryRejected("malformed", f"{name!r} is not an exoshare/v1 topic")
    return parts[2], parts[3], parts[4]


# ---------------------------------------------------------------------------- codec


def encode(message: dict[str, Any]) -> bytes:
    """MessagePack bytes of one message."""
    return msgpack.packb(message, use_bin_type=True)


def encode_json(message: dict[str, Any]) -> bytes:
    """JSON bytes of one message; byte strings (packed samples) become number lists."""

    def plain(value: Any) -> Any:
        if isinstance(value, bytes):
            raise TypeError("binary values have no JSON form; use to_wire(binary=False)")
        return value

    return json.dumps(message, separators=(",", ":"), default=plain).encode()


def decode(payload: bytes | str) -> dict[str, Any]:
    """A message map from MessagePack (binary) or JSON (text starting with ``{``)."""
    try:
        if isinstance(payload, str) or payload[:1] == b"{":
            obj = json.loads(payload)
        else:
            obj = msgpack.unpackb(payload, raw=False, strict_map_key=True)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        detail = f"payload is neither MessagePack nor JSON: {exc}"
        raise TelemetryRejected("malformed", detail) from None
    if not isinstance(obj, dict):
        raise TelemetryRejected("malformed", "a message must be a map")
    return obj


def pack_values(values: np.ndarray) -> bytes:
    """Samples as little-endian float32 bytes (the binary form of one channel in a batch)."""
    return np.ascontiguousarray(values, dtype=SAMPLE_DTYPE).tobytes()


def _array(raw: Any, n: int, dtype: np.dtype[Any], field_name: str) -> np.ndarray:
    if isinstance(raw, bytes | bytearray):
        if len(raw) != n * dtype.itemsize:
            raise TelemetryRejected(
                "length-mismatch",
                f"{field_name} holds {len(raw) // dtype.itemsize} values, the batch says n={n}",
                field=field_name,
            )
        return np.frombuffer(raw, dtype=dtype).astype(np.float64)
    if isinstance(raw, list):
        if len(raw) != n:
            raise TelemetryRejected(
                "length-mismatch",
                f"{field_name} holds {len(raw)} values, the batch says n={n}",
                field=field_name,
            )
        try:
            # JSON has no NaN: null marks a missing sample.
            return np.array([math.nan if v is None else float(v) for v in raw], dtype=np.float64)
        except (TypeError, ValueError):
            raise TelemetryRejected(
                "malformed", f"{field_name} must hold numbers", field=field_name
            ) from None
    raise TelemetryRejected(
        "malformed", f"{field_name} must be float32 bytes or a list of numbers", field=field_name
    )


_BYTES = frozenset({bytes, bytearray})


def _channel_values(
    raw_values: dict[Any, Any], n: int
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Every channel of a batch as float64 arrays of ``n`` samples, and, from a MessagePack
    batch, all of them as one (channels, n) array whose rows those arrays are."""
    size = n * SAMPLE_DTYPE.itemsize
    raws = list(raw_values.values())
    if raws and set(map(type, raws)) <= _BYTES and set(map(len, raws)) == {size}:
        # The usual MessagePack batch: one conversion for all channels instead of one per
        # channel (per-call overhead dominates for 10-sample channels); each channel is a row.
        # The checks are two sets built in C, not a Python test per channel.
        joined = np.frombuffer(b"".join(raws), dtype=SAMPLE_DTYPE)
        block = joined.astype(np.float64).reshape(len(raws), n)
        return dict(zip(map(str, raw_values), block, strict=True)), block
    values = {
        str(name): _array(raw, n, SAMPLE_DTYPE, f"values.{name}")
        for name, raw in raw_values.items()
    }
    return values, None


@functools.lru_cache(maxsize=256)
def _row_numbers(channels: tuple[str, ...], names: tuple[str, ...]) -> np.ndarray:
    """Where each of ``names`` is among a batch's ``channels``: a device sends the same
    channels batch after batch, so this is worked out once per channel set."""
    where = {name: i for i, name in enumerate(channels)}
    rows = np.array([where[name] for name in names], dtype=np.intp)
    rows.setflags(write=False)
    return rows


def _req(obj: dict[str, Any], key: str, kinds: type | tuple[type, ...], what: str) -> Any:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise TelemetryRejected("malformed", f"{what} needs {key!r} ({_kind_name(kinds)})", key)
    return value


def _kind_name(kinds: type | tuple[type, ...]) -> str:
    names = {str: "text", int: "integer", float: "number", dict: "map", list: "list"}
    seq = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in seq))


def _number(obj: dict[str, Any], key: str, what: str) -> float:
    value = float(_req(obj, key, (int, float), what))
    if not math.isfinite(value):
        raise TelemetryRejected("malformed", f"{what}: {key} must be finite", key)
    return value


def _session_id(obj: dict[str, Any], what: str) -> str:
    value: str = _req(obj, "session_id", str, what)
    if not value or len(value) > MAX_SESSION_ID_LENGTH:
        raise TelemetryRejected(
            "malformed", f"session_id must have 1 to {MAX_SESSION_ID_LENGTH} characters"
        )
    return value


# ---------------------------------------------------------------------------- messages


@dataclass
class SessionAnnounce:
    """Device → server, before any samples: what will be recorded and how."""

    session_id: str
    device_serial: str
    patient_id: str
    start_time_s: float
    sampling_rate_hz: float
    channels: dict[str, str]
    """channel name → unit, as the device means it (checked against the registry)."""
    settings: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    type: str = "session"

    def to_wire(self) -> dict[str, Any]:
        return {
            "v": PROTOCOL_VERSION,
            "type": self.type,
            "session_id": self.session_id,
            "device": self.device_serial,
            "patient_id": self.patient_id,
            "start_time_s": self.start_time_s,
            "sampling_rate_hz": self.sampling_rate_hz,
            "channels": self.channels,
            "settings": self.settings,
            "meta": self.meta,
        }

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> SessionAnnounce:
        what = "a session announce"
        channels = _req(obj, "channels", dict, what)
        if not channels or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in channels.items()
        ):
            raise TelemetryRejected(
                "malformed", "channels must map channel names to unit strings", "channels"
            )
        settings = obj.get("settings") or {}
        if not isinstance(settings, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in settings.values()
        ):
            raise TelemetryRejected("malformed", "settings must map names to numbers", "settings")
        meta = obj.get("meta") or {}
        if not isinstance(meta, dict):
            raise TelemetryRejected("malformed", "meta must be a map", "meta")
        rate = check_sampling_rate(_number(obj, "sampling_rate_hz", what))
        return cls(
            session_id=_session_id(obj, what),
            device_serial=_req(obj, "device", str, what),
            patient_id=_req(obj, "patient_id", str, what),
            start_time_s=_number(obj, "start_time_s", what),
            sampling_rate_hz=rate,
            channels=dict(channels),
            settings={k: float(v) for k, v in settings.items()},
            meta=dict(meta),
        )


@dataclass
class SampleBatch:
    """Device → server: ``n_samples`` consecutive samples of every announced channel.

    ``seq`` counts batches of the session from 0; ``first_sample_time_s`` is the Unix time of
    the first sample; later samples follow at the announced rate unless ``timestamps_s`` (Unix
    seconds, one per sample) says otherwise.
    """

    session_id: str
    seq: int
    first_sample_time_s: float
    n_samples: int
    values: dict[str, np.ndarray]
    timestamps_s: np.ndarray | None = None
    type: str = "samples"
    block: np.ndarray | None = field(default=None, repr=False, compare=False)
    """Every channel as one (channels, n) float64 array in ``values`` order, whose rows the
    arrays of ``values`` are, when the batch was read from MessagePack: :meth:`matrix` takes its
    rows from it in one indexing."""

    def matrix(self, names: Sequence[str]) -> np.ndarray:
        """The named channels as one (channels, n) float64 array, rows in ``names`` order."""
        if not names:
            return np.empty((0, self.n_samples))
        if self.block is not None:
            return self.block[_row_numbers(tuple(self.values), tuple(names))]
        # One np.array call: np.vstack's per-array checks cost more than the copy itself for
        # 10-sample batches.
        return np.array([self.values[name] for name in names], dtype=np.float64)

    WIRE_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"v", "type", "session_id", "seq", "t0", "n", "values", "t"}
    )
    """Every field :meth:`to_wire` may write: a payload holding no others carries nothing but
    the batch (no device secret), and may be passed on as it came."""

    def to_wire(self, *, binary: bool = True) -> dict[str, Any]:
        def form(values: np.ndarray, dtype: np.dtype[Any]) -> Any:
            if binary:
                return np.ascontiguousarray(values, dtype=dtype).tobytes()
            return [None if math.isnan(v) else v for v in np.asarray(values, float).tolist()]

        wire: dict[str, Any] = {
            "v": PROTOCOL_VERSION,
            "type": self.type,
            "session_id": self.session_id,
            "seq": self.seq,
            "t0": self.first_sample_time_s,
            "n": self.n_samples,
            "values": {name: form(v, SAMPLE_DTYPE) for name, v in self.values.items()},
        }
        if self.timestamps_s is not None:
            wire["t"] = form(self.timestamps_s, TIME_DTYPE)
        return wire

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> SampleBatch:
        what = "a sample batch"
        seq = _req(obj, "seq", int, what)
        n = _req(obj, "n", int, what)
        if seq < 0:
            raise TelemetryRejected("malformed", f"seq must be >= 0, got {seq}", "seq")
        if not 0 < n <= MAX_BATCH_SAMPLES:
            raise TelemetryRejected(
                "malformed", f"n must be between 1 and {MAX_BATCH_SAMPLES}, got {n}", "n"
            )
        values, block = _channel_values(_req(obj, "values", dict, what), n)
        times = obj.get("t")
        return cls(
            session_id=_session_id(obj, what),
            seq=seq,
            first_sample_time_s=_number(obj, "t0", what),
            n_samples=n,
            values=values,
            timestamps_s=None if times is None else _array(times, n, TIME_DTYPE, "t"),
            block=block,
        )


@dataclass
class DeviceEvent:
    """Device → server: something that happened at one moment (fall, fault, setting applied)."""

    session_id: str
    event_id: int
    time_s: float
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)
    type: str = "event"

    def to_wire(self) -> dict[str, Any]:
        return {
            "v": PROTOCOL_VERSION,
            "type": self.type,
            "session_id": self.session_id,
            "event_id": self.event_id,
            "time_s": self.time_s,
            "kind": self.kind,
            "detail": self.detail,
        }

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> DeviceEvent:
        what = "an event"
        kind = _req(obj, "kind", str, what)
        if not kind or len(kind) > 40:
            raise TelemetryRejected("malformed", "kind must have 1 to 40 characters", "kind")
        detail = obj.get("detail") or {}
        if not isinstance(detail, dict):
            raise TelemetryRejected("malformed", "detail must be a map", "detail")
        return cls(
            session_id=_session_id(obj, what),
            event_id=_req(obj, "event_id", int, what),
            time_s=_number(obj, "time_s", what),
            kind=kind,
            detail=dict(detail),
        )


@dataclass
class SessionEnd:
    """Device → server: the session is over after ``n_batches`` batches (seq 0..n-1)."""

    session_id: str
    end_time_s: float
    n_batches: int
    n_samples: int
    type: str = "end"

    def to_wire(self) -> dict[str, Any]:
        return {
            "v": PROTOCOL_VERSION,
            "type": self.type,
            "session_id": self.session_id,
            "end_time_s": self.end_time_s,
            "n_batches": self.n_batches,
            "n_samples": self.n_samples,
        }

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> SessionEnd:
        what = "a session end"
        n_batches = _req(obj, "n_batches", int, what)
        n_samples = _req(obj, "n_samples", int, what)
        if n_batches < 0 or n_samples < 0:
            raise TelemetryRejected("malformed", "n_batches and n_samples must be >= 0")
        return cls(_session_id(obj, what), _number(obj, "end_time_s", what), n_batches, n_samples)


@dataclass
class SettingCommand:
    """Server → device: change one setting. The device answers with a :class:`CommandAck`."""

    command_id: str
    setting: str
    value: float
    unit: str
    issued_at_s: float
    session_id: str | None = None
    type: str = "command"

    def to_wire(self) -> dict[str, Any]:
        return {
            "v": PROTOCOL_VERSION,
            "type": self.type,
            "command_id": self.command_id,
            "session_id": self.session_id,
            "setting": self.setting,
            "value": self.value,
            "unit": self.unit,
            "issued_at_s": self.issued_at_s,
        }

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> SettingCommand:
        what = "a command"
        session_id = obj.get("session_id")
        return cls(
            command_id=_req(obj, "command_id", str, what),
            setting=_req(obj, "setting", str, what),
            value=_number(obj, "value", what),
            unit=_req(obj, "unit", str, what),
            issued_at_s=_number(obj, "issued_at_s", what),
            session_id=session_id if isinstance(session_id, str) else None,
        )


ACK_STATUSES = ("applied", "rejected")


@dataclass
class CommandAck:
    """Device → server: a command was applied, or rejected with the device's reason."""

    command_id: str
    status: str
    time_s: float
    reason: str | None = None
    session_id: str | None = None
    type: str = "ack"

    def to_wire(self) -> dict[str, Any]:
        return {
            "v": PROTOCOL_VERSION,
            "type": self.type,
            "command_id": self.command_id,
            "status": self.status,
            "time_s": self.time_s,
            "reason": self.reason,
            "session_id": self.session_id,
        }

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> CommandAck:
        what = "a command ack"
        status = _req(obj, "status", str, what)
        if status not in ACK_STATUSES:
            raise TelemetryRejected(
                "malformed", f"status must be one of {', '.join(ACK_STATUSES)}", "status"
            )
        reason = obj.get("reason")
        if status == "rejected" and not (isinstance(reason, str) and reason):
            raise TelemetryRejected("malformed", "a rejected command needs a reason", "reason")
        session_id = obj.get("session_id")
        return cls(
            command_id=_req(obj, "command_id", str, what),
            status=status,
            time_s=_number(obj, "time_s", what),
            reason=reason if isinstance(reason, str) else None,
            session_id=session_id if isinstance(session_id, str) else None,
        )


@dataclass
class Receipt:
    """Server → device: what became of one message (``stored``, ``duplicate`` or ``rejected``).

    A device drops a batch from its resend buffer on ``stored`` or ``duplicate``; on
    ``rejected`` resending is pointless and ``code``/``detail`` say why.
    """

    status: str
    message_type: str
    session_id: str | None = None
    seq: int | None = None
    code: str | None = None
    detail: str | None = None
    type: str = "receipt"

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "v": PROTOCOL_VERSION,
            "type": self.type,
            "status": self.status,
            "ref": self.message_type,
            "session_id": self.session_id,
        }
        if self.seq is not None:
            wire["seq"] = self.seq
        if self.code is not None:
            wire["code"] = self.code
            wire["detail"] = self.detail
        return wire


def receipt_messages(
    answers: Iterable[tuple[str | None, str | None, Receipt | None]],
) -> list[tuple[str, bytes]]:
    """The MQTT messages that answer a stored group: ``(topic, payload)``, one per device.

    ``answers`` are (org unit code, device serial, receipt) per message of the group; one
    without a receipt (not stored for a server-side reason: the device resends) or without a
    topic (it came over HTTP) gets none. A device's payload is a MessagePack array of its receipt
    maps in the order its messages were stored: one message per device per group instead of one
    per batch (at 200 live sessions, 2,000 receipt messages a second cost the devices, the
    broker and the storage process more than everything else that is sent to a device).

    >>> stored = Receipt("stored", "samples", "s-1", seq=4)
    >>> [(name, decode_receipts(payload)[0]["seq"]) for name, payload in receipt_messages(
    ...     [("ES-MAD-01", "SX2-0001", stored), ("ES-MAD-01", "SX2-0002", None)])]
    [('exoshare/v1/ES-MAD-01/SX2-0001/receipts', 4)]
    """
    per_device: dict[str, list[dict[str, Any]]] = {}
    for org, serial, receipt in answers:
        if receipt is None or org is None or serial is None:
            continue
        try:
            name = topic(org, serial, "receipts")
        except ValueError:
            log.warning("cannot answer on the receipts topic of %r/%r", org, serial)
            continue
        per_device.setdefault(name, []).append(receipt.to_wire())
    return [(name, msgpack.packb(wires, use_bin_type=True)) for name, wires in per_device.items()]


def decode_receipts(payload: bytes) -> list[dict[str, Any]]:
    """The receipt maps of one message on a device's ``receipts`` topic (an array of maps)."""
    try:
        obj = msgpack.unpackb(payload, raw=False, strict_map_key=True)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise TelemetryRejected("malformed", f"receipts are not MessagePack: {exc}") from None
    if not isinstance(obj, list) or not all(isinstance(r, dict) for r in obj):
        raise TelemetryRejected("malformed", "a receipts message must be an array of maps")
    return obj


Message = SessionAnnounce | SampleBatch | DeviceEvent | SessionEnd | CommandAck
_PARSERS: dict[str, Any] = {
    "session": SessionAnnounce,
    "samples": SampleBatch,
    "event": DeviceEvent,
    "end": SessionEnd,
    "ack": CommandAck,
}


def parse_message(obj: dict[str, Any]) -> Message:
    """The typed device → server message of a decoded map, or TelemetryRejected('malformed')."""
    if obj.get("v") != PROTOCOL_VERSION:
        raise TelemetryRejected(
            "malformed", f"unsupported protocol version {obj.get('v')!r}; this server speaks 1"
        )
    kind = obj.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise TelemetryRejected(
            "malformed", f"unknown message type {kind!r}; one of {', '.join(_PARSERS)}", "type"
        )
    message: Message = parser.from_wire(obj)
    return message
