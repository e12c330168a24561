"""Listening sockets, bound before anything else happens.

Binding first (and holding the socket) is the only race-free way to own a port: a server
that cannot have its port stops before it writes a file or starts a process. Used by the
control plane, the quickstart and the AWS emulator.
"""

from __future__ import annotations

import socket


def listen(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: any free port); raises ``OSError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(backlog)
    except BaseException:
        listener.close()
        raise
    listener.set_inheritable(False)
    return listener
