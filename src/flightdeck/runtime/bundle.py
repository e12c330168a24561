"""Code bundles: the ``.tar.gz`` a deploy uploads, built on the client and unpacked on the server.

The client builds the archive deterministically (same files in, same bytes out), so a
re-deploy of unchanged code can be recognised by its digest. The server never trusts an
upload: :func:`safe_extract` unpacks member by member and refuses anything that could write
outside the target directory, exhaust the disk, or create something other than plain files,
directories and links that stay inside the bundle. Each refusal says what and where.
"""

from __future__ import annotations

import gzip
import io
import os
import posixpath
import shutil
import stat
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
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
# Hidden files stay out of bundles, except the ones Airflow itself reads.
KEPT_HIDDEN = frozenset({".airflowignore"})
SKIPPED_DIRS = frozenset({"__pycache__", ".flightdeck", ".git", ".venv", "node_modules"})
_FIXED_MTIME = 946_684_800  # 2000-01-01: archive timestamps carry no information
_GZIP_MAGIC = b"\x1f\x8b"


class BundleError(RuntimeError_):
    """The project cannot be packed into a bundle (missing dags/, too large, a bad link)."""


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


def _clean_name(raw: str) -> str:
    """The member's path inside the bundle, or a refusal if it could land outside."""
    if raw.startswith(("/", "\\")) or (len(raw) > 1 and raw[1] == ":"):
        raise CodeRejected(
            f"bundle entry {raw!r} has an absolute path; bundles hold relative paths"
        )
    parts = [p for p in raw.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise CodeRejected(f"bundle entry {raw!r} climbs out of the bundle with '..'")
    if not parts:
        raise CodeRejected(f"bundle entry {raw!r} has an empty name")
    return "/".join(parts)


def safe_extract(
    archive: Path,
    dest: Path,
    *,
    allowed: tuple[str, ...] = CONTENTS["full"],
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_UNPACKED_BYTES,
) -> Extracted:
    """Unpack ``archive`` into the new directory ``dest``; raises :class:`CodeRejected`.

    Only the top-level parts in ``allowed`` may appear. Links are created last and must
    resolve inside ``dest``, so no file is ever written through one. On any refusal
    ``dest`` is removed again.
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
    try:
        return _extract(archive, dest, allowed, max_files, max_bytes)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def _extract(
    archive: Path, dest: Path, allowed: tuple[str, ...], max_files: int, max_bytes: int
) -> Extracted:
    files = 0
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
                raise CodeRejected(f"bundle entry {name!r} appears twice")
            seen.add(name)
            top = name.split("/", 1)[0]
            if top not in allowed:
                raise CodeRejected(
                    f"bundle entry {name!r} is not allowed here; this deploy may hold only "
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
                    f"bundle entry {name!r} is {what}; bundles hold files, directories and links"
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
                        f"bundle entry {name!r} links to {member.linkname!r}, which is not a "
                        "file earlier in the bundle"
                    )
                written += (dest / source).stat().st_size
                if written > max_bytes:
                    raise _too_big(max_bytes)
                shutil.copyfile(dest / source, target)
                continue
            stream = tar.extractfile(member)
            if stream is None:
                raise CodeRejected(f"bundle entry {name!r} could not be read")
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
    root = dest.resolve()
    for name, link_target in links:
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(link_target)
    for name, _ in links:  # links may point at links: judge where each finally lands
        resolved = (dest / name).resolve()
        if resolved != root and root not in resolved.parents:
            raise CodeRejected(f"bundle entry {name!r} is a link that leads outside the bundle")
    if not (dest / "dags").is_dir():
        raise CodeRejected(
            "the bundle has no dags/ folder; build it from the project's root with "
            "`flightdeck deploy`"
        )
    return Extracted(files, written)


def _check_link(name: str, target: str) -> str:
    if not target or target.startswith("/") or (len(target) > 1 and target[1] == ":"):
        raise CodeRejected(f"bundle entry {name!r} is a link to an absolute path ({target!r})")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if joined == ".." or joined.startswith("../"):
        raise CodeRejected(f"bundle entry {name!r} is a link pointing outside the bundle")
    return target


def _too_big(max_bytes: int) -> CodeRejected:
    return CodeRejected(
        f"the bundle unpacks to more than {_size(max_bytes)}; move large files out of it"
    )
