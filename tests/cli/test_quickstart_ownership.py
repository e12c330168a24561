"""The quickstart owns its port and data directory before it writes anything: a data
directory another server runs on is refused by name (never wiped), and a taken port is
replaced by a free one."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from flightdeck.api.server_lock import ServerLock
from flightdeck.cli.quickstart import Quickstart, QuickstartFailed

HOLDER = """
import sys, time
from pathlib import Path
from flightdeck.api.server_lock import ServerLock
lock = ServerLock.take(Path(sys.argv[1]))
lock.announce("http://127.0.0.1:1234")
print("held", flush=True)
time.sleep(300)
"""


def test_a_data_directory_in_use_is_refused_and_left_alone(tmp_path: Path) -> None:
    data_dir = tmp_path / "quickstart"
    data_dir.mkdir()
    (data_dir / "flightdeck.db").write_bytes(b"the other server's database")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        run = Quickstart(data_dir, 0, "3.1.0", say=lambda _line: None)
        with pytest.raises(QuickstartFailed) as refused:
            run.start_control_plane()
        assert f"pid {holder.pid}" in refused.value.reason
        assert "http://127.0.0.1:1234" in refused.value.reason
        assert (data_dir / "flightdeck.db").read_bytes() == b"the other server's database"
        run.shutdown()
    finally:
        holder.kill()
        holder.wait()


def test_a_taken_port_is_replaced_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as foreign:
        foreign.bind(("127.0.0.1", 0))
        foreign.listen(1)
        taken = int(foreign.getsockname()[1])
        run = Quickstart(tmp_path / "quickstart", taken, "3.1.0", say=lambda _line: None)
        listener = run._own_port_and_data_dir()
        try:
            assert run.port != taken
            assert listener.getsockname()[1] == run.port
            assert ServerLock.held_here(tmp_path / "quickstart")
        finally:
            listener.close()
            run.shutdown()
    assert not ServerLock.held_here(tmp_path / "quickstart")
    assert ServerLock.holder(tmp_path / "quickstart") is None
