"""Evaluate IAM condition clauses against one known, single-valued request value.

The trust-policy checker needs two answers about a clause: "does the platform's request
pass it?" and "is it an exact string check?". Both hinge on details that are easy to get
wrong and that an attacker relies on: a missing key passes ``...IfExists``, negated
operators and ``ForAllValues:``; ``StringLike`` wildcards; ``${*}`` escapes that make a
wildcard literal in 2012-10-17 documents. This module owns those details. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from flightdeck.policy.document import ConditionClause

_LIKE_OPERATORS = frozenset({"StringLike", "StringNotLike", "ArnLike", "ArnNotLike"})
_TOKEN = re.compile(r"\$\{([^}]*)\}|(\*)|(\?)|(.)", re.DOTALL)
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True)
class _Token:
    kind: Literal["text", "star", "question", "variable"]
    text: str


def _tokens(value: str, *, like: bool, variables: bool) -> list[_Token]:
    """Split a condition value into literal text, wildcards and policy variables."""
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(value):
        variable, star, question, char = match.groups()
        if variable is not None:
            if not variables:
                # Documents without Version 2012-10-17 take "${...}" literally; re-scan its
                # characters so a "*" inside still counts as a wildcard.
                tokens.extend(_tokens_literal(match.group(0), like=like))
            elif variable in _ESCAPES:
                tokens.append(_Token("text", _ESCAPES[variable]))
            else:
                tokens.append(_Token("variable", variable))
        elif star is not None:
            tokens.append(_Token("star", "*") if like else _Token("text", "*"))
        elif question is not None:
            tokens.append(_Token("question", "?") if like else _Token("text", "?"))
        else:
            tokens.append(_Token("text", char))
    return tokens


def _tokens_literal(value: str, *, like: bool) -> list[_Token]:
    tokens: list[_Token] = []
    for char in value:
        if like and char == "*":
            tokens.append(_Token("star", char))
        elif like and char == "?":
            tokens.append(_Token("question", char))
        else:
            tokens.append(_Token("text", char))
    return tokens


def is_like_operator(clause: ConditionClause) -> bool:
    return clause.operator in _LIKE_OPERATORS


def literal_value(value: str, *, like: bool, variables: bool) -> str | None:
    """The exact string a value stands for, or None when it has wildcards or variables."""
    tokens = _tokens(value, like=like, variables=variables)
    if any(token.kind != "text" for token in tokens):
        return None
    return "".join(token.text for token in tokens)


def has_wildcard(value: str, *, variables: bool) -> bool:
    """Whether a ``...Like`` value contains an unescaped ``*`` or ``?``."""
    return any(
        token.kind in ("star", "question")
        for token in _tokens(value, like=True, variables=variables)
    )


def value_matches(
    value: str, text: str, *, like: bool, ignore_case: bool = False, variables: bool
) -> bool | None:
    """Whether policy ``value`` matches request ``text``; None when a variable makes it unknown."""
    tokens = _tokens(value, like=like, variables=variables)
    if any(token.kind == "variable" for token in tokens):
        return None
    pattern = "".join(
        ".*" if token.kind == "star" else "." if token.kind == "question" else re.escape(token.text)
        for token in tokens
    )
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(pattern, text, flags) is not None


def evaluate(clause: ConditionClause, request_value: str | None, *, variables: bool) -> bool | None:
    """Whether ``clause`` passes for a single-valued key with ``request_value`` (None = absent).

    Returns None when the answer depends on something this module does not model (numeric,
    date, binary and IP comparisons, or policy variables resolved at request time).
    """
    if clause.operator == "Null":
        wants_absent = [value.lower() == "true" for value in clause.values]
        return any(absent == (request_value is None) for absent in wants_absent)
    if request_value is None:
        if clause.if_exists or clause.set_prefix == "ForAllValues":
            return True
        if clause.set_prefix == "ForAnyValue":
            return False
        return clause.negated
    matched = _any_value_matches(clause, request_value, variables=variables)
    if matched is None:
        return None
    return not matched if clause.negated else matched


def _any_value_matches(clause: ConditionClause, text: str, *, variables: bool) -> bool | None:
    operator = clause.operator
    if operator in ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike"):
        like = operator in _LIKE_OPERATORS
        ignore_case = False
    elif operator in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        like, ignore_case = False, True
    elif operator in ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"):
        # ARN operators accept wildcards in both spellings.
        like, ignore_case = True, False
    elif operator == "Bool":
        return any(value.lower() == text.lower() for value in clause.values)
    else:
        return None
    results = [
        value_matches(value, text, like=like, ignore_case=ignore_case, variables=variables)
        for value in clause.values
    ]
    if any(result is True for result in results):
        return True
    if any(result is None for result in results):
        return None
    return False
