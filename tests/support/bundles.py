"""Hostile code bundles, built byte by byte (streamed: some unpack to hundreds of MB)."""

from __future__ import annotations

import gzip
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path

BLOCK = 512


def _header(name: str, kind: bytes, size: int = 0, linkname: str = "") -> bytes:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    info.linkname = linkname
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % BLOCK)


def write(path: Path, chunks: Iterable[bytes]) -> Path:
    """Gzip ``chunks`` (then the two zero blocks that end a tar) into ``path``."""
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as out,
    ):
        for chunk in chunks:
            out.write(chunk)
        out.write(b"\0" * (2 * BLOCK))
    return path


def a_dag() -> Iterator[bytes]:
    body = b"x = 1\n"
    yield _header("dags/ok.py", tarfile.REGTYPE, len(body))
    yield _padded(body)


def pax_records(count: int) -> Iterator[bytes]:
    """A pax header of ``count`` records ``2 2 2 ...=``: Python 3.11.7's tarfile needs time
    (and memory) quadratic in ``count`` to reject it (CVE-2024-6232); 130,000 records and
    one DAG file gzip to 416 bytes."""
    data = b"2 " * count + b"="
    yield _header("././@PaxHeader", tarfile.XHDTYPE, len(data))
    yield _padded(data)
    yield from a_dag()


def long_name(size: int, how: str) -> Iterator[bytes]:
    """One entry whose name is ``size`` bytes, as a GNU long-name or a pax ``path`` header."""
    name = b"dags/" + b"a" * (size - 5)
    if how == "gnu":
        yield _header("././@LongLink", tarfile.GNUTYPE_LONGNAME, len(name) + 1)
        payload = name + b"\0"
    else:
        record = b" path=" + name + b"\n"
        digits = len(str(len(record)))
        length = len(record) + digits
        length += len(str(length)) - digits
        payload = str(length).encode() + record
        yield _header("././@PaxHeader", tarfile.XHDTYPE, len(payload))
    for start in range(0, len(payload), 1 << 20):
        yield payload[start : start + (1 << 20)]
    yield b"\0" * (-len(payload) % BLOCK)
    yield _header("placeholder", tarfile.REGTYPE, 0)
    yield from a_dag()


def directories(count: int) -> Iterator[bytes]:
    yield from a_dag()
    for index in range(count):
        yield _header(f"dags/d{index}/", tarfile.DIRTYPE)


def directory_then_link(explicit: bool) -> Iterator[bytes]:
    """``dags/x`` as a directory (an entry of its own, or made for a file in it), then a
    symbolic link of the same name."""
    yield from a_dag()
    if explicit:
        yield _header("dags/x/", tarfile.DIRTYPE)
    body = b"y = 2\n"
    yield _header("dags/x/inner.py", tarfile.REGTYPE, len(body))
    yield _padded(body)
    yield _header("dags/x", tarfile.SYMTYPE, linkname=".")
