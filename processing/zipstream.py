"""A ZIP archive written as it is sent: every byte is handed out exactly once, memory stays bounded.

`zipfile.ZipFile` keeps its own offsets of everything written so far. Given a file object that cannot
seek or tell, it counts the bytes itself and writes each entry's CRC and sizes in a data descriptor
after the entry's data, so nothing written needs to be revisited: a write-only sink that hands its
chunks out after each write keeps the archive's offsets and the bytes sent in agreement.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

# Bytes read from storage per write: a result is copied through in pieces, never loaded whole.
CHUNK_BYTES = 64 * 1024


class _ChunkSink:
    """Write-only and unseekable on purpose (no tell, no seek): see the module docstring."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        if data:
            self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


@dataclass
class ZipEntry:
    name: str
    chunks: Iterable[bytes]  # the entry's bytes, in pieces; read lazily, once
    size: int | None = None  # when known ahead: an entry near 2 GB gets its ZIP64 record up front
    modified: datetime | None = None


def iter_zip(entries: Iterable[ZipEntry]) -> Iterator[bytes]:
    """The archive's bytes, in order, as they are produced. Entries are stored (images are compressed)."""
    sink = _ChunkSink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=_zip_time(entry.modified))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            if entry.size is not None:
                # zipfile decides on ZIP64 records from the size it is told before the data.
                info.file_size = entry.size
            with archive.open(info, "w") as member:
                for chunk in entry.chunks:
                    member.write(chunk)
                    if data := sink.drain():
                        yield data
            if data := sink.drain():
                yield data
    if data := sink.drain():
        yield data


def _zip_time(moment: datetime | None) -> tuple[int, int, int, int, int, int]:
    # ZIP timestamps start in 1980 and carry no time zone.
    if moment is None or moment.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def read_in_chunks(storage, name: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """A stored file's bytes in pieces, opened when the first piece is wanted."""
    with storage.open(name, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            yield chunk
