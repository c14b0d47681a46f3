"""ZIP attachments unpacked within limits: a hostile archive is refused before anything is extracted.

Refused with ``hostile_archive``: more members than allowed, a total or single uncompressed size over the limit,
a compression ratio that only bombs have, encrypted members, nested archives and members whose declared size
is a lie (reading stops at the declared size + 1 byte). Members' names are reduced to safe base names; folders
are ignored, so nothing is ever written by a name the archive chose.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from intake.filenames import safe_filename
from mailroom.errors import HostileArchive

MAX_RATIO = 100  # uncompressed / compressed; scans and PDFs compress far less


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int
    max_total_bytes: int
    max_member_bytes: int


def unpack_zip(data: bytes, limits: ArchiveLimits, *, archive_name: str) -> Iterator[tuple[str, bytes]]:
    """``(name, bytes)`` of every file in the ZIP, all checked against ``limits`` before the first is read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise HostileArchive(f"{archive_name}: not a readable ZIP archive ({exc}).") from exc
    _check(members, limits, archive_name)
    for info in members:
        name = safe_filename(info.filename, default="datei")
        try:
            with archive.open(info) as member:
                content = member.read(info.file_size + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as exc:
            raise HostileArchive(f"{archive_name}: member {name} cannot be unpacked ({exc}).") from exc
        if len(content) != info.file_size:
            raise HostileArchive(f"{archive_name}: member {name} is not the size the archive declares.")
        if content.startswith(b"PK\x03\x04"):
            raise HostileArchive(f"{archive_name}: archives inside archives are not unpacked ({name}).")
        yield name, content


def _check(members: list[zipfile.ZipInfo], limits: ArchiveLimits, archive_name: str) -> None:
    if len(members) > limits.max_members:
        raise HostileArchive(f"{archive_name}: {len(members)} files; at most {limits.max_members} are unpacked.")
    total = sum(info.file_size for info in members)
    if total > limits.max_total_bytes:
        raise HostileArchive(f"{archive_name}: would unpack to {total} bytes; at most {limits.max_total_bytes}.")
    for info in members:
        if info.flag_bits & 0x1:
            raise HostileArchive(f"{archive_name}: encrypted members are not unpacked ({info.filename}).")
        if info.file_size > limits.max_member_bytes:
            raise HostileArchive(f"{archive_name}: {info.filename} would unpack to {info.file_size} bytes.")
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 1_000_000:
            raise HostileArchive(
                f"{archive_name}: {info.filename} is compressed {info.file_size // max(info.compress_size, 1)}:1, "
                "as only archive bombs are."
            )
