"""Pick ports for a local Airflow: the usual ones when free, otherwise any free one.

Two projects (or a stray ``airflow standalone``) must be able to run side by side, so every
port Airflow listens on is checked, not only the UI's.
"""

from __future__ import annotations

import socket


def port_is_free(port: int) -> bool:
    for host in ("127.0.0.1", "0.0.0.0"):  # noqa: S104 - Airflow's log servers bind all interfaces
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def choose_ports(preferred: dict[str, int], taken: frozenset[int] = frozenset()) -> dict[str, int]:
    """Keep each preferred port if free and not already taken by another role, else pick one.

    ``taken`` holds ports promised elsewhere but maybe not bound yet (another Airflow that
    is still starting), which a bind test alone would not see.
    """
    chosen: dict[str, int] = {}
    for role, port in preferred.items():
        candidate = port
        while candidate in chosen.values() or candidate in taken or not port_is_free(candidate):
            candidate = free_port()
        chosen[role] = candidate
    return chosen
