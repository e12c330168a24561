"""Fixtures for ``flightdeck dev`` tests: a real moto server on loopback.

The shared emulator fixture may not exist yet, so these tests start their own
``ThreadedMotoServer``; Airflow's processes reach it through ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devenv.cli_helpers import free_port


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
