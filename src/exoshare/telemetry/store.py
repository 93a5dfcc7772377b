"""The append-only raw store: one Parquet file per sample batch, addressed through fsspec.

Files are written to a temporary name and renamed into place, and an existing file is never
written again. The file name carries a digest of the content, so a retry of the same batch
finds its file already there (a crash between writing the file and committing the index leaves
an unreferenced file, never a wrong one), while different content under the same sequence
number can never overwrite stored samples.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import uuid
from dataclasses import dataclass

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.spec import AbstractFileSystem

TIME_COLUMN = "time_s"


@dataclass(frozen=True)
class StoredBatch:
    time_s: np.ndarray
    values: dict[str, np.ndarray]


class RawStore:
    """Parquet batch files under ``url`` (a local path or any fsspec URL, e.g. ``s3://bucket/x``).

    >>> import tempfile
    >>> store = RawStore(tempfile.mkdtemp())
    >>> name = store.write_batch("DEV-1", "s1", 0, np.array([0.0, 0.01]), {"x": np.ones(2)})
    >>> store.read_batch(name).values["x"].tolist()
    [1.0, 1.0]
    """

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        fs, root = fsspec.core.url_to_fs(self.url)
        self.fs: AbstractFileSystem = fs
        self.root: str = root.rstrip("/")

    def _path(self, name: str) -> str:
        return f"{self.root}/{name}"

    def write_batch(
        self,
        device_serial: str,
        session_key: str,
        seq: int,
        time_s: np.ndarray,
        values: dict[str, np.ndarray],
    ) -> str:
        """Store one batch durably and return its file name relative to the store root."""
        columns = {TIME_COLUMN: pa.array(np.asarray(time_s, dtype=np.float64))}
        # Samples arrive as float32 on the wire; storing float32 keeps them bit-exact.
        for name in sorted(values):
            columns[name] = pa.array(np.asarray(values[name], dtype=np.float32))
        buffer = io.BytesIO()
        pq.write_table(pa.table(columns), buffer, compression="zstd")
        data = buffer.getvalue()
        digest = hashlib.sha256(data).hexdigest()[:16]
        name = f"{_safe(device_serial)}/{_safe(session_key)}/{seq:08d}-{digest}.parquet"
        final = self._path(name)
        if self.fs.exists(final):
            return name
        directory = final.rsplit("/", 1)[0]
        self.fs.makedirs(directory, exist_ok=True)
        temporary = f"{directory}/.tmp-{uuid.uuid4().hex}"
        with self.fs.open(temporary, "wb") as handle:
            handle.write(data)
            flush = getattr(handle, "flush", None)
            if flush:
                flush()
            fileno = getattr(handle, "fileno", None)
            if fileno is not None:
                # Object stores have no fsync; their upload is durable once it completes.
                with contextlib.suppress(OSError, io.UnsupportedOperation):
                    os.fsync(fileno())
        self.fs.mv(temporary, final)
        return name

    def read_batch(self, name: str) -> StoredBatch:
        with self.fs.open(self._path(name), "rb") as handle:
            table = pq.read_table(handle)
        values = {
            column: table.column(column).to_numpy().astype(np.float64)
            for column in table.column_names
            if column != TIME_COLUMN
        }
        return StoredBatch(table.column(TIME_COLUMN).to_numpy(), values)

    def files(self) -> list[str]:
        """Every stored batch file, relative to the root (for checks and tests)."""
        if not self.fs.exists(self.root):
            return []
        found = self.fs.find(self.root)
        prefix = self.root + "/"
        return sorted(
            path[len(prefix) :] if path.startswith(prefix) else path
            for path in found
            if path.endswith(".parquet")
        )


def _safe(part: str) -> str:
    # Serials and session ids come from devices; keep them to one harmless path segment.
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in part)
    return cleaned.strip(".") or "_"
