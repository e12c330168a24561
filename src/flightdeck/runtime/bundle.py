"""Code bundles: the ``.tar.gz`` a deploy uploads, built on the client and unpacked on the server.

The client builds the archive deterministically (same files in, same bytes out), so a
re-deploy of unchanged code can be recognised by its digest. The server never trusts an
upload: :func:`safe_extract` unpacks member by member and refuses anything that could write
outside the target directory, exhaust the disk, or create something other than plain files,
directories and links that stay inside the bundle. Each refusal says what and where, in one
bounded line.

Unpacking never runs in the server's own process: ``tarfile`` is pure Python under the GIL,
and a hostile archive (CVE-2024-6232: pax headers parse in quadratic time) would stall every
request. :func:`safe_extract` runs :mod:`flightdeck.runtime.unpack` in a child process with
CPU, memory and file-size limits set by the kernel, and kills it past its wall-clock budget.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import posixpath
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from flightdeck.runtime.base import CodeRejected, RuntimeError_

BundleKind = Literal["dags", "full"]

# What each kind of deploy carries; ``dags/`` is the one part every bundle must have.
CONTENTS: dict[BundleKind, tuple[str, ...]] = {
    "dags": ("dags",),
    "full": ("dags", "include", "plugins", "requirements.txt"),
}
MAX_ARCHIVE_BYTES = 100 * 1024 * 1024  # compressed upload
MAX_UNPACKED_BYTES = 512 * 1024 * 1024  # sum of the files once unpacked
MAX_FILES = 10_000
MAX_ENTRIES = 20_000  # files, directories and links together
MAX_DEPTH = 32  # path components of one entry
MAX_NAME_BYTES = 1024  # one entry's path, UTF-8
UNPACK_RESULT_PREFIX = "FLIGHTDECK-UNPACK "
# Hidden files stay out of bundles, except the ones Airflow itself reads.
KEPT_HIDDEN = frozenset({".airflowignore"})
SKIPPED_DIRS = frozenset({"__pycache__", ".flightdeck", ".git", ".venv", "node_modules"})
_FIXED_MTIME = 946_684_800  # 2000-01-01: archive timestamps carry no information
_GZIP_MAGIC = b"\x1f\x8b"


class BundleError(RuntimeError_):
    """The project cannot be packed into a bundle (missing dags/, too large, a bad link)."""


@dataclass(frozen=True)
class UnpackLimits:
    """What the unpacking child process may use; the kernel ends it past the first three."""

    cpu_seconds: int = 20
    memory_bytes: int = 768 * 1024 * 1024  # address space; Python itself needs ~100 MB
    wall_seconds: float = 60.0
    header_bytes: int = 8 * 1024  # one pax or GNU long-name header (names, link targets)


LIMITS = UnpackLimits()


@dataclass(frozen=True)
class Extracted:
    files: int
    bytes: int


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _skipped(name: str) -> bool:
    return name in SKIPPED_DIRS or (name.startswith(".") and name not in KEPT_HIDDEN)


def _walk(root: Path, part: str) -> Iterator[tuple[str, Path]]:
    """(archive name, path) of every file under ``part``, sorted, hidden and caches skipped."""
    top = root / part
    if top.is_file():
        yield part, top
        return
    for current, dirs, files in os.walk(top):
        here = Path(current)
        kept_dirs = []
        for name in sorted(dirs):
            if _skipped(name):
                continue
            if (here / name).is_symlink():
                rel = (here / name).relative_to(root).as_posix()
                raise BundleError(
                    f"{rel} is a link to a directory; bundles hold regular files only, "
                    "so copy the directory into the project instead"
                )
            kept_dirs.append(name)
        dirs[:] = kept_dirs
        for name in sorted(files):
            if _skipped(name) or name.endswith((".pyc", ".pyo")):
                continue
            path = here / name
            if not path.is_file():  # a dangling link, a socket, a fifo
                continue
            yield (path.relative_to(root).as_posix(), path)


def build_bundle(
    project_root: Path, kind: BundleKind, *, max_bytes: int = MAX_ARCHIVE_BYTES
) -> bytes:
    """Pack ``project_root`` for a ``dags`` (``dags/`` only) or ``full`` deploy.

    Files are added in sorted order with fixed owners, modes and timestamps, and the gzip
    header carries no name or time, so the same files always give the same bytes.
    """
    if kind not in CONTENTS:
        raise BundleError(f"bundle kind {kind!r} is not known; use 'dags' or 'full'")
    if not (project_root / "dags").is_dir():
        raise BundleError(
            f"{project_root} has no dags/ folder; run the deploy from the project's root "
            "(where dags/ is) or pass its path"
        )
    entries: list[tuple[str, Path]] = []
    for part in CONTENTS[kind]:
        if (project_root / part).exists():
            entries.extend(_walk(project_root, part))
    total = sum(path.stat().st_size for _, path in entries)
    if len(entries) > MAX_FILES:
        raise BundleError(
            f"the bundle would hold {len(entries)} files, over the limit of {MAX_FILES}; "
            "move data files out of dags/ and include/ (to S3, for example)"
        )
    if total > MAX_UNPACKED_BYTES:
        raise BundleError(
            f"the bundle's files add up to {_size(total)}, over the {_size(MAX_UNPACKED_BYTES)} "
            "limit; move large data files out of the project (to S3, for example)"
        )
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs_added: set[str] = set()
        for name, path in entries:
            for parent in _parents(name):
                if parent not in dirs_added:
                    dirs_added.add(parent)
                    tar.addfile(_info(parent, tarfile.DIRTYPE, 0o755, 0))
            content = path.read_bytes()
            executable = path.stat().st_mode & stat.S_IXUSR
            info = _info(name, tarfile.REGTYPE, 0o755 if executable else 0o644, len(content))
            tar.addfile(info, io.BytesIO(content))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0) as gz:
        gz.write(raw.getvalue())
    data = packed.getvalue()
    if len(data) > max_bytes:
        raise BundleError(
            f"the bundle is {_size(len(data))} compressed, over the {_size(max_bytes)} limit; "
            "move large files out of dags/, include/ and plugins/ (to S3, for example)"
        )
    return data


def _parents(name: str) -> list[str]:
    parts = name.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _info(name: str, kind: bytes, mode: int, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = _FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def shown(name: str, limit: int = 120) -> str:
    """``name`` quoted for a message, cut to ``limit`` characters (names can be megabytes)."""
    text = repr(name)
    return text if len(text) <= limit else f"{text[: limit - 14]}...' ({len(name)} chars)"


def _clean_name(raw: str) -> str:
    """The member's path inside the bundle, or a refusal if it could land outside."""
    if len(raw.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise CodeRejected(
            f"bundle entry {shown(raw)} has a name over {MAX_NAME_BYTES} bytes; use shorter paths"
        )
    if raw.startswith(("/", "\\")) or (len(raw) > 1 and raw[1] == ":"):
        raise CodeRejected(
            f"bundle entry {shown(raw)} has an absolute path; bundles hold relative paths"
        )
    parts = [p for p in raw.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise CodeRejected(f"bundle entry {shown(raw)} climbs out of the bundle with '..'")
    if not parts:
        raise CodeRejected(f"bundle entry {shown(raw)} has an empty name")
    if len(parts) > MAX_DEPTH:
        raise CodeRejected(
            f"bundle entry {shown(raw)} is {len(parts)} levels deep, over the limit of "
            f"{MAX_DEPTH}; flatten the folders"
        )
    return "/".join(parts)


def safe_extract(
    archive: Path,
    dest: Path,
    *,
    allowed: tuple[str, ...] = CONTENTS["full"],
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_UNPACKED_BYTES,
    limits: UnpackLimits = LIMITS,
) -> Extracted:
    """Unpack ``archive`` into the new directory ``dest``; raises :class:`CodeRejected`.

    Only the top-level parts in ``allowed`` may appear. Links are created last and must
    resolve inside ``dest``, so no file is ever written through one. The work happens in a
    child process under hard limits (see the module docstring). On any refusal ``dest`` is
    removed again.
    """
    with archive.open("rb") as handle:
        if handle.read(2) != _GZIP_MAGIC:
            raise CodeRejected(
                "the upload is not a gzip-compressed tar archive (.tar.gz); "
                "build it with `flightdeck deploy`"
            )
    if archive.stat().st_size > MAX_ARCHIVE_BYTES:
        raise CodeRejected(
            f"the upload is {_size(archive.stat().st_size)}, over the "
            f"{_size(MAX_ARCHIVE_BYTES)} limit"
        )
    if dest.exists():
        raise RuntimeError_(f"{dest} already exists; a bundle is unpacked into a new directory")
    dest.mkdir(parents=True)
    request = {
        "archive": str(archive),
        "dest": str(dest),
        "allowed": list(allowed),
        "max_files": max_files,
        "max_bytes": max_bytes,
    }
    try:
        return _run_child(request, limits)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def check_in_child(archive: Path, limits: UnpackLimits = LIMITS) -> None:
    """Read every header of ``archive`` in a limited child process; raises
    :class:`CodeRejected` for one that is oversized, too many entries, or an archive that
    takes too long. After this the archive is safe to list in the server's process."""
    _run_child({"mode": "scan", "archive": str(archive)}, limits)


def scan_in_this_process(archive: Path, header_bytes: int) -> Extracted:
    """The checks of :func:`check_in_child`, for the child process only."""
    scan_headers(archive, header_bytes)
    entries = 0
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                entries += 1
                if entries > MAX_ENTRIES:
                    raise _too_many_entries()
                if len(member.name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
                    raise CodeRejected(
                        f"bundle entry {shown(member.name)} has a name over {MAX_NAME_BYTES} "
                        "bytes; use shorter paths"
                    )
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise CodeRejected(f"the upload is not a readable .tar.gz archive: {exc}") from None
    return Extracted(entries, 0)


def _run_child(request: dict[str, object], limits: UnpackLimits) -> Extracted:
    """Run :mod:`flightdeck.runtime.unpack` on ``request``; its one result line, or why not."""
    request = {**request, "limits": asdict(limits)}
    command = [sys.executable, "-I", "-m", "flightdeck.runtime.unpack", json.dumps(request)]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=limits.wall_seconds,
            check=False,
            env={"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
        )
    except subprocess.TimeoutExpired:  # run() has killed the child
        raise CodeRejected(
            f"the bundle took more than {limits.wall_seconds:.0f} s to unpack and was stopped; "
            "build it with `flightdeck deploy`"
        ) from None
    for line in result.stdout.splitlines():
        if line.startswith(UNPACK_RESULT_PREFIX):
            data = json.loads(line.removeprefix(UNPACK_RESULT_PREFIX))
            if "rejected" in data:
                raise CodeRejected(str(data["rejected"]))
            return Extracted(int(data["files"]), int(data["bytes"]))
    raise CodeRejected(_child_failure(result.returncode, result.stderr, limits))


def _child_failure(returncode: int, stderr: str, limits: UnpackLimits) -> str:
    """One line for a child that ended without a result (killed by a limit, or crashed)."""
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return (
            f"the bundle needed more than {limits.cpu_seconds} s of CPU to unpack and was "
            "stopped; build it with `flightdeck deploy`"
        )
    if "MemoryError" in stderr:
        return (
            f"the bundle needed more than {_size(limits.memory_bytes)} of memory to unpack "
            "and was stopped; build it with `flightdeck deploy`"
        )
    last = (stderr.strip().splitlines() or [f"exit status {returncode}"])[-1]
    return f"the bundle could not be unpacked: {last[:200]}"


def extract_in_this_process(
    archive: Path,
    dest: Path,
    allowed: tuple[str, ...],
    max_files: int,
    max_bytes: int,
    header_bytes: int,
) -> Extracted:
    """The unpacking itself, for the child process only (:func:`safe_extract` runs it)."""
    scan_headers(archive, header_bytes)
    try:
        return _extract(archive, dest, allowed, max_files, max_bytes)
    except OSError as exc:  # a name the file system refuses, a link loop, a full disk
        raise CodeRejected(f"the bundle could not be unpacked: {shown(str(exc), 200)}") from None


def scan_headers(archive: Path, header_bytes: int = LIMITS.header_bytes) -> None:
    """Refuse oversized pax / GNU long-name headers before ``tarfile`` parses them.

    Reads the decompressed stream block by block (linear time, constant memory) and stops
    at the first block that is not a valid header: ``tarfile`` explains those.
    """
    try:
        with gzip.open(archive, "rb") as stream:
            entries = 0
            while len(block := stream.read(512)) == 512:
                if block == bytes(512) or not _valid_header(block):
                    return
                entries += 1
                if entries > MAX_ENTRIES * 2 + 2:  # each entry may carry one extra header
                    raise _too_many_entries()
                size = _header_size(block)
                kind = block[156:157]
                if kind in (b"x", b"g", b"L", b"K") and size > header_bytes:
                    raise CodeRejected(
                        f"the bundle holds a {size}-byte extended header, over the limit of "
                        f"{header_bytes} bytes; build it with `flightdeck deploy`"
                    )
                if kind in (b"5", b"2", b"1", b"3", b"4", b"6"):
                    size = 0  # no data follows these, whatever the size field says
                _skip(stream, (size + 511) // 512 * 512)
    except (OSError, EOFError, zlib.error) as exc:
        raise CodeRejected(f"the upload is not a readable .tar.gz archive: {exc}") from None


def _valid_header(block: bytes) -> bool:
    try:
        stored = int(block[148:156].rstrip(b"\0 ").decode("ascii") or "-1", 8)
    except ValueError:
        return False
    computed = sum(block[:148]) + 8 * 32 + sum(block[156:])
    return stored == computed


def _header_size(block: bytes) -> int:
    field = block[124:136]
    if field[0] & 0x80:  # base-256 (GNU) for sizes of 8 GB and more
        return int.from_bytes(field[1:], "big")
    try:
        return int(field.rstrip(b"\0 ").decode("ascii") or "0", 8)
    except ValueError:
        return 0


def _skip(stream: gzip.GzipFile, count: int) -> None:
    while count > 0:
        chunk = stream.read(min(count, 1024 * 1024))
        if not chunk:
            return
        count -= len(chunk)


def _too_many_entries() -> CodeRejected:
    return CodeRejected(
        f"the bundle holds more than {MAX_ENTRIES} entries (files, directories and links); "
        "move data files out of it"
    )


def _extract(
    archive: Path, dest: Path, allowed: tuple[str, ...], max_files: int, max_bytes: int
) -> Extracted:
    files = 0
    entries = 0
    written = 0
    seen: set[str] = set()
    links: list[tuple[str, str]] = []
    try:
        tar = tarfile.open(archive, mode="r:gz")  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise CodeRejected(f"the upload is not a readable .tar.gz archive: {exc}") from None
    try:
        for member in tar:
            name = _clean_name(member.name)
            if name in seen:
                raise CodeRejected(f"bundle entry {shown(name)} appears twice")
            seen.add(name)
            entries += 1
            if entries > MAX_ENTRIES:
                raise _too_many_entries()
            top = name.split("/", 1)[0]
            if top not in allowed:
                raise CodeRejected(
                    f"bundle entry {shown(name)} is not allowed here; this deploy may hold only "
                    + ", ".join(
                        f"{part}/" if part != "requirements.txt" else part for part in allowed
                    )
                )
            if not (member.isdir() or member.isfile() or member.issym() or member.islnk()):
                what = (
                    "a device"
                    if member.ischr() or member.isblk()
                    else ("a fifo" if member.isfifo() else "a special file")
                )
                raise CodeRejected(
                    f"bundle entry {shown(name)} is {what}; bundles hold files, directories "
                    "and links"
                )
            files += 0 if member.isdir() else 1
            if files > max_files:
                raise CodeRejected(
                    f"the bundle holds more than {max_files} files; move data files out of it"
                )
            target = dest / name
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if member.issym():
                links.append((name, _check_link(name, member.linkname)))
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if member.islnk():  # a hard link names an earlier member: copy that file
                source = _clean_name(member.linkname)
                if source not in seen or not (dest / source).is_file() or source == name:
                    raise CodeRejected(
                        f"bundle entry {shown(name)} links to {shown(member.linkname)}, which "
                        "is not a file earlier in the bundle"
                    )
                written += (dest / source).stat().st_size
                if written > max_bytes:
                    raise _too_big(max_bytes)
                shutil.copyfile(dest / source, target)
                continue
            stream = tar.extractfile(member)
            if stream is None:
                raise CodeRejected(f"bundle entry {shown(name)} could not be read")
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            mode = 0o755 if member.mode & 0o111 else 0o644
            with stream, os.fdopen(os.open(target, flags, mode), "wb") as out:
                while chunk := stream.read(1024 * 1024):
                    written += len(chunk)
                    if written > max_bytes:
                        raise _too_big(max_bytes)
                    out.write(chunk)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise CodeRejected(f"the upload is a damaged .tar.gz archive: {exc}") from None
    finally:
        tar.close()
    _make_links(dest, links)
    if not (dest / "dags").is_dir():
        raise CodeRejected(
            "the bundle has no dags/ folder; build it from the project's root with "
            "`flightdeck deploy`"
        )
    return Extracted(files, written)


def _make_links(dest: Path, links: list[tuple[str, str]]) -> None:
    """Create the symbolic links (after every file), each where nothing else is."""
    root = dest.resolve()
    for name, link_target in links:
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(path):  # e.g. a directory dags/x, then a link dags/x
            raise CodeRejected(
                f"bundle entry {shown(name)} is a link where the bundle already has a "
                "directory or file of that name"
            )
        path.symlink_to(link_target)
    for name, _ in links:  # links may point at links: judge where each finally lands
        try:
            resolved = (dest / name).resolve()
        except RuntimeError:  # a loop of links
            raise CodeRejected(f"bundle entry {shown(name)} is a link in a loop") from None
        if resolved != root and root not in resolved.parents:
            raise CodeRejected(
                f"bundle entry {shown(name)} is a link that leads outside the bundle"
            )


def _check_link(name: str, target: str) -> str:
    if not target or target.startswith("/") or (len(target) > 1 and target[1] == ":"):
        raise CodeRejected(
            f"bundle entry {shown(name)} is a link to an absolute path ({shown(target)})"
        )
    if len(target.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise CodeRejected(
            f"bundle entry {shown(name)} is a link with a target over {MAX_NAME_BYTES} bytes"
        )
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if joined == ".." or joined.startswith("../"):
        raise CodeRejected(f"bundle entry {shown(name)} is a link pointing outside the bundle")
    return target


def _too_big(max_bytes: int) -> CodeRejected:
    return CodeRejected(
        f"the bundle unpacks to more than {_size(max_bytes)}; move large files out of it"
    )
