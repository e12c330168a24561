"""Narrow loopback bridges between the host and one Deployment's network namespace.

A Deployment's processes share a network namespace of their own: its loopback is empty, so
nothing of the host (control-plane API, emulator, databases, other Deployments) answers
there. Two TCP ports are bridged, each over a Unix socket in a control-plane directory the
sandboxed processes never see (Unix sockets are files, not tied to a namespace):

* ``--inbound PORT``: the host's ``127.0.0.1:PORT`` -> socket ``in-PORT`` -> the namespace's
  ``127.0.0.1:PORT`` (the Airflow UI/API, for the console, health checks and deploys);
* ``--outbound PORT``: the namespace's ``127.0.0.1:PORT`` -> socket ``out-PORT`` -> the
  host's ``127.0.0.1:PORT`` (the loopback AWS endpoint the Deployment is configured with).

The host side (this program) starts the namespace side in a fresh network namespace with
bubblewrap, waits for it, then writes ``holder.json`` (its pid and start time) so the
Deployment's processes can join that namespace (:mod:`flightdeck.devenv.netjoin`). Both
sides run in the socket directory (socket names stay short whatever its path). The namespace
side dies with the host side; the host side ends when the namespace side does.

Usage: ``python -m flightdeck.devenv.netbridge [--user-namespace] [--inbound PORT]...
[--outbound PORT]...`` from the socket directory (``--inner`` is the namespace side).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from flightdeck.devenv.process_identity import process_start_time

HOLDER_FILE = "holder.json"
READY = "flightdeck-netbridge-ready"
LOOPBACK = "127.0.0.1"
_CHUNK = 64 * 1024

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Connect = Callable[[], Awaitable[Streams]]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of file, then pass the end on (half-close), as TCP does."""
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


async def _relay(client: Streams, connect: Connect) -> None:
    reader, writer = client
    try:
        upstream_reader, upstream_writer = await connect()
    except OSError:
        writer.close()  # nothing listens on the other side: the client sees the refusal
        return
    try:
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
    finally:
        for stream in (writer, upstream_writer):
            stream.close()
            with contextlib.suppress(ConnectionError, OSError):
                await stream.wait_closed()


def _to_tcp(port: int) -> Connect:
    return lambda: asyncio.open_connection(LOOPBACK, port)


def _to_unix(name: str) -> Connect:
    return lambda: asyncio.open_unix_connection(name)


async def tcp_to_unix(port: int, name: str) -> asyncio.Server:
    """Listen on loopback ``port``; each connection goes on to socket ``name``."""
    connect = _to_unix(name)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _relay((reader, writer), connect)

    return await asyncio.start_server(handle, LOOPBACK, port)


async def unix_to_tcp(name: str, port: int) -> asyncio.Server:
    """Listen on socket ``name`` (owner-only); each connection goes on to loopback ``port``."""
    connect = _to_tcp(port)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _relay((reader, writer), connect)

    Path(name).unlink(missing_ok=True)
    server = await asyncio.start_unix_server(handle, path=name)
    Path(name).chmod(0o600)
    return server


async def _inner(inbound: Sequence[int], outbound: Sequence[int]) -> None:
    """The namespace side: sockets for the host's inbound ports, listeners for outbound."""
    servers = [await unix_to_tcp(f"in-{port}", port) for port in inbound]
    servers += [await tcp_to_unix(port, f"out-{port}") for port in outbound]
    print(f"{READY} {os.getpid()}", flush=True)  # no pid namespace: the host's pid
    await asyncio.Event().wait()  # held until the host side ends (with no bridge, too)


def inner_command(
    user_namespace: bool, inbound: Sequence[int], outbound: Sequence[int]
) -> list[str]:
    """The namespace side in a fresh network namespace (bubblewrap brings its loopback up).

    It is the control plane's own code, so it sees the host's files (read-only) but for
    the socket directory; what customer code can do with it is connect to its listeners.
    """
    here = str(Path.cwd())
    command = ["bwrap", "--die-with-parent", "--unshare-net"]
    if user_namespace:
        command.append("--unshare-user")
    command += ["--ro-bind", "/", "/", "--dev", "/dev", "--bind", here, here, "--chdir", here]
    command += ["--", sys.executable, "-I", "-m", "flightdeck.devenv.netbridge", "--inner"]
    for port in inbound:
        command += ["--inbound", str(port)]
    for port in outbound:
        command += ["--outbound", str(port)]
    return command


async def _outer(user_namespace: bool, inbound: Sequence[int], outbound: Sequence[int]) -> int:
    Path(HOLDER_FILE).unlink(missing_ok=True)
    inner = await asyncio.create_subprocess_exec(
        *inner_command(user_namespace, inbound, outbound), stdout=subprocess.PIPE
    )
    assert inner.stdout is not None
    line = (await inner.stdout.readline()).decode(errors="replace").split()
    if len(line) != 2 or line[0] != READY:
        print("the network namespace could not be set up (see above)", file=sys.stderr)
        return 1
    pid = int(line[1])
    servers = [await tcp_to_unix(port, f"in-{port}") for port in inbound]
    servers += [await unix_to_tcp(f"out-{port}", port) for port in outbound]
    holder = {"pid": pid, "started": process_start_time(pid)}
    Path(HOLDER_FILE + ".tmp").write_text(json.dumps(holder))
    Path(HOLDER_FILE + ".tmp").replace(HOLDER_FILE)
    code = await inner.wait()
    print(f"the network namespace's bridge ended (exit {code})", file=sys.stderr)
    return 1


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="netbridge")
    parser.add_argument("--inner", action="store_true")
    parser.add_argument("--user-namespace", action="store_true")
    parser.add_argument("--inbound", type=int, action="append", default=[])
    parser.add_argument("--outbound", type=int, action="append", default=[])
    args = parser.parse_args(argv)
    if args.inner:
        asyncio.run(_inner(args.inbound, args.outbound))
        return 0
    return asyncio.run(_outer(args.user_namespace, args.inbound, args.outbound))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
