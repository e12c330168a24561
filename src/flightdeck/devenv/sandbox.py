"""Customer code in a sandbox: what a Deployment's processes may see and who they run as.

A DAG is arbitrary Python, run at parse time and by every Airflow component. On a shared
control-plane host it must not read the control plane's database or data directory, other
Deployments' files, or other processes' environments. Each process of a Deployment starts
inside a bubblewrap (``bwrap``) view of the file system built from nothing: the system
(``/usr``, ``/etc``), its Airflow venv and interpreter read-only, its own directory
read-only, and only its Airflow home and ``HOME`` writable; its own ``/proc`` (a process
namespace: no other process is visible), ``/tmp`` and ``/dev``.

The network (``FLIGHTDECK_SANDBOX_NETWORK``): ``isolated`` gives each Deployment a network
namespace of its own, shared by all its processes (:mod:`flightdeck.devenv.netns`), and
each one-off process (database migration, parse gate) a fresh one: the host's loopback
services are out of reach; the Airflow UI port and a loopback AWS endpoint are bridged.
``host`` keeps the host's network (a single-user laptop; production refuses it).

Who it runs as is chosen once per process (:func:`available`):

* ``users`` - the server runs as root: one system user per Deployment (``useradd
  --system``), its directories owned by that user and 0700, the venv readable but not
  writable by it; bubblewrap builds the view as root, then ``setpriv`` drops to the user
  with no capabilities and ``no_new_privs``.
* ``namespace`` - not root: an unprivileged bubblewrap (user namespace), same user id.
* ``single-tenant`` - no usable bubblewrap: processes run unconfined, as the server.
  Production mode refuses the local runtime then (``flightdeck server``).

The writable Airflow home lives apart from the control plane's own files (run record,
component logs, keys): what a Deployment's user can write, the control plane never
writes or follows, so no link it plants can redirect the server.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from flightdeck.config import SandboxNetwork
from flightdeck.devenv.netns import Holder

USER_PREFIX = "fd-"  # system users made for Deployments: fd-<12 hex digits of the id>
_SYSTEM_READ_ONLY = ("/usr", "/etc")
_SYSTEM_LINKS = ("bin", "lib", "lib64", "sbin")  # symbolic links into /usr on merged systems
_TMP, _SHM = "/tmp", "/dev/shm"  # noqa: S108 - fresh, empty file systems inside the sandbox


class Isolation(StrEnum):
    USERS = "users"
    NAMESPACE = "namespace"
    SINGLE_TENANT = "single-tenant"


DESCRIPTIONS = {
    Isolation.USERS: "one system user per Deployment, in a bubblewrap sandbox",
    Isolation.NAMESPACE: "an unprivileged bubblewrap sandbox (user namespace)",
    Isolation.SINGLE_TENANT: (
        "single-tenant: no sandbox (bubblewrap is missing or cannot run here), so customer "
        "code runs with the control plane's rights; production mode refuses the local runtime"
    ),
}

NETWORK_DESCRIPTIONS = {
    SandboxNetwork.ISOLATED: (
        "a network namespace per Deployment: the host's loopback services are out of reach "
        "but for its Airflow UI port (in) and its loopback AWS endpoint (out)"
    ),
    SandboxNetwork.HOST: "the host's network, loopback services included (single user only)",
}


def _works(command: list[str]) -> bool:
    try:
        result = subprocess.run(command, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


@lru_cache(maxsize=1)
def available() -> Isolation:
    """The strongest isolation this host offers, tried once per process."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Isolation.SINGLE_TENANT
    trial = [bwrap, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-ipc", "--proc", "/proc"]
    if os.geteuid() == 0:
        tools = all(shutil.which(tool) for tool in ("setpriv", "useradd"))
        if tools and _works(
            [*trial, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "true"]
        ):
            return Isolation.USERS
        return Isolation.SINGLE_TENANT
    if _works([*trial, "--unshare-user", "true"]):
        return Isolation.NAMESPACE
    return Isolation.SINGLE_TENANT


@dataclass(frozen=True)
class Account:
    """The system user one Deployment's processes run as."""

    name: str
    uid: int
    gid: int


def account_name(deployment_id: str) -> str:
    return USER_PREFIX + hashlib.sha256(deployment_id.encode()).hexdigest()[:12]


def ensure_account(deployment_id: str) -> Account:
    """The Deployment's system user (no home, no login shell), created on first use."""
    name = account_name(deployment_id)
    with contextlib.suppress(KeyError):
        entry = pwd.getpwnam(name)
        return Account(name, entry.pw_uid, entry.pw_gid)
    subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            "--comment",
            f"flightdeck Deployment {deployment_id}",
            name,
        ],
        capture_output=True,
        check=False,
    )  # a concurrent creation of the same user fails here, and is found below
    entry = pwd.getpwnam(name)
    return Account(name, entry.pw_uid, entry.pw_gid)


def remove_account(deployment_id: str) -> None:
    """Delete the Deployment's system user (its files are gone with its directory)."""
    name = account_name(deployment_id)
    with contextlib.suppress(KeyError):
        pwd.getpwnam(name)
        subprocess.run(["userdel", name], capture_output=True, check=False)


