"""A snapshot of every moto backend in use, pickled, plus the emulator's own state.

moto keeps each service's resources in a module-level ``BackendDict`` (account → region →
backend). A snapshot pickles the contents of all of them in one pickle, so objects shared
between services stay shared; the ``BackendDict`` objects themselves are written as references
and, when loaded, filled in place, because moto's code holds them as module globals. The few
backend attributes moto builds with a lambda (``defaultdict(lambda: ...)``) are saved as plain
dicts and given their factory back from a freshly built backend of the same class.
"""

from __future__ import annotations

import importlib
import io
import pickle
import sys
from collections import defaultdict
from typing import Any

_FRESH_FACTORY = "__flightdeck_defaultdict__"


def instances() -> list[Any]:
    """moto's list of the ``BackendDict`` objects in use."""
    from moto.core.base_backend import BackendDict

    instances: list[Any] = BackendDict._instances  # type: ignore[misc]
    return instances


def _live_backend_dicts() -> dict[tuple[str, str], Any]:
    """Every ``BackendDict`` in use, keyed by (module, attribute) of its module global."""
    found: dict[tuple[str, str], Any] = {}
    for backend_dict in list(instances()):
        module_name = backend_dict.backend.__module__
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
        for name, value in vars(module).items():
            if value is backend_dict:
                found[(module_name, name)] = backend_dict
                break
        else:
            raise RuntimeError(f"cannot find the module global of moto's {module_name} backends")
    return found


def _unpicklable_factory(value: Any) -> bool:
    if not isinstance(value, defaultdict) or value.default_factory is None:
        return False
    qualname = getattr(value.default_factory, "__qualname__", "")
    return "<lambda>" in qualname or "<locals>" in qualname


def _new_backend(cls: Any, needs_fresh: bool, region_name: str, account_id: str) -> Any:
    if needs_fresh:
        return cls(region_name, account_id=account_id)
    return cls.__new__(cls)


def _private_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem


def _load_private_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem, password=None)


def _new_defaultdict(cls: Any, factory: Any) -> Any:
    obj = cls.__new__(cls)
    defaultdict.__init__(obj, factory)
    return obj


def _set_backend_state(backend: Any, state: dict[str, Any]) -> Any:
    for name, value in list(state.items()):
        if isinstance(value, tuple) and len(value) == 2 and value[0] == _FRESH_FACTORY:
            fresh = getattr(backend, name)
            fresh.clear()
            fresh.update(value[1])
            state[name] = fresh
    backend.__dict__.clear()
    backend.__dict__.update(state)
    return backend


class _SnapshotPickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, backend_dicts: dict[tuple[str, str], Any]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._keys = {id(value): key for key, value in backend_dicts.items()}
        from moto.core.base_backend import BaseBackend

        self._base_backend = BaseBackend

    def persistent_id(self, obj: Any) -> Any:
        key = self._keys.get(id(obj))
        return None if key is None else ("backend-dict", *key)

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, type):
            return NotImplemented
        if type(obj).__module__.startswith("cryptography.") and hasattr(obj, "private_bytes"):
            # KMS and friends keep real key objects, which pickle refuses: keep them as PEM.
            return (_load_private_key, (_private_pem(obj),))
        if isinstance(obj, defaultdict) and type(obj) is not defaultdict:
            # A subclass with its own __init__ (moto's ParameterDict): defaultdict's reduce
            # would call that __init__ with the factory alone.
            state = obj.__dict__ or None
            args = (type(obj), obj.default_factory)
            return (_new_defaultdict, args, state, None, iter(obj.items()))
        if not isinstance(obj, self._base_backend):
            return NotImplemented
        state = dict(obj.__dict__)
        needs_fresh = False
        for name, value in state.items():
            if _unpicklable_factory(value):
                state[name] = (_FRESH_FACTORY, dict(value))
                needs_fresh = True
        backend_args = (type(obj), needs_fresh, obj.region_name, obj.account_id)
        return (_new_backend, backend_args, state, None, None, _set_backend_state)


class _SnapshotUnpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        kind, module_name, name = pid
        if kind != "backend-dict":
            raise pickle.UnpicklingError(f"unknown reference {kind!r}")
        return getattr(importlib.import_module(module_name), name)


def dump_backends(extra: dict[str, Any]) -> bytes:
    """Pickle every moto backend in use plus ``extra``; call with moto idle (under its lock)."""
    backend_dicts = _live_backend_dicts()
    payload = {
        "backends": {key: dict(value) for key, value in backend_dicts.items()},
        "extra": extra,
    }
    buffer = io.BytesIO()
    _SnapshotPickler(buffer, backend_dicts).dump(payload)
    return buffer.getvalue()


def clear_backends() -> None:
    """Forget every moto resource of this process (a restored emulator holds only its own)."""
    from moto.core.base_backend import backend_lock

    with backend_lock:
        for backend_dict in list(instances()):
            dict.clear(backend_dict)
        instances().clear()


def load_backends(data: bytes) -> dict[str, Any]:
    """Put a snapshot's backends into moto's module globals; returns its ``extra``."""
    from moto.core.base_backend import backend_lock

    payload = _SnapshotUnpickler(io.BytesIO(data)).load()
    with backend_lock:
        clear_backends()
        for (module_name, name), accounts in payload["backends"].items():
            live = getattr(importlib.import_module(module_name), name)
            dict.clear(live)
            dict.update(live, accounts)
            if live not in instances():
                instances().append(live)
    extra: dict[str, Any] = payload["extra"]
    return extra
