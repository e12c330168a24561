"""Organization slugs: the short, unique handle `--org` takes when display names repeat.

A slug is made once from the name at creation (``Acme Corp`` -> ``acme-corp``) and never
changes; a taken one gets the first free ``-2``, ``-3``... suffix.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.db.models import Organization

SLUG_MAX_LENGTH = 40
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
# A slug never looks like a record id, so an `--org` value is never both.
_RECORD_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def slugify(name: str) -> str:
    """Lower-case ASCII letters and digits joined by ``-``; ``org`` when none are left."""
    slug = _NOT_ALNUM.sub("-", name.strip().lower()).strip("-")[:SLUG_MAX_LENGTH].strip("-")
    return slug if slug and not _RECORD_ID.match(slug) else "org"


def free_slug(session: Session, name: str) -> str:
    """The name's slug, or the first suffixed one no organization has."""
    base = slugify(name)
    taken = set(
        session.scalars(select(Organization.slug).where(Organization.slug.startswith(base)))
    )
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"
