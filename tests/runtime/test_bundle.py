"""Code bundles: what the client packs, and every upload the server refuses to unpack."""

from __future__ import annotations

import gzip
import io
import os
import re
import tarfile
from pathlib import Path

import pytest

from flightdeck.runtime.base import CodeRejected
from flightdeck.runtime.bundle import BundleError, build_bundle, safe_extract


def _project(root: Path) -> Path:
    files = {
        "dags/etl.py": "print('etl')\n",
        "dags/sub/helper.py": "X = 1\n",
        "dags/.airflowignore": "scratch_.*\n",
        "dags/.hidden.py": "secret = 1\n",
        "dags/__pycache__/etl.cpython-311.pyc": "junk",
        "dags/old.pyc": "junk",
        "include/sql/query.sql": "select 1\n",
        "plugins/my_plugin.py": "P = 1\n",
        "requirements.txt": "pandas==2.2.2\n",
        ".env": "TOKEN=do-not-ship\n",
        ".flightdeck/config.yaml": "airflow_version: '3.1.0'\n",
        "tests/test_dags.py": "def test(): pass\n",
    }
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def _names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return [m.name for m in tar.getmembers() if m.isfile()]


def test_dag_only_bundle_holds_dags_without_caches_or_hidden_files(tmp_path: Path) -> None:
    data = build_bundle(_project(tmp_path), "dags")
    assert _names(data) == ["dags/.airflowignore", "dags/etl.py", "dags/sub/helper.py"]


def test_full_bundle_adds_include_plugins_requirements_but_never_env(tmp_path: Path) -> None:
    names = _names(build_bundle(_project(tmp_path), "full"))
    assert names == [
        "dags/.airflowignore",
        "dags/etl.py",
        "dags/sub/helper.py",
        "include/sql/query.sql",
        "plugins/my_plugin.py",
        "requirements.txt",
    ]


def test_the_same_files_give_the_same_bytes(tmp_path: Path) -> None:
    root = _project(tmp_path)
    first = build_bundle(root, "full")
    os.utime(root / "dags" / "etl.py", (1_700_000_000, 1_700_000_000))
    assert build_bundle(root, "full") == first
    (root / "dags" / "etl.py").write_text("print('changed')\n")
    assert build_bundle(root, "full") != first


def test_build_refuses_missing_dags_too_large_and_directory_links(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="has no dags/ folder"):
        build_bundle(tmp_path, "dags")
    root = _project(tmp_path / "p")
    (root / "dags" / "big.bin").write_bytes(os.urandom(300_000))
    with pytest.raises(BundleError, match=r"compressed, over the 0\.2 MB limit"):
        build_bundle(root, "dags", max_bytes=200_000)
    (root / "dags" / "big.bin").unlink()
    (root / "dags" / "shared").symlink_to(root / "include")
    with pytest.raises(BundleError, match="dags/shared is a link to a directory"):
        build_bundle(root, "dags")
    with pytest.raises(BundleError, match="kind 'everything' is not known"):
        build_bundle(root, "everything")  # type: ignore[arg-type]


def test_a_built_bundle_unpacks_to_the_same_files(tmp_path: Path) -> None:
    archive = tmp_path / "bundle.tar.gz"
    archive.write_bytes(build_bundle(_project(tmp_path / "p"), "full"))
    dest = tmp_path / "out"
    result = safe_extract(archive, dest)
    assert result.files == 6
    assert (dest / "dags" / "etl.py").read_text() == "print('etl')\n"
    assert (dest / "include" / "sql" / "query.sql").read_text() == "select 1\n"
    assert not (dest / ".env").exists()


# --- what the server refuses -------------------------------------------------------------


def _member(
    name: str, kind: bytes = tarfile.REGTYPE, content: bytes = b"x = 1\n", linkname: str = ""
) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o644
    if kind == tarfile.REGTYPE:
        info.size = len(content)
        return info, content
    return info, None


