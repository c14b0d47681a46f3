"""The content-addressed blob store: originals, searchable PDFs, page images, OCR output.

A blob is named by the SHA-256 of its bytes and lives at ``root/ab/cd/<sha256>`` (``ab``, ``cd``: the first
two pairs of hex digits, so no directory grows beyond a few thousand entries). Blobs are immutable and
read-only (mode ``0o444``); storing the same content twice is a no-op and an existing blob is never rewritten.

Writes are atomic: the bytes go to a temporary file under ``root/.tmp`` (same filesystem), are fsync'ed, made
read-only and then *hard-linked* to their final name (which fails instead of overwriting if the blob appeared
meanwhile), and the directory is fsync'ed. A crash at any point leaves either no blob or the whole blob; stale
temporary files are removed by :meth:`BlobStore.remove_stale_temp_files`. Files are hashed while they are
copied, in chunks, so a large file is never held in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, BinaryIO

from mailroom.errors import BlobCorrupt, BlobNotFound, StorageUnavailable

CHUNK_SIZE = 1024 * 1024
BLOB_MODE = 0o444
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_TEMP_DIR = ".tmp"


def _check_sha(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA_RE.match(sha256):
        raise ValueError(f"not a lower-case hex SHA-256: {sha256!r}")
    return sha256


def _fsync_dir(directory: Path) -> None:
    """Make a link/rename in ``directory`` durable (no-op where a directory cannot be opened: Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_file(path: Path, *, chunk_size: int = CHUNK_SIZE) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


class BlobStore:
    """Content-addressed, immutable blob storage under ``root`` (``settings.blob_dir``).

    ``verify_on_read=True`` makes :meth:`open` check the SHA-256 of a blob before handing it out (costs one
    extra read of the blob).
    """

    def __init__(self, root: Path | str, *, verify_on_read: bool = False) -> None:
        self.root = Path(root)
        self.verify_on_read = verify_on_read

    # --- naming -----------------------------------------------------------------------------------------

    def path(self, sha256: str) -> Path:
        """Where the blob ``sha256`` lives (whether or not it exists)."""
        sha = _check_sha(sha256)
        return self.root / sha[:2] / sha[2:4] / sha

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        return self.path(sha256).is_file()

    # --- writing ----------------------------------------------------------------------------------------

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; returns its SHA-256. A no-op when the blob exists."""
        sha = hashlib.sha256(data).hexdigest()
        if self.exists(sha):
            return sha

        def fill(out: IO[bytes]) -> str:
            out.write(data)
            return sha

        return self._write(fill)

    def put_file(self, path: Path | str, *, expected_sha256: str | None = None) -> str:
        """Store a copy of the file at ``path`` (hashed while copied); returns its SHA-256.

        With ``expected_sha256`` (a hash the caller computed already), an existing blob of that hash is
        taken as is without reading the file, and a file whose content does not match is refused.
        """
        if expected_sha256 is not None and self.exists(expected_sha256):
            return expected_sha256
        try:
            with open(path, "rb") as source:
                return self.put_stream(source, expected_sha256=expected_sha256)
        except FileNotFoundError as error:
            raise BlobNotFound(f"no such file to store: {path}") from error

    def put_stream(self, source: IO[bytes], *, expected_sha256: str | None = None) -> str:
        """Store everything read from ``source`` (hashed while copied); returns its SHA-256."""
        if expected_sha256 is not None:
            _check_sha(expected_sha256)
        digest = hashlib.sha256()

        def copy(out: IO[bytes]) -> str:
            while chunk := source.read(CHUNK_SIZE):
                digest.update(chunk)
                out.write(chunk)
            return digest.hexdigest()

        return self._write(copy, expected=expected_sha256)

    def _write(self, fill: Callable[[IO[bytes]], str], *, expected: str | None = None) -> str:
        """Write via a temporary file (``fill`` writes and returns the SHA-256), then link it to its final
        name without ever overwriting."""
        temp_dir = self.root / _TEMP_DIR
        try:
            temp_dir.mkdir(parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(dir=temp_dir, prefix="blob-", suffix=".part")
        except OSError as error:
            raise StorageUnavailable(f"cannot write to the blob store {self.root}: {error}") from error
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                sha = fill(out)
                out.flush()
                os.fsync(out.fileno())
            if expected is not None and sha != expected:
                raise BlobCorrupt(
                    f"content hashes to {sha}, expected {expected}", expected=expected, actual=sha
                )
            os.chmod(temp, BLOB_MODE)
            final = self.path(sha)
            if not final.is_file():
                final.parent.mkdir(parents=True, exist_ok=True)
                self._publish(temp, final)
                _fsync_dir(final.parent)
            return sha
        except OSError as error:
            raise StorageUnavailable(f"cannot write to the blob store {self.root}: {error}") from error
        finally:
            with contextlib.suppress(FileNotFoundError):
                _unlink(temp)

    @staticmethod
    def _publish(temp: Path, final: Path) -> None:
        """Give the complete temporary file its final name; an existing blob wins (same content)."""
        try:
            os.link(temp, final)
        except FileExistsError:
            return
        except OSError:
            # Filesystems without hard links: rename, after checking (the race is harmless: same content).
            if not final.exists():
                os.replace(temp, final)

    # --- reading ----------------------------------------------------------------------------------------

    def open(self, sha256: str, *, verify: bool | None = None) -> BinaryIO:
        """Open the blob for reading (binary). ``verify`` overrides the store's ``verify_on_read``."""
        if verify if verify is not None else self.verify_on_read:
            self.verify(sha256)
        try:
            return open(self.path(sha256), "rb")  # the caller closes it
        except FileNotFoundError as error:
            raise BlobNotFound(f"blob {sha256} is not stored", sha256=sha256) from error

    def read_bytes(self, sha256: str, *, verify: bool | None = None) -> bytes:
        """The whole blob in memory (for small blobs; stream big ones with :meth:`open`)."""
        with self.open(sha256, verify=False) as handle:
            data = handle.read()
        if (verify if verify is not None else self.verify_on_read) and hashlib.sha256(
            data
        ).hexdigest() != sha256:
            raise BlobCorrupt(f"blob {sha256} does not match its hash", sha256=sha256)
        return data

    def verify(self, sha256: str) -> None:
        """Raise :class:`BlobCorrupt` unless the stored bytes hash to ``sha256`` (BlobNotFound if missing)."""
        try:
            actual = sha256_file(self.path(sha256))
        except FileNotFoundError as error:
            raise BlobNotFound(f"blob {sha256} is not stored", sha256=sha256) from error
        if actual != sha256:
            raise BlobCorrupt(f"blob {sha256} hashes to {actual}", sha256=sha256, actual=actual)

    # --- retention --------------------------------------------------------------------------------------

    def delete(self, sha256: str) -> bool:
        """Delete the blob (retention); returns whether it existed. The caller checks nothing refers to it."""
        path = self.path(sha256)
        try:
            _unlink(path)
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def remove_stale_temp_files(self, older_than_s: float = 24 * 3600) -> int:
        """Remove temporary files left by crashed writers; returns how many were removed."""
        temp_dir = self.root / _TEMP_DIR
        if not temp_dir.is_dir():
            return 0
        cutoff = time.time() - older_than_s
        removed = 0
        for entry in temp_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    _unlink(entry)
                    removed += 1
        return removed


def _unlink(path: Path) -> None:
    """Remove a (read-only) file; on Windows read-only files must be made writable first."""
    try:
        path.unlink()
    except PermissionError:
        os.chmod(path, stat.S_IWRITE | stat.S_IREAD)
        path.unlink()
