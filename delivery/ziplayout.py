"""A ZIP of stored entries, laid out before its first byte is sent.

Every entry is stored (audio, video and books are compressed already) and its
CRC-32 is known in advance (``delivery.formats.models.FileChecksum``), so each
local header carries the entry's CRC and sizes and the archive is a plain list
of parts: header bytes, then a span of a file on disk, then the next header...
and the central directory. Nothing in it is computed from the files' bytes
while they are sent, which gives three things a streaming ZIP writer cannot:

- the exact length and any byte range without reading what comes before it
  (``parts_range``);
- under gunicorn, each file's bytes sent with ``sendfile()`` straight from the
  page cache to the socket, between header bytes written by gunicorn itself
  (``parts_body``), as fast as nginx sends one file;
- the same bytes on every node and every request: dates are the files' own
  modification times written in UTC (and as an extended timestamp, so unzip
  shows them in the reader's time zone).

Entries past 4 GiB, offsets past 4 GiB and more than 65,535 entries use the
ZIP64 extensions; names are UTF-8 (flag bit 11) when they are not ASCII.
"""

from __future__ import annotations

import socket
import struct
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

# Sizes and offsets at or above this are written in a ZIP64 extra field, entry counts
# at or above the other in the ZIP64 end record (the 32- and 16-bit fields then hold
# the "see ZIP64" marks).
ZIP64_LIMIT = 0xFFFFFFFF
ZIP64_COUNT_LIMIT = 0xFFFF
_MARK32, _MARK16 = 0xFFFFFFFF, 0xFFFF
# Python's reads of a span, when it is not sent with sendfile().
READ_CHUNK = 1024 * 1024
# Header bytes held back and joined, so each write carries more than a header.
_JOIN = 256 * 1024

_DOS_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest date a ZIP can hold
_UNIX_FILE = 0o100644 << 16  # external attributes: a regular file, rw-r--r--
_MADE_BY = (3 << 8) | 45  # "made by" Unix, spec version 4.5


@dataclass(frozen=True, slots=True)
class Member:
    """One file of the archive: its name in it and what is known of its bytes."""

    arcname: str
    name: str  # the file, as the caller's opener and path resolver know it
    size: int
    crc32: int
    mtime: float


@dataclass(frozen=True, slots=True)
class Span:
    """``length`` bytes of the file ``name`` from ``offset``."""

    name: str
    offset: int
    length: int


Part = bytes | Span


class Readable(Protocol):
    """An open file as ``parts_bytes`` reads it (a file object, a Django ``File``)."""

    def seek(self, offset: int, whence: int = 0, /) -> Any: ...
    def read(self, size: int = -1, /) -> bytes: ...
    def __enter__(self) -> Any: ...
    def __exit__(self, kind: Any, value: Any, traceback: Any, /) -> Any: ...


def _dos_datetime(mtime: float) -> tuple[int, int]:
    stamp = time.gmtime(max(int(mtime), _DOS_EPOCH))
    if stamp.tm_year > 2107:
        stamp = time.gmtime(4354819199)  # 2107-12-31T23:59:59Z, the latest a ZIP can hold
    dos_time = (stamp.tm_hour << 11) | (stamp.tm_min << 5) | (stamp.tm_sec // 2)
    dos_date = ((stamp.tm_year - 1980) << 9) | (stamp.tm_mon << 5) | stamp.tm_mday
    return dos_time, dos_date


def _timestamp_extra(mtime: float) -> bytes:
    # "UT" extended timestamp (0x5455): the modification time in seconds since 1970, UTC.
    seconds = min(max(int(mtime), 0), 0x7FFFFFFF)
    return struct.pack("<HHBl", 0x5455, 5, 1, seconds)


def _name(arcname: str) -> tuple[bytes, int]:
    try:
        return arcname.encode("ascii"), 0
    except UnicodeEncodeError:
        return arcname.encode("utf-8"), 0x800


def _fields(member: Member, *, flags: int, zip64: bool, size: int) -> bytes:
    """What the local and central headers share: version needed, flags, method
    (stored), time, date, CRC-32, compressed and uncompressed sizes."""
    dos_time, dos_date = _dos_datetime(member.mtime)
    version = 45 if zip64 else 20 if flags else 10
    return struct.pack("<HHHHHIII", version, flags, 0, dos_time, dos_date, member.crc32, size, size)


def _local_header(member: Member) -> bytes:
    name, flags = _name(member.arcname)
    extra = _timestamp_extra(member.mtime)
    zip64 = member.size >= ZIP64_LIMIT
    if zip64:
        extra = struct.pack("<HHQQ", 0x0001, 16, member.size, member.size) + extra
    fields = _fields(member, flags=flags, zip64=zip64, size=_MARK32 if zip64 else member.size)
    return (
        struct.pack("<I", 0x04034B50)
        + fields
        + struct.pack("<HH", len(name), len(extra))
        + name
        + extra
    )


def _central_header(member: Member, offset: int) -> bytes:
    name, flags = _name(member.arcname)
    size, zip64 = member.size, b""
    if member.size >= ZIP64_LIMIT:
        zip64 += struct.pack("<QQ", member.size, member.size)
        size = _MARK32
    if offset >= ZIP64_LIMIT:
        zip64 += struct.pack("<Q", offset)
        offset = _MARK32
    extra = _timestamp_extra(member.mtime)
    if zip64:
        extra = struct.pack("<HH", 0x0001, len(zip64)) + zip64 + extra
    fields = _fields(member, flags=flags, zip64=bool(zip64), size=size)
    # Name and extra lengths, no comment, disk 0, no internal attributes, a Unix file.
    tail = struct.pack("<HHHHHII", len(name), len(extra), 0, 0, 0, _UNIX_FILE, offset)
    return struct.pack("<IH", 0x02014B50, _MADE_BY) + fields + tail + name + extra


def _end_records(count: int, directory_size: int, directory_offset: int) -> bytes:
    records = b""
    needs_zip64 = (
        count >= ZIP64_COUNT_LIMIT
        or directory_size >= ZIP64_LIMIT
        or directory_offset >= ZIP64_LIMIT
    )
    if needs_zip64:
        zip64_end_offset = directory_offset + directory_size
        records += struct.pack(
            "<IQHHIIQQQQ",
            0x06064B50,
            44,  # the size of the rest of this record
            _MADE_BY,
            45,
            0,
            0,
            count,
            count,
            directory_size,
            directory_offset,
        )
        records += struct.pack("<IIQI", 0x07064B50, 0, zip64_end_offset, 1)
        count = count if count < ZIP64_COUNT_LIMIT else _MARK16
        directory_size = directory_size if directory_size < ZIP64_LIMIT else _MARK32
        directory_offset = directory_offset if directory_offset < ZIP64_LIMIT else _MARK32
    records += struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, count, count, directory_size, directory_offset, 0
    )
    return records


