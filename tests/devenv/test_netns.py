"""A Deployment's network namespace: the bridges carry exactly the two bridged ports, the
processes that join it reach each other on its loopback, and nothing of the host's loopback
(issue 20). Real bubblewrap namespaces and sockets; no Airflow."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from flightdeck.config import SandboxNetwork, Settings
from flightdeck.devenv import netbridge, netns, sandbox

needs_sandbox = pytest.mark.skipif(
    sandbox.available() is sandbox.Isolation.SINGLE_TENANT,
    reason="bubblewrap cannot run on this host",
)
PYTHON = "/usr/bin/python3"  # in every sandbox's view (/usr)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _greeter(text: bytes) -> tuple[socket.socket, int]:
    """A host loopback service that greets each connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            client.sendall(text)
            client.close()

    threading.Thread(target=serve, daemon=True).start()
    return server, int(server.getsockname()[1])


def test_the_bridge_relays_both_ways_and_passes_the_end_of_a_stream(tmp_path: Path) -> None:
    async def scenario() -> bytes:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            data = await reader.read()  # until the client's half-close arrives
            writer.write(data.upper())
            await writer.drain()
            writer.close()

        target = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = target.sockets[0].getsockname()[1]
        os.chdir(tmp_path)
        inward = await netbridge.unix_to_tcp("in-x", port)
        front_port = _free_port()
        front = await netbridge.tcp_to_unix(front_port, "in-x")
        reader, writer = await asyncio.open_connection("127.0.0.1", front_port)
        writer.write(b"hello " * 50_000)
        writer.write_eof()
        answer = await reader.read()
        writer.close()
        for server in (target, inward, front):
            server.close()
        return answer

    here = Path.cwd()
    try:
        answer = asyncio.run(scenario())
    finally:
        os.chdir(here)
    assert answer == b"HELLO " * 50_000
    assert oct((tmp_path / "in-x").stat().st_mode & 0o777) == "0o600"


def test_a_bridge_to_nothing_refuses_the_connection(tmp_path: Path) -> None:
    async def scenario() -> bytes:
        os.chdir(tmp_path)
        port = _free_port()
        front = await netbridge.tcp_to_unix(port, "nobody-listens")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answer = await reader.read()
        writer.close()
        front.close()
        return answer

    here = Path.cwd()
    try:
        assert asyncio.run(scenario()) == b""
    finally:
        os.chdir(here)


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("http://127.0.0.1:5000", 5000),
        ("http://localhost:4566/", 4566),
        ("http://[::1]:9000", 9000),
        ("https://127.0.0.1", 443),
        ("https://secretsmanager.us-east-1.amazonaws.com", None),
        ("http://10.0.0.5:5000", None),
        (None, None),
        ("http://127.0.0.1:notaport", None),
    ],
)
def test_only_a_loopback_aws_endpoint_is_bridged(url: str | None, port: int | None) -> None:
    assert netns.loopback_port(url) == port


def test_production_refuses_the_host_network_and_embedded_defaults_to_isolated(
    tmp_path: Path,
) -> None:
    assert Settings(data_dir=tmp_path).sandbox_network is SandboxNetwork.ISOLATED
    with pytest.raises(ValueError, match="FLIGHTDECK_SANDBOX_NETWORK=host lets customer code"):
        Settings(
            mode="production",
            secret_key="k" * 40,
            database_url="postgresql+psycopg://u@h/db",
            embedded_emulator=False,
            sandbox_network=SandboxNetwork.HOST,
        )


PROCESS = """
import socket, sys
def reach(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).recv(64)
    except OSError as exc:
        return type(exc).__name__
    return "reached"
print(*(reach(int(p)) for p in sys.argv[1:]), flush=True)
"""


@pytest.fixture
def namespace(tmp_path: Path) -> Iterator[tuple[sandbox.Sandbox, netns.Holder, int, int, int]]:
    """A Deployment's namespace: UI port bridged in, one host service bridged out."""
    root = tmp_path / "deployment"
    (root / "home").mkdir(parents=True)
    tmp_path.chmod(0o755)
    root.chmod(0o755)
    _aws_server, aws = _greeter(b"aws")
    _other_server, other = _greeter(b"other")
    ui = _free_port()
    view = sandbox.Sandbox(
        sandbox.available(), root, writable={root / "home": root / "home"}, outbound=(aws,)
    )
    log = tmp_path / "network.log"
    bridge = netns.spawn(
        tmp_path / "net",
        log,
        view.isolation is sandbox.Isolation.NAMESPACE,
        (ui,),
        (aws,),
        {"PATH": os.environ["PATH"]},
    )
    try:
        yield view, netns.wait_ready(bridge, tmp_path / "net", log), ui, aws, other
    finally:
        netns.end(bridge)