@dataclass(frozen=True)
class Sandbox:
    """The view one Deployment's processes get (see the module docstring).

    ``writable`` maps a path as the processes see it to the host directory behind it;
    ``handed`` are control-plane files they use (given to their user; Airflow rewrites its
    passwords file): each is bound alone, in a directory they cannot change. ``outbound``
    are host loopback ports an isolated network bridges in (its AWS endpoint).
    """

    isolation: Isolation
    root: Path
    writable: Mapping[Path, Path] = field(default_factory=dict)
    readable: tuple[Path, ...] = ()
    handed: tuple[Path, ...] = ()
    account: Account | None = None
    network: SandboxNetwork = SandboxNetwork.ISOLATED
    outbound: tuple[int, ...] = ()

    def host_path(self, path: Path) -> Path:
        """Where ``path`` (as the processes see it) is on the host."""
        for inside, host in self.writable.items():
            if path == inside or inside in path.parents:
                return host / path.relative_to(inside)
        return path

    @property
    def isolates_network(self) -> bool:
        return self.isolation is not Isolation.SINGLE_TENANT and (
            self.network is SandboxNetwork.ISOLATED
        )

    def wrap(self, command: Sequence[str], cwd: Path, holder: Holder | None = None) -> list[str]:
        """``command`` as it must be started to run inside the sandbox (from ``cwd``).

        With an isolated network it joins ``holder``'s namespace (the Deployment's), or
        gets a fresh one of its own, with nothing but its loopback, when there is none.
        """
        if self.isolation is Isolation.SINGLE_TENANT:
            return list(command)
        self.hand_over()
        prefix: list[str] = []
        args = [
            "bwrap",
            "--die-with-parent",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
        ]
        if self.isolation is Isolation.NAMESPACE:
            args.append("--unshare-user")
        if self.isolates_network and holder is None:
            args.append("--unshare-net")
        elif self.isolates_network and holder is not None:
            prefix = holder.join_prefix()
            if self.isolation is Isolation.NAMESPACE:  # its owner namespace maps us to 0
                args += ["--uid", str(os.getuid()), "--gid", str(os.getgid())]
        for top in _SYSTEM_READ_ONLY:
            args += ["--ro-bind", top, top]
        for name in _SYSTEM_LINKS:
            path = Path("/") / name
            if path.is_symlink():
                args += ["--symlink", str(path.readlink()), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        # A private /tmp and /dev/shm (multiprocessing's semaphores) for each process.
        args += [
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--perms",
            "1777",
            "--tmpfs",
            _SHM,
            "--perms",
            "1777",
            "--tmpfs",
            _TMP,
        ]
        args += self._binds()
        args += ["--chdir", str(cwd)]
        if self.account is not None:
            args += [
                "setpriv",
                f"--reuid={self.account.uid}",
                f"--regid={self.account.gid}",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--no-new-privs",
                "--",
            ]
        return prefix + args + list(command)

    def _binds(self) -> list[str]:
        """Mounts from the outermost in, each mount point's missing parents made 0755."""
        mounts: list[tuple[str, Path, Path]] = [("--ro-bind", p, p) for p in self.readable]
        mounts.append(("--ro-bind", self.root, self.root))
        mounts += [("--bind", host, inside) for inside, host in self.writable.items()]
        mounts += [("--bind", p, p) for p in self.handed if p.exists()]
        mounts.sort(key=lambda mount: len(mount[2].parts))
        covered = [Path(top) for top in _SYSTEM_READ_ONLY]
        made: set[Path] = {Path(_TMP)}
        args: list[str] = []
        for option, host, inside in mounts:
            for parent in reversed(inside.parents):
                if parent == Path("/") or parent in made:
                    continue
                if any(parent == c or c in parent.parents for c in covered):
                    break  # inside an earlier mount: the parent is the host's own
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
            args += [option, str(host), str(inside)]
            covered.append(inside)
        return args

    def hand_over(self) -> None:
        """Give the Deployment's user its directories (0700) and the files it may read."""
        for inside in self.writable:  # mount points inside the read-only root must exist
            if self.root in inside.parents:
                inside.mkdir(parents=True, exist_ok=True)
        if self.account is None:
            for host in self.writable.values():
                host.mkdir(parents=True, exist_ok=True, mode=0o700)
            return
        uid, gid = self.account.uid, self.account.gid
        _own(self.root, uid, gid, 0o700)
        for host in self.writable.values():
            host.mkdir(parents=True, exist_ok=True)
            _own_tree(host, uid, gid)
        for path in self.handed:
            if path.is_file() and not path.is_symlink():
                _own(path, uid, gid, 0o600)


def _own(path: Path, uid: int, gid: int, mode: int) -> None:
    info = path.lstat()
    if (info.st_uid, info.st_gid) != (uid, gid):
        os.lchown(path, uid, gid)
    if not path.is_symlink() and info.st_mode & 0o7777 != mode:
        path.chmod(mode)


def _own_tree(top: Path, uid: int, gid: int) -> None:
    """``top`` and everything below it owned by ``uid`` (links themselves, never followed)."""
    _own(top, uid, gid, 0o700)
    for current, dirs, files in os.walk(top):
        for name in dirs + files:
            path = Path(current) / name
            info = path.lstat()
            if (info.st_uid, info.st_gid) != (uid, gid):
                os.lchown(path, uid, gid)


def interpreter_prefix(python: Path) -> Path | None:
    """The installation a venv's interpreter comes from, when it lies outside ``/usr``."""
    real = Path(os.path.realpath(python))
    prefix = real.parent.parent
    if any(prefix == Path(top) or Path(top) in prefix.parents for top in _SYSTEM_READ_ONLY):
        return None
    return prefix