def zip_layout(members: Iterable[Member]) -> list[Part]:
    """The archive as parts: the header bytes and a span of each file, in order."""
    parts: list[Part] = []
    directory: list[bytes] = []
    offset = 0
    for member in members:
        header = _local_header(member)
        directory.append(_central_header(member, offset))
        parts.append(header)
        if member.size:
            parts.append(Span(member.name, 0, member.size))
        offset += len(header) + member.size
    central = b"".join(directory)
    parts.append(central + _end_records(len(directory), len(central), offset))
    return parts


def _length(part: Part) -> int:
    return len(part) if isinstance(part, bytes) else part.length


def parts_size(parts: list[Part]) -> int:
    return sum(_length(part) for part in parts)


def parts_range(parts: list[Part], first: int, length: int) -> list[Part]:
    """The parts making bytes ``first`` to ``first + length`` of the archive."""
    chosen: list[Part] = []
    position, end = 0, first + length
    for part in parts:
        size = _length(part)
        start, stop = max(first, position), min(end, position + size)
        if start < stop:
            cut_from, cut_to = start - position, stop - position
            if isinstance(part, bytes):
                chosen.append(part[cut_from:cut_to])
            else:
                chosen.append(Span(part.name, part.offset + cut_from, cut_to - cut_from))
        position += size
        if position >= end:
            break
    return chosen


class FileChanged(OSError):
    """A file of the archive holds fewer bytes than its layout says: the response stops."""


def _read(opener: Callable[[str], Readable], span: Span) -> Iterator[bytes]:
    with opener(span.name) as handle:
        handle.seek(span.offset)
        remaining = span.length
        while remaining > 0:
            chunk = handle.read(min(READ_CHUNK, remaining))
            if not chunk:
                raise FileChanged(f"{span.name} is shorter than the archive says")
            remaining -= len(chunk)
            yield chunk


def parts_bytes(parts: list[Part], opener: Callable[[str], Readable]) -> Iterator[bytes]:
    """Every byte of the parts, read by Python: headers joined to the data after them."""
    pending: list[bytes] = []
    held = 0
    for part in parts:
        if isinstance(part, bytes):
            pending.append(part)
            held += len(part)
            continue
        for chunk in _read(opener, part):
            if pending:
                pending.append(chunk)
                held += len(chunk)
                if held >= _JOIN:
                    yield b"".join(pending)
                    pending.clear()
                    held = 0
            else:
                yield chunk
    if pending:
        yield b"".join(pending)


def parts_sent(
    parts: list[Part], sock: socket.socket, path: Callable[[str], str]
) -> Iterator[bytes]:
    """The parts for a WSGI server that writes what the iterator yields to ``sock``,
    in order and before asking for more (gunicorn): header bytes are yielded to it,
    each span is sent on the socket meanwhile with ``sendfile()``. The first yield
    comes before any span, so the server has sent the response's headers first."""
    pending: list[bytes] = [b""]
    for part in parts:
        if isinstance(part, bytes):
            pending.append(part)
            continue
        yield b"".join(pending)
        pending.clear()
        with open(path(part.name), "rb") as handle:
            sent = sock.sendfile(handle, part.offset, part.length)
        if sent != part.length:
            raise FileChanged(f"{part.name} is shorter than the archive says")
    if pending:
        yield b"".join(pending)


def file_crc32(handle: Readable | BinaryIO) -> int:
    """The CRC-32 of an open file, read in chunks."""
    crc = 0
    while chunk := handle.read(READ_CHUNK):
        crc = zlib.crc32(chunk, crc)
    return crc