@needs_sandbox
def test_processes_that_join_share_a_loopback_that_reaches_only_the_bridged_ports(
    namespace: tuple[sandbox.Sandbox, netns.Holder, int, int, int],
) -> None:
    view, holder, ui, aws, other = namespace
    root = view.root
    serve = f"import socket; s = socket.create_server(('127.0.0.1', {ui})); " + (
        "print('up', flush=True); c, _ = s.accept(); c.sendall(b'airflow'); c.close()"
    )
    server = subprocess.Popen(
        view.wrap([PYTHON, "-c", serve], root, holder), stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "up"
        # Another process of the Deployment, in its own sandbox, reaches the first on
        # loopback, and the bridged AWS endpoint; the host's other loopback service and
        # PostgreSQL's port are not there.
        peer = subprocess.run(
            view.wrap([PYTHON, "-c", PROCESS, str(ui), str(aws), str(other), "5432"], root, holder),
            capture_output=True,
            text=True,
            check=False,
        )
        refused = "ConnectionRefusedError"
        assert peer.stdout.split() == ["reached", "reached", refused, refused], peer.stderr
    finally:
        server.kill()
        server.wait()


@needs_sandbox
def test_the_host_reaches_the_deployments_ui_port_through_its_bridge(
    namespace: tuple[sandbox.Sandbox, netns.Holder, int, int, int],
) -> None:
    view, holder, ui, _aws, _other = namespace
    serve = f"import socket; s = socket.create_server(('127.0.0.1', {ui})); " + (
        "print('up', flush=True); c, _ = s.accept(); c.sendall(b'airflow'); c.close()"
    )
    server = subprocess.Popen(
        view.wrap([PYTHON, "-c", serve], view.root, holder), stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "up"
        with socket.create_connection(("127.0.0.1", ui), timeout=10) as client:
            assert client.recv(64) == b"airflow"
    finally:
        server.kill()
        server.wait()


@needs_sandbox
def test_a_one_off_process_gets_a_fresh_namespace_and_host_mode_keeps_the_hosts(
    tmp_path: Path,
) -> None:
    _server, port = _greeter(b"host")
    root = tmp_path / "d"
    root.mkdir()
    tmp_path.chmod(0o755)
    isolated = sandbox.Sandbox(sandbox.available(), root)
    host = sandbox.Sandbox(sandbox.available(), root, network=SandboxNetwork.HOST)
    for view, expected in ((isolated, "ConnectionRefusedError"), (host, "reached")):
        result = subprocess.run(
            view.wrap([PYTHON, "-c", PROCESS, str(port)], root),
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.stdout.strip() == expected, (view.network, result.stderr)


def test_joining_a_holder_that_is_gone_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flightdeck.devenv.netjoin", str(os.getpid()), "1", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "network namespace" in result.stderr and "is gone" in result.stderr


UNPRIVILEGED = """
import os, pathlib, socket, subprocess, sys, threading
from flightdeck.devenv import netns, sandbox

def greeter():
    server = socket.create_server(("127.0.0.1", 0))
    def serve():
        while True:
            client, _ = server.accept(); client.sendall(b"hi"); client.close()
    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]

root = pathlib.Path(sys.argv[1])
(aws_server, aws), (other_server, other) = greeter(), greeter()
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0)); ui = probe.getsockname()[1]
view = sandbox.Sandbox(sandbox.available(), root / "d", outbound=(aws,))
bridge = netns.spawn(root / "net", root / "net.log", True, (ui,), (aws,), dict(os.environ))
holder = netns.wait_ready(bridge, root / "net", root / "net.log")
serve = (f"import socket, os; s = socket.create_server(('127.0.0.1', {ui})); "
         "print(os.getuid(), flush=True); c, _ = s.accept(); c.sendall(b'x'); c.close()")
server = subprocess.Popen(view.wrap(["/usr/bin/python3", "-c", serve], root / "d", holder),
                          stdout=subprocess.PIPE, text=True)
uid = server.stdout.readline().strip()
peer = subprocess.run(view.wrap(["/usr/bin/python3", "-c", sys.argv[2], str(aws), str(other)],
                                root / "d", holder), capture_output=True, text=True)
print(sandbox.available().value, uid == str(os.getuid()), peer.stdout.strip() or peer.stderr)
client = socket.create_connection(("127.0.0.1", ui), timeout=10)
print("host reaches ui", client.recv(8).decode())
server.wait(); netns.end(bridge)
"""


@needs_sandbox
def test_without_root_the_namespace_is_joined_through_its_owner_user_namespace(
    tmp_path: Path,
) -> None:
    """The unprivileged path (``namespace`` mode), run here as a system user of its own with
    an interpreter it may run: the same joining, bridges and refusals."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run a process as another, unprivileged user")
    import shutil
    import tempfile

    import flightdeck

    account = sandbox.ensure_account("test-netns-probe")
    root = Path(tempfile.mkdtemp(prefix="flightdeck-netns-"))  # in /tmp: reachable
    try:
        interpreter = root / "venv"
        subprocess.run(  # the system Python's venv (the test's own lives under /root)
            [PYTHON, "-m", "venv", "--without-pip", "--clear", str(interpreter)], check=True
        )
        site = next(interpreter.glob("lib/python3*/site-packages"))
        ours = next(p for p in map(Path, sys.path) if p.name == "site-packages")  # pydantic
        source = Path(flightdeck.__file__).parents[1]
        (site / "flightdeck-test.pth").write_text(f"{source}\n{ours}\n")
        (root / "d").mkdir()
        for path in (root, root / "d"):
            os.chown(path, account.uid, account.gid)
        result = subprocess.run(
            [str(interpreter / "bin" / "python"), "-c", UNPRIVILEGED, str(root), PROCESS],
            user=account.uid,
            group=account.gid,
            extra_groups=[],
            env={"PATH": "/usr/bin:/bin", "HOME": str(root)},
            capture_output=True,
            text=True,
            check=False,
            cwd=root,
            timeout=120,
        )
    finally:
        sandbox.remove_account("test-netns-probe")
        shutil.rmtree(root, ignore_errors=True)
    assert result.stdout.splitlines() == [
        "namespace True reached ConnectionRefusedError",
        "host reaches ui x",
    ], result
