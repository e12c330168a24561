"""Hostile bundles: each is refused quickly with a short reason, in a child process, while
the server keeps answering (the findings of issue 20: a 419-byte pax header froze the API
for 81 s, a 300 MB name was stored in the error, 200,000 directories were accepted, and a
directory followed by a same-named link crashed the worker)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flightdeck.api.app import create_app
from flightdeck.config import Settings
from flightdeck.runtime import bundle
from flightdeck.runtime.base import MAX_MESSAGE_CHARS, CodeRejected
from flightdeck.runtime.bundle import UnpackLimits, check_in_child, safe_extract
from support import bundles


def _refusal(archive: Path, dest: Path, **kwargs: object) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(CodeRejected) as caught:
        safe_extract(archive, dest, **kwargs)  # type: ignore[arg-type]
    assert not dest.exists()
    return str(caught.value), time.monotonic() - started


def test_the_419_byte_pax_header_is_refused_at_once(tmp_path: Path) -> None:
    archive = bundles.write(tmp_path / "pax.tar.gz", bundles.pax_records(130_000))
    assert archive.stat().st_size <= 419
    reason, seconds = _refusal(archive, tmp_path / "out")
    assert reason.startswith("the bundle holds a 260001-byte extended header, over the limit")
    assert "\n" not in reason and seconds < 10
    with pytest.raises(CodeRejected, match="extended header"):
        check_in_child(archive)  # what the Kubernetes runtime runs before listing a bundle


def test_the_api_answers_while_a_pax_bomb_is_unpacked_and_the_child_is_stopped(
    tmp_path: Path,
) -> None:
    """Even past the header check (raised here), the quadratic parse runs in a child that the
    CPU or memory limit ends, and the server's own threads keep answering /healthz."""
    archive = bundles.write(tmp_path / "pax.tar.gz", bundles.pax_records(130_000))
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        run_worker_in_server=False,
        embedded_emulator=False,
    )
    outcome: dict[str, str] = {}
    limits = UnpackLimits(cpu_seconds=3, memory_bytes=256 * 2**20, header_bytes=10**7)

    def unpack() -> None:  # as the deployment worker's thread does inside the server
        try:
            safe_extract(archive, tmp_path / "out", limits=limits)
        except CodeRejected as exc:
            outcome["reason"] = str(exc)

    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200  # warmed up
        worker = threading.Thread(target=unpack)
        worker.start()
        slowest, answers = 0.0, 0
        while worker.is_alive():
            started = time.monotonic()
            assert client.get("/healthz").status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            answers += 1
            time.sleep(0.05)
        worker.join()
    # Answered all along: had the parse held the server's interpreter, one /healthz would have
    # waited for the whole CPU budget. How many answers fit depends on which limit ends it first.
    assert answers >= 2 and slowest < limits.cpu_seconds / 2, (answers, slowest)
    # tarfile's parse is quadratic in time and in memory: whichever limit comes first ends it.
    assert outcome["reason"] in (
        "the bundle needed more than 3 s of CPU to unpack and was stopped; "
        "build it with `flightdeck deploy`",
        "the bundle needed more than 256.0 MB of memory to unpack and was stopped; "
        "build it with `flightdeck deploy`",
    )


def test_a_bundle_past_its_wall_clock_budget_is_killed(tmp_path: Path) -> None:
    archive = bundles.write(tmp_path / "ok.tar.gz", bundles.a_dag())
    reason, _ = _refusal(archive, tmp_path / "out", limits=UnpackLimits(wall_seconds=0.01))
    assert reason.startswith("the bundle took more than 0 s to unpack and was stopped")


@pytest.mark.parametrize("how", ["gnu", "pax"])
def test_a_huge_name_is_refused_with_a_short_reason(tmp_path: Path, how: str) -> None:
    archive = bundles.write(tmp_path / "name.tar.gz", bundles.long_name(30 * 1024 * 1024, how))
    assert archive.stat().st_size < 100 * 1024
    reason, _ = _refusal(archive, tmp_path / "a")
    assert "extended header, over the limit of 8192 bytes" in reason
    assert len(reason) <= MAX_MESSAGE_CHARS
    # Past the header check, the name itself is refused, and quoted cut short.
    reason, _ = _refusal(archive, tmp_path / "b", limits=UnpackLimits(header_bytes=10**9))
    assert reason.startswith("bundle entry 'dags/aaaa") and "over 1024 bytes" in reason
    assert len(reason) <= 300


def test_two_hundred_thousand_directories_are_refused(tmp_path: Path) -> None:
    archive = bundles.write(tmp_path / "dirs.tar.gz", bundles.directories(200_000))
    reason, seconds = _refusal(archive, tmp_path / "out")
    assert reason == (
        f"the bundle holds more than {bundle.MAX_ENTRIES} entries (files, directories and "
        "links); move data files out of it"
    )
    assert seconds < 60


def test_too_deep_a_path_is_refused(tmp_path: Path) -> None:
    deep = "dags/" + "d/" * 40 + "x.py"
    archive = bundles.write(
        tmp_path / "deep.tar.gz", [*bundles.a_dag(), bundles._header(deep, b"0")]
    )
    reason, _ = _refusal(archive, tmp_path / "out")
    assert "is 42 levels deep, over the limit of 32" in reason


@pytest.mark.parametrize("explicit", [True, False], ids=["directory-entry", "implied-directory"])
def test_a_directory_then_a_same_named_link_is_refused(tmp_path: Path, explicit: bool) -> None:
    archive = bundles.write(tmp_path / "dl.tar.gz", bundles.directory_then_link(explicit))
    reason, _ = _refusal(archive, tmp_path / "out")
    expected = (
        "bundle entry 'dags/x' appears twice"
        if explicit
        else "bundle entry 'dags/x' is a link where the bundle already has a directory or "
        "file of that name"
    )
    assert reason == expected
