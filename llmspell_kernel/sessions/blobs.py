"""Content-addressed artifact blobs: SHA-256 named, stored once, compressed when it pays.

Small blobs live in the `blobs` table; larger ones in `<blob dir>/<hash[:2]>/<hash>` files that
are written (temp file + rename) before the row that names them commits, so a committed row
always has its content. Call `put` and `release` inside the caller's transaction. Blob files are
owner-only (0600) like the database, and the directories made for them 0700.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import zlib
from pathlib import Path

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.state.database import make_private_dirs

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)

if TYPE_CHECKING:
    from llmspell_kernel.state.database import Database

SAMPLE = 65536
COMPRESSION_LEVEL = 1  # zlib's fastest level: most of the gain at a fraction of the cost
# From this size a blob is hashed in a second thread while it is compressed and written
# (hashlib, zlib and file writes all release the GIL, so on two cores they overlap).
PARALLEL_MIN_BYTES = 1 << 20
_temp_names = itertools.count()


def _write_private(path: Path, payload: bytes) -> None:
    """Write a new owner-only file (its directory made owner-only when it is created)."""
    make_private_dirs(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(payload)


class PreparedBlob:
    """A blob's digest, with its stored form already computed (and written to a temporary
    file) when it is large. Give it to `BlobStore.put`, or `discard` it."""

    __slots__ = ("compressed", "digest", "payload", "temp")

    def __init__(
        self,
        digest: str,
        payload: bytes | None = None,
        compressed: bool = False,
        temp: Path | None = None,
    ) -> None:
        self.digest = digest
        self.payload = payload
        self.compressed = compressed
        self.temp = temp

    def discard(self) -> None:
        """Remove the temporary file, if `put` did not take it."""
        if self.temp is not None:
            try:
                self.temp.unlink()
            except FileNotFoundError:
                pass
            self.temp = None


class BlobStore:
    """Blobs shared by every artifact (deduplicated across sessions)."""

    def __init__(
        self, db: Database, directory: Path | None, inline_max: int, compression_threshold: int
    ) -> None:
        self.db = db
        self.directory = directory
        self.inline_max = inline_max
        self.compression_threshold = compression_threshold

    def path_of(self, digest: str) -> Path:
        """The file of a blob stored on disk."""
        assert self.directory is not None
        return self.directory / digest[:2] / digest

    def prepare(self, data: bytes) -> PreparedBlob:
        """Hash `data`; a large blob is compressed and written to a temporary file at the same
        time, outside any transaction, so that `put` only has to rename it."""
        if self.directory is None or len(data) < PARALLEL_MIN_BYTES:
            return PreparedBlob(hashlib.sha256(data).hexdigest())
        found: list[str] = []
        hasher = threading.Thread(
            target=lambda: found.append(hashlib.sha256(data).hexdigest()),
            name="llmspell-blob-hash",
        )
        hasher.start()
        prepared = PreparedBlob("")
        try:
            prepared.payload, prepared.compressed = self._maybe_compress(data)
            if len(prepared.payload) > self.inline_max:
                temp = self.directory / f".incoming.{os.getpid()}.{next(_temp_names)}.tmp"
                prepared.temp = temp
                _write_private(temp, prepared.payload)
        except BaseException:
            hasher.join()
            prepared.discard()
            raise
        hasher.join()
        prepared.digest = found[0]
        return prepared

    def put(self, data: bytes, prepared: PreparedBlob | None = None) -> tuple[str, bool, int]:
        """Store `data` unless present; returns (sha256 hex, compressed, stored size).
        A `prepared` blob's temporary file is moved into place or removed."""
        digest = prepared.digest if prepared is not None else hashlib.sha256(data).hexdigest()
        rows = self.db.query("SELECT compressed, stored_size FROM blobs WHERE hash = ?", (digest,))
        if rows:
            if prepared is not None:
                prepared.discard()
            return digest, bool(rows[0][0]), int(rows[0][1])
        if prepared is not None and prepared.payload is not None:
            payload, compressed = prepared.payload, prepared.compressed
        else:
            payload, compressed = self._maybe_compress(data)
        if self.directory is None or len(payload) <= self.inline_max:
            self.db.write(
                "INSERT INTO blobs (hash, size, stored_size, compressed, data) VALUES (?, ?, ?, ?, ?)",
                (digest, len(data), len(payload), int(compressed), payload),
            )
        else:
            if prepared is not None and prepared.temp is not None:
                target = self.path_of(digest)
                make_private_dirs(target.parent)
                os.replace(prepared.temp, target)
                prepared.temp = None
            else:
                self._write_file(digest, payload)
            self.db.write(
                "INSERT INTO blobs (hash, size, stored_size, compressed, data) VALUES (?, ?, ?, ?, NULL)",
                (digest, len(data), len(payload), int(compressed)),
            )
        return digest, compressed, len(payload)

    def _maybe_compress(self, data: bytes) -> tuple[bytes, bool]:
        if not self.compression_threshold or len(data) <= self.compression_threshold:
            return data, False
        if len(data) > 4 * SAMPLE:
            sample = data[:SAMPLE]
            if len(zlib.compress(sample, COMPRESSION_LEVEL)) > 0.9 * len(sample):
                return data, False  # incompressible (already compressed media, random bytes)
        packed = zlib.compress(data, COMPRESSION_LEVEL)
        if len(packed) >= len(data):
            return data, False
        return packed, True

    def _write_file(self, digest: str, payload: bytes) -> None:
        target = self.path_of(digest)
        tmp = target.with_name(f".{digest}.{os.getpid()}.tmp")
        _write_private(tmp, payload)
        os.replace(tmp, target)

    def get(self, digest: str) -> bytes:
        """The original content of a blob."""
        rows = self.db.query("SELECT compressed, data FROM blobs WHERE hash = ?", (digest,))
        if not rows:
            raise LlmspellError(f"artifact blob {digest[:12]} is missing from the store")
        compressed, payload = rows[0]
        if payload is None:
            try:
                payload = self.path_of(digest).read_bytes()
            except OSError as exc:
                raise LlmspellError(
                    f"artifact blob file {self.path_of(digest)} cannot be read: {exc.strerror}"
                ) from exc
        data = zlib.decompress(payload) if compressed else bytes(payload)
        return data

    def release(self, digests: set[str]) -> list[Path]:
        """Delete blob rows no artifact references any more; returns their files to unlink
        once the transaction has committed."""
        files: list[Path] = []
        for digest in sorted(digests):
            used = self.db.query(
                "SELECT 1 FROM artifacts WHERE content_hash = ? LIMIT 1", (digest,)
            )
            if used:
                continue
            rows = self.db.query("SELECT data IS NULL FROM blobs WHERE hash = ?", (digest,))
            if not rows:
                continue
            self.db.write("DELETE FROM blobs WHERE hash = ?", (digest,))
            if rows[0][0] and self.directory is not None:
                files.append(self.path_of(digest))
        return files


def unlink_all(paths: list[Path]) -> None:
    """Remove blob files (already unreferenced); missing ones are fine."""
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
