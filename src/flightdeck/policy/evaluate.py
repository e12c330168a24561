"""Evaluate an identity policy on one concrete request, the plain way (no solver).

The exact comparison finds its example with z3; before anyone is told "NEW allows this
request and OLD does not", this evaluator checks that claim by reading both policies the
way IAM does: an explicit Deny wins, otherwise the request is allowed when some Allow
statement matches it. Answers are three-valued: ``None`` means the request's outcome turns
on something flightdeck does not model exactly (a policy variable, a binary comparison, a
malformed value), so callers never mistake "don't know" for "no". Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from flightdeck.policy.actions import is_multivalued_key
from flightdeck.policy.document import ConditionClause, PolicyDocument, Statement
from flightdeck.policy.patterns import (
    Glob,
    PolicyVariableError,
    arn_matches,
    glob_matches,
    parse_glob,
)

Family = Literal["string", "arn", "numeric", "date", "bool", "ip", "binary", "null"]
Scalar = str | int | float | bool | Decimal
ContextValue = Scalar | Sequence[Scalar]

_FAMILY_PREFIXES: tuple[tuple[str, Family], ...] = (
    ("String", "string"),
    ("Arn", "arn"),
    ("Numeric", "numeric"),
    ("Date", "date"),
    ("Bool", "bool"),
    ("IpAddress", "ip"),
    ("NotIpAddress", "ip"),
    ("Binary", "binary"),
    ("Null", "null"),
)


def operator_family(operator: str) -> Family:
    """What kind of value an operator compares (``StringNotLike`` -> ``string``)."""
    for prefix, family in _FAMILY_PREFIXES:
        if operator.startswith(prefix):
            return family
    raise ValueError(f"unknown condition operator {operator!r}")


def value_sort(family: Family) -> str:
    """String and ARN operators read the same request value; the rest each their own."""
    return "text" if family in ("string", "arn") else family


@dataclass(frozen=True)
class Request:
    """One request: ``context`` maps condition keys (any case) to values; absent = missing."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def value(self, key: str) -> ContextValue | None:
        wanted = key.lower()
        for name, value in self.context.items():
            if name.lower() == wanted:
                return value
        return None


@dataclass(frozen=True)
class Evaluation:
    """``allowed`` is None when unknown; ``statement`` is the first Allow that matched."""

    allowed: bool | None
    statement: int | None
    denied_by: int | None


class NotModelled(ValueError):
    """A construct whose outcome flightdeck does not compute exactly; the message says which."""


# --- three-valued logic -------------------------------------------------------------


def any3(values: Iterable[bool | None]) -> bool | None:
    unknown = False
    for value in values:
        if value is True:
            return True
        if value is None:
            unknown = True
    return None if unknown else False


def all3(values: Iterable[bool | None]) -> bool | None:
    unknown = False
    for value in values:
        if value is False:
            return False
        if value is None:
            unknown = True
    return None if unknown else True


def not3(value: bool | None) -> bool | None:
    return None if value is None else not value


# --- value parsing shared with the solver encoding ------------------------------------


def parse_number(text: str) -> Decimal:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise NotModelled(f"{text!r} is not a number") from None
    if not number.is_finite():
        raise NotModelled(f"{text!r} is not a finite number")
    return number


def parse_date(text: str) -> Decimal:
    """A date as exact seconds since the epoch (ISO 8601, or epoch seconds as IAM allows)."""
    stripped = text.strip()
    try:
        return parse_number(stripped)
    except NotModelled:
        pass
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise NotModelled(f"{text!r} is not an ISO 8601 date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (
        Decimal(delta.days) * 86400
        + Decimal(delta.seconds)
        + Decimal(delta.microseconds) / Decimal(1_000_000)
    )


