"""IAM policy documents as AWS hands them back, read one way for role setup, verification,
governance and monitoring.

"The same document" means one thing everywhere: IAM ignores key order, reads a one-item list
as its item, and reads every list in a policy (statements, actions, resources, principals,
condition values) as a set, so neither the order nor a repeat of an item counts.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote


def decoded_text(text: str) -> str:
    """The raw IAM API returns documents URL-encoded (``%7B...``); botocore usually decodes
    them. Decoded JSON passes through unchanged."""
    return unquote(text) if text.lstrip().startswith("%") else text


def parse_document(value: Any) -> Any:
    """A document as parsed JSON, whether AWS returned it parsed, as JSON or URL-encoded;
    None for text that is not JSON."""
    if isinstance(value, str):
        try:
            return json.loads(decoded_text(value))
        except json.JSONDecodeError:
            return None
    return value


def canonical(node: Any) -> Any:
    """``node`` with IAM's equivalent spellings collapsed (see the module docstring), so two
    documents that mean the same compare equal."""
    if isinstance(node, dict):
        return {str(key): canonical(value) for key, value in sorted(node.items())}
    if isinstance(node, list):
        unique = {_sort_key(item): item for item in (canonical(item) for item in node)}
        items = [unique[key] for key in sorted(unique)]
        return items[0] if len(items) == 1 else items
    return node


def _sort_key(node: Any) -> str:
    return json.dumps(node, sort_keys=True, default=str)


def same_document(current: Any, wanted: Any) -> bool:
    """True when ``current`` (as AWS returned it) means the same as ``wanted``."""
    parsed = parse_document(current)
    return parsed is not None and bool(canonical(parsed) == canonical(wanted))
