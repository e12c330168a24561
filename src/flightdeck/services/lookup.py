"""Find an organization's cluster, Deployment or workspace by id or by name, one way for all.

A reference that matches nothing is answered with the name the user gave and the command
that lists what exists, so "not found" is never the whole sentence.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flightdeck.services.errors import NotFound

T = TypeVar("T")


def not_found(kind: str, ref: str, list_command: str) -> NotFound:
    """``no cluster 'x' in this organization; see `flightdeck cluster list```."""
    return NotFound(f"no {kind} {ref!r} in this organization; see `{list_command}`")


def by_id_or_name(
    session: Session,
    model: type[T],
    organization_id: str,
    ref: str,
    *,
    kind: str,
    list_command: str,
    live: Any = None,
    ignore_case: bool = False,
) -> T:
    """The row of ``model`` in the organization whose id is ``ref``, else the newest whose
    name is ``ref`` (``live``: an extra condition on that name lookup, such as "not
    deleted"; ``ignore_case``: names compare without case and surrounding spaces)."""
    column: Any = model
    row = session.get(model, ref)
    if row is not None and getattr(row, "organization_id", None) == organization_id:
        return row
    name = column.name
    wanted = ref
    if ignore_case:
        name, wanted = func.lower(name), ref.strip().lower()
    query = select(model).where(column.organization_id == organization_id, name == wanted)
    if live is not None:
        query = query.where(live)
    found = session.scalar(query.order_by(column.created_at.desc()))
    if found is None:
        raise not_found(kind, ref, list_command)
    return found
