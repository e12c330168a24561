"""Start moto's server, wrapped in the emulator's application, on loopback in a thread.

moto keeps its resources in process-wide backends, so run one emulator per process (a second
one would share moto's resources but not the emulator's own quotas, regions and faults).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from flightdeck.aws.emulator.accounts import (
    DEFAULT_CUSTOMER_ACCOUNT_IDS,
    DEFAULT_PLATFORM_ACCOUNT_ID,
    AwsCredentials,
    static_credentials,
    validate_account_id,
)
from flightdeck.aws.emulator.control import EmulatorControl
from flightdeck.aws.emulator.persistence import PersistentApp, StateStore
from flightdeck.aws.emulator.state import EmulatorState
from flightdeck.sockets import listen

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

DEFAULT_EMULATOR_PORT = 8766


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RunningEmulator:
    """A started emulator: where it listens, its accounts, their credentials, its control."""

    def __init__(
        self,
        server: BaseWSGIServer,
        thread: threading.Thread,
        state: EmulatorState,
        platform_account_id: str,
        customer_account_ids: tuple[str, ...],
        store: StateStore | None = None,
        control_token: str = "",
    ) -> None:
        self._server = server
        self.store = store
        self._thread = thread
        self.state = state
        self.host = str(server.server_address[0])
        self.port = int(server.server_address[1])
        url_host = f"[{self.host}]" if ":" in self.host else self.host
        self.endpoint_url = f"http://{url_host}:{self.port}"
        self.platform_account_id = platform_account_id
        self.customer_account_ids = customer_account_ids
        # Only this process (and whoever it gives the token) may use the control endpoints.
        self.control_token = control_token
        self.control = EmulatorControl(self.endpoint_url, control_token)

    @property
    def customer_account_id(self) -> str:
        """The first (by default the only) customer account."""
        return self.customer_account_ids[0]

    def platform_credentials(self) -> AwsCredentials:
        """What the control plane's default credential chain holds: the platform account."""
        return static_credentials(self.platform_account_id)

    def customer_credentials(self, account_id: str | None = None) -> AwsCredentials:
        """A customer's own administrator credentials for ``account_id`` (default: the first).

        Static keys the emulator maps to the account, so they outlive a moto reset; AssumeRole
        into ``arn:aws:iam::<account>:role/<any>`` also works and lands in the same account.
        """
        return static_credentials(validate_account_id(account_id or self.customer_account_id))

    @property
    def state_dir(self) -> Path | None:
        """Where this emulator keeps its resources across restarts (None: in memory only)."""
        return None if self.store is None else self.store.directory

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_emulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    platform_account_id: str = DEFAULT_PLATFORM_ACCOUNT_ID,
    customer_account_ids: tuple[str, ...] = DEFAULT_CUSTOMER_ACCOUNT_IDS,
    allow_remote: bool = False,
    log_requests: bool = False,
    state_dir: Path | None = None,
) -> RunningEmulator:
    """Serve the emulator on ``host:port`` (0 picks a free port) and return once it listens.

    With ``state_dir`` every AWS resource outlives the process (see ``persistence``): the
    directory's state is restored before the first request, and with ``port=0`` the port of
    the previous run is tried first so saved endpoint URLs stay true.
    Raises ``EmulatorStateError`` for a directory in use, unwritable, damaged or incompatible.
    """
    if not allow_remote and not is_loopback(host):
        raise ValueError(
            f"refusing to bind the AWS emulator to {host}: it accepts any credentials; "
            "use 127.0.0.1 or allow remote access explicitly"
        )
    if "MOTO_ACCOUNT_ID" in os.environ:
        raise RuntimeError(
            "MOTO_ACCOUNT_ID is set: it would put every call in one account; unset it"
        )
    # Real accounts have AWS managed policies (AmazonEKSClusterPolicy ...); moto loads them
    # only when asked, when it builds an account's IAM backend.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    validate_account_id(platform_account_id)
    if not customer_account_ids:
        raise ValueError("the emulator needs at least one customer account")
    for account_id in customer_account_ids:
        validate_account_id(account_id)
    if platform_account_id in customer_account_ids:
        raise ValueError("the platform account cannot also be a customer account")

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    from flightdeck.aws.emulator.app import ControlGuard, EmulatorApp

    class _RequestHandler(MotoRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            if log_requests:
                super().log_request(*args, **kwargs)

    state = EmulatorState()
    emulator_app = EmulatorApp(
        DomainDispatcherApplication(create_backend_app),
        state,
        platform_account_id,
        tuple(customer_account_ids),
    )
    store = None if state_dir is None else StateStore(Path(state_dir))
    app: Any = emulator_app
    if store is not None:
        store.open()
    try:
        if store is not None:
            store.restore(emulator_app, state)
            app = PersistentApp(emulator_app, store)
        control_token = secrets.token_urlsafe(32)
        server = _bind(host, port, store, ControlGuard(app, control_token), _RequestHandler)
        if store is not None:
            store.remember_port(int(server.server_address[1]))
            store.start_snapshots()
    except BaseException:
        if store is not None:
            store.close()
        raise
    thread = threading.Thread(
        target=server.serve_forever, name="flightdeck-aws-emulator", daemon=True
    )
    thread.start()
    return RunningEmulator(
        server,
        thread,
        state,
        platform_account_id,
        tuple(customer_account_ids),
        store,
        control_token,
    )


def _bind(host: str, port: int, store: StateStore | None, app: Any, handler: Any) -> BaseWSGIServer:
    """Listen on ``port``; for port 0 with a state directory, the previous run's port first.

    The socket is bound here, not by werkzeug, whose server exits the process on EADDRINUSE;
    this raises ``OSError`` instead.
    """
    from werkzeug.serving import make_server

    remembered = store.remembered_port() if store is not None and port == 0 else None
    listener: socket.socket | None = None
    if remembered:
        try:
            listener = listen(host, remembered, backlog=128)
        except OSError:
            listener = None  # taken meanwhile: any free port will do
    if listener is None:
        listener = listen(host, port, backlog=128)
    with listener:
        bound_port = int(listener.getsockname()[1])
        return make_server(
            host, bound_port, app, threaded=True, request_handler=handler, fd=listener.fileno()
        )