def format_date(seconds: Decimal) -> str:
    """Epoch seconds back to ISO 8601 in UTC, with only the fraction the value needs."""
    whole = int(seconds // 1)
    fraction = seconds - whole
    moment = datetime.fromtimestamp(whole, tz=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += str(fraction.normalize())[1:]  # ".5"
    return text + "Z"


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise NotModelled(f"{text!r} is not an IP address or CIDR range") from None


def condition_glob(clause: ConditionClause, value: str, *, variables: bool) -> Glob:
    """The pattern one condition value stands for under the clause's operator."""
    like = clause.operator in ("StringLike", "StringNotLike") or clause.operator.startswith("Arn")
    try:
        return parse_glob(value, wildcards=like, variables=variables)
    except PolicyVariableError as exc:
        raise NotModelled(str(exc)) from None


def arn_segments(clause: ConditionClause, value: str, *, variables: bool) -> tuple[Glob, ...]:
    segments = condition_glob(clause, value, variables=variables).arn_segments()
    if segments is None:
        raise NotModelled(f"{value!r} is not a six-part ARN pattern")
    return segments


def null_wants_absent(clause: ConditionClause) -> list[bool]:
    wanted = []
    for value in clause.values:
        if value.lower() not in ("true", "false"):
            raise NotModelled(f'Null takes "true" or "false", not {value!r}')
        wanted.append(value.lower() == "true")
    return wanted


# --- evaluation -----------------------------------------------------------------------


def evaluate_policy(document: PolicyDocument, request: Request) -> Evaluation:
    """IAM's answer for ``request``: explicit Deny wins, else allowed iff an Allow matches."""
    allow_matches = [
        (statement.index, statement_matches(document, statement, request))
        for statement in document.statements
        if statement.effect == "Allow"
    ]
    deny_matches = [
        (statement.index, statement_matches(document, statement, request))
        for statement in document.statements
        if statement.effect == "Deny"
    ]
    allowed = any3(match for _, match in allow_matches)
    denied = any3(match for _, match in deny_matches)
    first_allow = next((index for index, match in allow_matches if match is True), None)
    first_deny = next((index for index, match in deny_matches if match is True), None)
    verdict = all3([allowed, not3(denied)])
    return Evaluation(allowed=verdict, statement=first_allow, denied_by=first_deny)


def statement_matches(
    document: PolicyDocument, statement: Statement, request: Request
) -> bool | None:
    if not statement.covers_action(request.action):
        return False
    resource = resource_matches(document, statement, request.resource)
    if resource is False:
        return False
    return all3([resource, *(clause_holds(document, c, request) for c in statement.conditions)])


def resource_matches(document: PolicyDocument, statement: Statement, resource: str) -> bool | None:
    results: list[bool | None] = []
    for pattern in statement.resources:
        try:
            glob = parse_glob(pattern, wildcards=True, variables=document.policy_variables)
        except PolicyVariableError:
            results.append(None)
            continue
        results.append(glob_matches(glob, resource))
    matched = any3(results)
    return not3(matched) if statement.not_resource else matched


def clause_holds(
    document: PolicyDocument, clause: ConditionClause, request: Request
) -> bool | None:
    try:
        return _clause_holds(clause, request.value(clause.key), document.policy_variables)
    except NotModelled:
        return None


def _clause_holds(clause: ConditionClause, value: ContextValue | None, variables: bool) -> bool:
    items: list[Scalar] | None
    if value is None:
        items = None
    elif isinstance(value, str | int | float | bool | Decimal):
        items = [value]
    else:
        items = list(value)
    if clause.operator == "Null":
        if clause.set_prefix:
            raise NotModelled("a set qualifier on Null")
        absent = not items
        return any(wants == absent for wants in null_wants_absent(clause))
    if clause.set_prefix is not None:
        if not items:
            return clause.set_prefix == "ForAllValues" or clause.if_exists
        results = [_item_holds(clause, item, variables) for item in items]
        return all(results) if clause.set_prefix == "ForAllValues" else any(results)
    if items is None:
        return clause.if_exists or clause.negated
    if isinstance(value, list | tuple) or is_multivalued_key(clause.key_lower):
        raise NotModelled(f"{clause.key} holds several values; use ForAnyValue/ForAllValues")
    return _item_holds(clause, items[0], variables)


def _item_holds(clause: ConditionClause, item: Scalar, variables: bool) -> bool:
    matched = any(_value_matches(clause, value, item, variables) for value in clause.values)
    return not matched if clause.negated else matched


def _value_matches(clause: ConditionClause, value: str, item: Scalar, variables: bool) -> bool:
    family = operator_family(clause.operator)
    if family in ("string", "arn"):
        if not isinstance(item, str):
            raise NotModelled(f"{clause.key} compared as text but the request has {item!r}")
        if family == "arn":
            return arn_matches(arn_segments(clause, value, variables=variables), item)
        glob = condition_glob(clause, value, variables=variables)
        return glob_matches(glob, item, ignore_case=clause.operator.endswith("IgnoreCase"))
    if family == "bool":
        if isinstance(item, bool):
            text = "true" if item else "false"
        elif isinstance(item, str) and item.lower() in ("true", "false"):
            text = item.lower()
        else:
            raise NotModelled(f"{clause.key} compared as a boolean but the request has {item!r}")
        return value.lower() == text
    if family in ("numeric", "date"):
        parse = parse_number if family == "numeric" else parse_date
        if isinstance(item, bool):
            raise NotModelled(f"{clause.key} compared as a {family} but the request has {item!r}")
        actual = parse(str(item))
        expected = parse(value)
        return _compare(clause.operator, actual, expected)
    if family == "ip":
        if not isinstance(item, str):
            raise NotModelled(f"{clause.key} compared as an IP address but has {item!r}")
        try:
            address = ipaddress.ip_address(item.strip())
        except ValueError:
            raise NotModelled(f"{item!r} is not an IP address") from None
        network = parse_network(value)
        return address.version == network.version and address in network
    raise NotModelled(f"{clause.operator} comparisons are not modelled")


def _compare(operator: str, actual: Decimal, expected: Decimal) -> bool:
    suffix = operator.removeprefix("Numeric").removeprefix("Date")
    if suffix in ("Equals", "NotEquals"):  # NotEquals: negated by the caller
        return actual == expected
    if suffix == "LessThan":
        return actual < expected
    if suffix == "LessThanEquals":
        return actual <= expected
    if suffix == "GreaterThan":
        return actual > expected
    if suffix == "GreaterThanEquals":
        return actual >= expected
    raise NotModelled(f"unknown comparison {operator}")