def _archive(tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for info, content in members:
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    path = tmp_path / "upload.tar.gz"
    path.write_bytes(gzip.compress(raw.getvalue()))
    return path


GOOD = _member("dags/ok.py")


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([GOOD, _member("/etc/cron.d/evil")], "'/etc/cron.d/evil' has an absolute path"),
        ([GOOD, _member("dags/../../evil.py")], "climbs out of the bundle with '..'"),
        (
            [GOOD, _member("dags/l", tarfile.SYMTYPE, linkname="/etc/passwd")],
            "'dags/l' is a link to an absolute path",
        ),
        (
            [GOOD, _member("dags/l", tarfile.SYMTYPE, linkname="../../home")],
            "'dags/l' is a link pointing outside the bundle",
        ),
        ([GOOD, _member("dags/dev", tarfile.CHRTYPE)], "'dags/dev' is a device"),
        ([GOOD, _member("dags/pipe", tarfile.FIFOTYPE)], "'dags/pipe' is a fifo"),
        (
            [GOOD, _member("dags/h", tarfile.LNKTYPE, linkname="dags/missing.py")],
            "links to 'dags/missing.py', which is not a file earlier",
        ),
        ([GOOD, _member("dags/ok.py")], "'dags/ok.py' appears twice"),
        ([GOOD, _member("setup.sh")], "'setup.sh' is not allowed here"),
        ([_member("include/x.py")], "the bundle has no dags/ folder"),
    ],
    ids=[
        "absolute",
        "dotdot",
        "abs-link",
        "outside-link",
        "device",
        "fifo",
        "hardlink",
        "duplicate",
        "top-level",
        "no-dags",
    ],
)
def test_unsafe_archives_are_refused_and_nothing_is_left(
    tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], message: str
) -> None:
    dest = tmp_path / "out"
    with pytest.raises(CodeRejected, match=re.escape(message)):
        safe_extract(_archive(tmp_path, members), dest)
    assert not dest.exists()
    assert not (tmp_path.parent / "etc").exists() and not (tmp_path.parent / "evil.py").exists()


def test_a_chain_of_links_that_ends_outside_is_refused(tmp_path: Path) -> None:
    """Each link looks inside on its own; followed together they leave the bundle."""
    members = [
        GOOD,
        _member("include/a/b/deep", tarfile.SYMTYPE, linkname="../.."),  # -> include/
        _member("dags/up", tarfile.SYMTYPE, linkname="../include/a/b/deep/../.."),
    ]
    (tmp_path / "outside").mkdir()
    with pytest.raises(CodeRejected, match="'dags/up' is a link that leads outside"):
        safe_extract(_archive(tmp_path / "outside", members), tmp_path / "outside" / "out")


def test_links_inside_the_bundle_are_kept(tmp_path: Path) -> None:
    members = [
        GOOD,
        _member("include/shared.py", content=b"S = 2\n"),
        _member("dags/shared.py", tarfile.SYMTYPE, linkname="../include/shared.py"),
        _member("dags/copy.py", tarfile.LNKTYPE, linkname="dags/ok.py"),
    ]
    dest = tmp_path / "out"
    safe_extract(_archive(tmp_path, members), dest)
    assert (dest / "dags" / "shared.py").read_text() == "S = 2\n"
    assert (dest / "dags" / "copy.py").read_text() == "x = 1\n"


def test_dag_only_deploys_may_hold_only_dags(tmp_path: Path) -> None:
    archive = _archive(tmp_path, [GOOD, _member("requirements.txt", content=b"x\n")])
    with pytest.raises(CodeRejected, match="this deploy may hold only dags/"):
        safe_extract(archive, tmp_path / "out", allowed=("dags",))


def test_too_many_files_or_bytes_are_refused(tmp_path: Path) -> None:
    many = [_member(f"dags/f{i}.py") for i in range(6)]
    with pytest.raises(CodeRejected, match="more than 5 files"):
        safe_extract(_archive(tmp_path, many), tmp_path / "a", max_files=5)
    big = [_member("dags/big.py", content=b"#" * 5000)]
    with pytest.raises(CodeRejected, match="unpacks to more than"):
        safe_extract(_archive(tmp_path, big), tmp_path / "b", max_bytes=4096)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_non_gzip_and_damaged_uploads_are_refused(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info, content = GOOD
        tar.addfile(info, io.BytesIO(content or b""))
    plain = tmp_path / "plain.tar"
    plain.write_bytes(raw.getvalue())
    with pytest.raises(CodeRejected, match="not a gzip-compressed tar archive"):
        safe_extract(plain, tmp_path / "a")
    zipped = tmp_path / "x.zip"
    zipped.write_bytes(b"PK\x03\x04rest")
    with pytest.raises(CodeRejected, match="not a gzip-compressed tar archive"):
        safe_extract(zipped, tmp_path / "b")
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(gzip.compress(raw.getvalue())[:40])
    with pytest.raises(
        CodeRejected, match=r"not a readable \.tar\.gz archive: Compressed file ended"
    ):
        safe_extract(truncated, tmp_path / "c")
    not_tar = tmp_path / "text.gz"
    not_tar.write_bytes(gzip.compress(b"just some text, not a tar archive\n" * 20))
    with pytest.raises(CodeRejected, match=r"not a readable \.tar\.gz archive: invalid header"):
        safe_extract(not_tar, tmp_path / "d")
    assert not any((tmp_path / d).exists() for d in "abcd")
