"""HTTP and WebSocket routes of telemetry: device credentials, sessions, streaming, file upload."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile, WebSocket, WebSocketDisconnect
from fastapi import status as http
from starlette.concurrency import run_in_threadpool

from exoshare.auth.gate import CurrentPrincipal
from exoshare.db import session_scope
from exoshare.deps import DbSession
from exoshare.errors import DeviceNotAuthenticated, InvalidInput, TelemetryRejected, UploadTooLarge
from exoshare.runtime import runtime_of
from exoshare.telemetry import credentials, imports, reads
from exoshare.telemetry.files import parse_mapping, read_recording
from exoshare.telemetry.protocol import decode, encode, encode_json
from exoshare.telemetry.runtime import ingestor, raw_store
from exoshare.telemetry.schemas import (
    CredentialCreate,
    CredentialIssued,
    CredentialOut,
    SamplesOut,
    SessionDetail,
    SessionOut,
)
from exoshare.telemetry.upload_limit import upload_limit_bytes

router = APIRouter(prefix="/api/v1/telemetry", tags=["telemetry"])

DEVICE_SCHEME = "device"


def _device_secret(authorization: str | None) -> str | None:
    """The secret of ``Authorization: Device <secret>``."""
    if not authorization:
        return None
    scheme, _, secret = authorization.partition(" ")
    return secret.strip() if scheme.lower() == DEVICE_SCHEME and secret.strip() else None


@router.post("/credentials", response_model=CredentialIssued, status_code=http.HTTP_201_CREATED)
def issue_credential(
    body: CredentialCreate, session: DbSession, principal: CurrentPrincipal
) -> CredentialIssued:
    """A new device credential; the secret is in this answer only."""
    secret, credential = credentials.issue_device_credential(
        session, principal, body.device_unit_id, body.label
    )
    return CredentialIssued(
        id=credential.id,
        device_unit_id=credential.device_unit_id,
        device_serial=credential.device_unit.serial_number,
        secret=secret,
    )


@router.post("/credentials/{credential_id}/revoke", response_model=CredentialOut)
def revoke_credential(
    credential_id: str, session: DbSession, principal: CurrentPrincipal
) -> CredentialOut:
    credential = credentials.revoke_device_credential(session, principal, credential_id)
    return CredentialOut.model_validate(credential)


@router.get("/sessions", response_model=list[SessionOut])
def list_sessions(
    patient_id: str, session: DbSession, principal: CurrentPrincipal
) -> list[SessionOut]:
    """Sessions of one patient, newest first (needs read access to the patient)."""
    rows = reads.sessions_of_patient(session, principal, patient_id)
    return [SessionOut.model_validate(r) for r in rows]


@router.get("/sessions/{session_id}", response_model=SessionDetail)
def get_session(session_id: str, session: DbSession, principal: CurrentPrincipal) -> SessionDetail:
    return SessionDetail.model_validate(reads.get_session(session, principal, session_id))


@router.get("/sessions/{session_id}/samples", response_model=SamplesOut)
def get_samples(
    session_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> SamplesOut:
    """Every sample of the session (missing samples as null)."""
    record, recording = reads.session_samples(
        session, principal, raw_store(request.app), session_id
    )
    return SamplesOut(
        session_id=record.id,
        sampling_rate_hz=recording.sampling_rate_hz,
        start_time_s=recording.start_time_s,
        channels={
            name: [None if math.isnan(v) else v for v in values.tolist()]
            for name, values in recording.channels.items()
        },
    )


MAX_FILE_NAME_LENGTH = 255
"""Longest name of an uploaded file (what file systems allow; the column holds 300)."""


UPLOAD_PATH = "/api/v1/telemetry/recordings"
"""Where devices upload whole recordings (the path UploadSizeLimit guards)."""


@router.post("/recordings", response_model=SessionOut, status_code=http.HTTP_201_CREATED)
async def upload_recording(
    request: Request,
    file: Annotated[UploadFile, File(description="CSV, Parquet, C3D or OpenSim .mot/.sto")],
    patient_id: Annotated[str, Form()],
    mapping: Annotated[str, Form(description="Lines of 'Source column=channel_name'")] = "",
    file_format: Annotated[str | None, Form(alias="format")] = None,
    sampling_rate_hz: Annotated[float | None, Form()] = None,
) -> SessionOut:
    """A device uploads a whole recording (``Authorization: Device <secret>``)."""
    settings = runtime_of(request).settings
    secret = _device_secret(request.headers.get("authorization"))
    # UploadSizeLimit refused larger bodies as they arrived; this holds the file itself to the
    # limit (the body has room for the other fields) before it is read into memory.
    limit = upload_limit_bytes(settings.telemetry_max_upload_mb)
    if file.size is None or file.size > limit:
        raise UploadTooLarge(
            f"the upload exceeds {settings.telemetry_max_upload_mb} MB (telemetry_max_upload_mb)",
            field="file",
        )
    data = await file.read()
    name = Path(file.filename or "upload").name
    if len(name) > MAX_FILE_NAME_LENGTH or "\x00" in name:
        # The name is stored with the session (source_file) and shown on its page.
        raise InvalidInput(
            f"file: the file name must be at most {MAX_FILE_NAME_LENGTH} characters, "
            "without NUL characters",
            field="file",
        )
    try:
        mapped = parse_mapping(mapping.splitlines())
    except ValueError as exc:
        raise InvalidInput(str(exc), field="mapping") from None

    def store() -> SessionOut:
        # Strangers are refused before their file is parsed: a C3D file costs a child process.
        with session_scope(runtime_of(request).sessionmaker) as session:
            credentials.authenticate_device(session, secret)
        imported = read_recording(
            Path(name),
            mapped,
            file_format,
            sampling_rate_hz,
            settings.telemetry_max_nan_run_s,
            data=data,
            name=name,
        )
        with session_scope(runtime_of(request).sessionmaker) as session:
            unit = credentials.authenticate_device(session, secret)
            record = imports.import_recording(
                session,
                raw_store(request.app),
                unit,
                patient_id,
                imported.recording,
                source="upload",
                source_file=name,
                max_nan_run_s=settings.telemetry_max_nan_run_s,
            )
            return SessionOut.model_validate(record)

    return await run_in_threadpool(store)


@router.websocket("/ws")
async def telemetry_socket(websocket: WebSocket) -> None:
    """Protocol messages over a WebSocket, one receipt per message.

    The device proves itself with ``Authorization: Device <secret>`` or, when it cannot set
    headers, with a first message ``{"v": 1, "type": "hello", "auth": "<secret>"}``. Binary
    frames are MessagePack and get MessagePack receipts; text frames are JSON and get JSON.
    """
    await websocket.accept()
    app = websocket.app
    secret = _device_secret(websocket.headers.get("authorization"))
    binary = True
    if secret is None:
        first = await websocket.receive()
        raw = first.get("bytes") or first.get("text") or b""
        binary = first.get("bytes") is not None
        try:
            hello = decode(raw)
        except TelemetryRejected:
            hello = {}
        secret = hello.get("auth") if hello.get("type") == "hello" else None
    try:
        with session_scope(runtime_of(app).sessionmaker) as session:
            unit = credentials.authenticate_device(
                session, secret if isinstance(secret, str) else None
            )
            device_id, serial = unit.id, unit.serial_number
    except DeviceNotAuthenticated as exc:
        await websocket.close(code=4401, reason=exc.detail[:120])
        return
    welcome = {"v": 1, "type": "welcome", "device": serial}
    await _send(websocket, welcome, binary)
    worker = ingestor(app)
    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                return
            payload = frame.get("bytes")
            binary = payload is not None
            if payload is None:
                payload = (frame.get("text") or "").encode()
            receipt = await run_in_threadpool(worker.handle, payload, device_id=device_id)
            await _send(websocket, receipt.to_wire(), binary)
    except WebSocketDisconnect:
        return


async def _send(websocket: WebSocket, message: dict[str, object], binary: bool) -> None:
    if binary:
        await websocket.send_bytes(encode(message))
    else:
        await websocket.send_text(encode_json(message).decode())
