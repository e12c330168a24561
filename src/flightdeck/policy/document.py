"""IAM policy JSON, parsed into one shape so engines never re-handle IAM's loose syntax.

IAM accepts the same meaning in many spellings: ``Statement`` as an object or a list,
``Action``, ``Resource`` and principal values as a string or a list, condition values as strings,
numbers or booleans, condition keys in any case. Every policy engine in flightdeck reads
:class:`PolicyDocument` instead, so a spelling the parser accepts is one every check
understands. Documents IAM itself would refuse raise :class:`InvalidPolicyError`, whose
message says what is wrong and where. Two kinds of document share the parser: role trust
policies (``Principal``, no ``Resource``) and identity policies (``Resource``, no
``Principal``), chosen by ``parse_policy(..., kind=...)``. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Literal
from urllib.parse import unquote

from flightdeck.policy.patterns import fold_case, glob_matcher, parse_glob

MAX_POLICY_CHARS = 256 * 1024
"""The longest policy text read; IAM's own limit is 10,240 characters (inline role policy),
so this leaves room for ``aws iam get-role`` output around it."""
MAX_JSON_DEPTH = 32
"""How deeply objects and lists may nest; a real policy (with a get-role wrapper) needs 9."""

VERSIONS_WITH_VARIABLES = frozenset({"2012-10-17"})
KNOWN_VERSIONS = frozenset({"2012-10-17", "2008-10-17"})

PrincipalKind = Literal["everyone", "AWS", "Service", "Federated", "CanonicalUser"]
PolicyKind = Literal["trust", "identity"]
PRINCIPAL_TYPES: tuple[PrincipalKind, ...] = ("AWS", "Service", "Federated", "CanonicalUser")

# Condition operators IAM knows, in their documented spelling (matching is case-insensitive).
CONDITION_OPERATORS: tuple[str, ...] = (
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
)
_OPERATORS_BY_LOWER = {name.lower(): name for name in CONDITION_OPERATORS}
NEGATED_OPERATORS = frozenset(
    {
        "StringNotEquals",
        "StringNotEqualsIgnoreCase",
        "StringNotLike",
        "NumericNotEquals",
        "DateNotEquals",
        "NotIpAddress",
        "ArnNotEquals",
        "ArnNotLike",
    }
)
SET_PREFIXES = ("ForAnyValue", "ForAllValues")

_STATEMENT_FIELDS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Condition"}
)
_IDENTITY_STATEMENT_FIELDS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
_DOCUMENT_FIELDS = frozenset({"Version", "Id", "Statement"})
_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidPolicyError(ValueError):
    """The input is not a policy document IAM would accept (as a trust or identity policy).

    ``statement`` is the 0-based index of the offending statement when there is one, and
    ``line``/``column`` the position in the JSON text when the text itself is malformed.
    """

    def __init__(
        self,
        message: str,
        *,
        statement: int | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.statement = statement
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Principal:
    """One principal value: ``kind`` is the principal type, ``everyone`` for a bare ``"*"``."""

    kind: PrincipalKind
    value: str


@dataclass(frozen=True)
class ConditionClause:
    """One ``operator -> key -> values`` entry of a statement's ``Condition``.

    ``operator`` is the base operator in documented spelling (``StringEquals``), with the
    ``ForAnyValue:``/``ForAllValues:`` prefix and ``IfExists`` suffix split off, because
    those two change what a missing or multi-valued key means.
    """

    operator: str
    set_prefix: str | None
    if_exists: bool
    key: str
    values: tuple[str, ...]

    @property
    def key_lower(self) -> str:
        return self.key.lower()

    @property
    def negated(self) -> bool:
        return self.operator in NEGATED_OPERATORS

    @property
    def written_operator(self) -> str:
        """The operator as a reader would write it, prefix and suffix included."""
        prefix = f"{self.set_prefix}:" if self.set_prefix else ""
        suffix = "IfExists" if self.if_exists else ""
        return f"{prefix}{self.operator}{suffix}"


@dataclass(frozen=True)
class Statement:
    index: int
    sid: str | None
    effect: Literal["Allow", "Deny"]
    actions: tuple[str, ...]
    not_action: bool
    principals: tuple[Principal, ...]
    not_principal: bool
    conditions: tuple[ConditionClause, ...]
    # Identity policies only: the Resource (or, with not_resource, NotResource) patterns.
    resources: tuple[str, ...] = ()
    not_resource: bool = False

    @property
    def label(self) -> str:
        """How messages name this statement: by Sid when it has one, else by position."""
        if self.sid:
            return f'Statement "{self.sid}"'
        return f"Statement #{self.index + 1}"

    def covers_action(self, action: str) -> bool:
        """Whether this statement applies to ``action`` (Action matches, NotAction misses)."""
        matched = self._action_test(action)
        return not matched if self.not_action else matched

    @cached_property
    def _action_test(self) -> Callable[[str], bool]:
        """Whether some pattern of Action/NotAction matches, without trying every pattern:
        literals are one set lookup, ``service:prefix*`` one ``startswith`` per service, other
        wildcards are tried only within their own service."""
        literals: set[str] = set()
        prefixes: dict[str, list[str]] = {}
        by_service: dict[str, list[Callable[[str], bool]]] = {}
        anywhere: list[Callable[[str], bool]] = []
        for pattern in self.actions:
            lowered = fold_case(pattern)
            first = min((i for i in (lowered.find("*"), lowered.find("?")) if i >= 0), default=-1)
            if first < 0:
                literals.add(lowered)
                continue
            service, colon, _ = lowered.partition(":")
            if not colon or first < len(service):
                anywhere.append(action_matcher(pattern))
            elif first == len(lowered) - 1 and lowered.endswith("*"):
                prefixes.setdefault(service, []).append(lowered[:-1])
            else:
                by_service.setdefault(service, []).append(action_matcher(pattern))
        starts = {service: tuple(heads) for service, heads in prefixes.items()}

        def test(action: str) -> bool:
            lowered = fold_case(action)
            if lowered in literals:
                return True
            service = lowered.partition(":")[0]
            if lowered.startswith(starts.get(service, ())):
                return True
            for matches in by_service.get(service, ()):
                if matches(action):
                    return True
            return any(matches(action) for matches in anywhere)

        return test

    def conditions_on(self, key: str) -> list[ConditionClause]:
        wanted = key.lower()
        return [clause for clause in self.conditions if clause.key_lower == wanted]


@dataclass(frozen=True)
class PolicyDocument:
    version: str | None
    statements: tuple[Statement, ...]

    @property
    def policy_variables(self) -> bool:
        """IAM substitutes ``${...}`` only in version 2012-10-17 documents; otherwise literal."""
        return self.version in VERSIONS_WITH_VARIABLES


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, ``*`` any run of characters, ``?`` one."""
    return action_matcher(pattern)(action)


@lru_cache(maxsize=16384)
def action_matcher(pattern: str) -> Callable[[str], bool]:
    """``action_matches`` for one pattern, compiled once (policies repeat their patterns
    across thousands of evaluations)."""
    return glob_matcher(parse_glob(pattern, wildcards=True, variables=False), True)


def parse_policy(
    source: str | bytes | Mapping[str, Any], *, kind: PolicyKind = "trust"
) -> PolicyDocument:
    """Parse a trust (default) or identity policy from JSON text or a decoded mapping.

    Also accepts what reviewers tend to paste: the output of ``aws iam get-role``
    (``{"Role": {"AssumeRolePolicyDocument": ...}}``), of ``aws iam get-policy-version`` and
    ``get-role-policy`` for identity policies, and the URL-encoded document the raw IAM API
    returns.
    """
    raw = _decode(source)
    raw = _unwrap(raw) if kind == "trust" else _unwrap_identity(raw)
    if not isinstance(raw, Mapping):
        raise InvalidPolicyError(
            f"the policy must be a JSON object with a Statement, not {_json_type(raw)}"
        )
    unknown = sorted(set(raw) - _DOCUMENT_FIELDS)
    if unknown:
        raise InvalidPolicyError(
            f"unknown top-level field {unknown[0]!r}; a policy has only Version, Id and Statement"
        )
    version = raw.get("Version")
    if version is not None and (not isinstance(version, str) or version not in KNOWN_VERSIONS):
        raise InvalidPolicyError(
            f'Version {version!r} is not an IAM policy version; use "2012-10-17"'
        )
    if "Statement" not in raw:
        raise InvalidPolicyError("the policy has no Statement")
    statement_items = raw["Statement"]
    if isinstance(statement_items, Mapping):
        statement_items = [statement_items]
    if not isinstance(statement_items, list):
        raise InvalidPolicyError(
            f"Statement must be an object or a list of objects, not {_json_type(statement_items)}"
        )
    if not statement_items and kind == "trust":
        raise InvalidPolicyError("Statement is an empty list; a trust policy needs at least one")
    parse = _parse_statement if kind == "trust" else _parse_identity_statement
    statements = tuple(parse(index, item) for index, item in enumerate(statement_items))
    return PolicyDocument(version=version, statements=statements)


def _decode(source: str | bytes | Mapping[str, Any]) -> Any:
    if isinstance(source, Mapping):
        _check_values(source)
        return source
    text = source.decode("utf-8", errors="replace") if isinstance(source, bytes) else source
    if len(text) > MAX_POLICY_CHARS:
        raise InvalidPolicyError(
            f"the policy is {len(text)} characters long; at most {MAX_POLICY_CHARS} are read "
            "(IAM itself accepts at most 10,240)"
        )
    stripped = text.strip()
    if stripped.startswith("%7B") or stripped.startswith("%7b"):
        stripped = unquote(stripped)
    if not stripped:
        raise InvalidPolicyError("the policy is empty; expected a JSON object with a Statement")
    try:
        raw = json.loads(stripped, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise InvalidPolicyError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            line=exc.lineno,
            column=exc.colno,
        ) from None
    except InvalidPolicyError:
        raise
    except RecursionError:
        raise InvalidPolicyError(_too_deep()) from None
    except ValueError:  # the only other refusal: an integer of more than 4300 digits
        raise InvalidPolicyError(
            "not valid JSON: a number has more digits than can be read (at most 4300)"
        ) from None
    _check_values(raw)
    return raw


def _too_deep() -> str:
    return (
        f"objects and lists nest more than {MAX_JSON_DEPTH} levels deep; a policy needs far "
        "fewer: check the brackets"
    )


def _check_values(raw: Any) -> None:
    """Refuse nesting past MAX_JSON_DEPTH and strings that are not Unicode text (a lone
    surrogate from a ``\\ud800`` escape): neither is a policy IAM accepts, and a lone
    surrogate cannot even be printed."""
    pending: list[tuple[Any, int]] = [(raw, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise InvalidPolicyError(
                    f"the string {_printable(value)} holds an unpaired UTF-16 surrogate "
                    "(a \\uD800-\\uDFFF escape without its pair); IAM accepts only Unicode "
                    "text: remove the escape"
                )
            continue
        if not isinstance(value, Mapping | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise InvalidPolicyError(_too_deep())
        items = [*value.keys(), *value.values()] if isinstance(value, Mapping) else value
        pending.extend((item, depth + 1) for item in items)


def _printable(value: str) -> str:
    shown = value if len(value) <= 40 else value[:37] + "..."
    return json.dumps(shown)


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A duplicated key is silently dropped by json.loads; in a policy that could hide a
    # second Condition or Principal from the reviewer, so refuse it.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidPolicyError(
                f"the key {key!r} appears twice in the same object; merge the two entries"
            )
        result[key] = value
    return result


def _unwrap(raw: Any) -> Any:
    if isinstance(raw, Mapping) and "Role" in raw and isinstance(raw["Role"], Mapping):
        raw = raw["Role"]
    if isinstance(raw, Mapping) and "AssumeRolePolicyDocument" in raw:
        inner = raw["AssumeRolePolicyDocument"]
        return _decode(inner) if isinstance(inner, str) else inner
    return raw


def _unwrap_identity(raw: Any) -> Any:
    if isinstance(raw, Mapping) and isinstance(raw.get("PolicyVersion"), Mapping):
        raw = raw["PolicyVersion"]  # aws iam get-policy-version
    for field in ("Document", "PolicyDocument"):  # get-policy-version, get-role-policy
        if isinstance(raw, Mapping) and field in raw and "Statement" not in raw:
            inner = raw[field]
            return _decode(inner) if isinstance(inner, str) else inner
    return raw


def _parse_identity_statement(index: int, item: Any) -> Statement:
    """One statement of an identity policy: Action/NotAction on Resource/NotResource."""
    try:
        return _parse_identity_statement_fields(index, item)
    except InvalidPolicyError as exc:
        if exc.statement is None:
            exc.statement = index
        raise


def _parse_identity_statement_fields(index: int, item: Any) -> Statement:
    where, sid, effect = _statement_head(
        index,
        item,
        _IDENTITY_STATEMENT_FIELDS,
        misplaced=("Principal", "NotPrincipal"),
        kind="an identity policy",
        fields="Action or NotAction, Resource or NotResource",
    )
    actions, not_action = _parse_actions(item, where)
    if ("Resource" in item) == ("NotResource" in item):
        raise InvalidPolicyError(f"{where} must have exactly one of Resource and NotResource")
    resource_field = "Resource" if "Resource" in item else "NotResource"
    resources = _string_list(item[resource_field], f"{where}.{resource_field}")
    for resource in resources:
        if resource != "*" and not resource.startswith("arn:"):
            raise InvalidPolicyError(
                f'{where}.{resource_field} value {resource!r} must be "*" or an ARN such as '
                '"arn:aws:s3:::example-bucket/*"'
            )
    conditions = _parse_conditions(item.get("Condition", {}), f"{where}.Condition")
    return Statement(
        index=index,
        sid=sid,
        effect=effect,
        actions=tuple(actions),
        not_action=not_action,
        principals=(),
        not_principal=False,
        conditions=tuple(conditions),
        resources=tuple(resources),
        not_resource=resource_field == "NotResource",
    )


def _statement_head(
    index: int,
    item: Any,
    allowed: frozenset[str],
    *,
    misplaced: tuple[str, ...],
    kind: str,
    fields: str,
) -> tuple[str, str | None, Literal["Allow", "Deny"]]:
    """What every statement checks first: an object with known fields, its Sid and Effect.
    Returns where it is (for messages), its Sid and its Effect."""
    where = f"Statement[{index}]"
    if not isinstance(item, Mapping):
        raise InvalidPolicyError(f"{where} must be an object, not {_json_type(item)}")
    unknown = sorted(set(item) - allowed)
    if unknown:
        if unknown[0] in misplaced:
            raise InvalidPolicyError(
                f"{where} has {unknown[0]}, which {kind} cannot have; remove it"
            )
        raise InvalidPolicyError(
            f"{where} has an unknown field {unknown[0]!r}; statements have Sid, Effect, "
            f"{fields}, and Condition"
        )
    sid = item.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise InvalidPolicyError(f"{where}.Sid must be a string")
    if sid:
        where = f'{where} ("{sid}")'
    effect = item.get("Effect")
    if effect == "Allow" or effect == "Deny":
        return where, sid or None, effect
    raise InvalidPolicyError(f'{where}.Effect must be "Allow" or "Deny", not {effect!r}')


def _parse_actions(item: Mapping[str, Any], where: str) -> tuple[list[str], bool]:
    if ("Action" in item) == ("NotAction" in item):
        raise InvalidPolicyError(f"{where} must have exactly one of Action and NotAction")
    action_field = "Action" if "Action" in item else "NotAction"
    actions = _string_list(item[action_field], f"{where}.{action_field}")
    for action in actions:
        if action != "*" and ":" not in action:
            raise InvalidPolicyError(
                f'{where}.{action_field} value {action!r} must look like "sts:AssumeRole"'
            )
    return actions, action_field == "NotAction"


def _parse_statement(index: int, item: Any) -> Statement:
    where, sid, effect = _statement_head(
        index,
        item,
        _STATEMENT_FIELDS,
        misplaced=("Resource", "NotResource"),
        kind="a role trust policy",
        fields="Principal or NotPrincipal, Action or NotAction",
    )
    actions, not_action = _parse_actions(item, where)

    if ("Principal" in item) == ("NotPrincipal" in item):
        raise InvalidPolicyError(
            f"{where} must have exactly one of Principal and NotPrincipal "
            "(a trust policy says who may assume the role)"
        )
    principal_field = "Principal" if "Principal" in item else "NotPrincipal"
    principals = _parse_principals(item[principal_field], f"{where}.{principal_field}")

    conditions = _parse_conditions(item.get("Condition", {}), f"{where}.Condition")
    return Statement(
        index=index,
        sid=sid,
        effect=effect,
        actions=tuple(actions),
        not_action=not_action,
        principals=tuple(principals),
        not_principal=principal_field == "NotPrincipal",
        conditions=tuple(conditions),
    )


def _parse_principals(value: Any, where: str) -> list[Principal]:
    if value == "*":
        return [Principal("everyone", "*")]
    if not isinstance(value, Mapping):
        raise InvalidPolicyError(
            f'{where} must be "*" or an object such as {{"AWS": "arn:aws:iam::123456789012:root"}}'
        )
    if not value:
        raise InvalidPolicyError(f"{where} is empty; name at least one principal")
    principals: list[Principal] = []
    for kind, raw_values in value.items():
        if kind not in PRINCIPAL_TYPES:
            raise InvalidPolicyError(
                f"{where} has an unknown principal type {kind!r}; "
                "use AWS, Service, Federated or CanonicalUser"
            )
        for principal_value in _string_list(raw_values, f"{where}.{kind}"):
            principals.append(Principal(kind, principal_value.strip()))
    return principals


def _parse_conditions(value: Any, where: str) -> list[ConditionClause]:
    if not isinstance(value, Mapping):
        raise InvalidPolicyError(f"{where} must be an object of operator -> key -> values")
    clauses: list[ConditionClause] = []
    for written_operator, block in value.items():
        set_prefix, operator, if_exists = _split_operator(written_operator, where)
        if not isinstance(block, Mapping) or not block:
            raise InvalidPolicyError(
                f"{where}.{written_operator} must be a non-empty object of key -> values"
            )
        for key, raw_values in block.items():
            values = _condition_values(raw_values, f"{where}.{written_operator}.{key}")
            clauses.append(
                ConditionClause(
                    operator=operator,
                    set_prefix=set_prefix,
                    if_exists=if_exists,
                    key=key,
                    values=tuple(values),
                )
            )
    return clauses


def _split_operator(written: str, where: str) -> tuple[str | None, str, bool]:
    set_prefix: str | None = None
    rest = written
    if ":" in written:
        prefix, rest = written.split(":", 1)
        matches = [known for known in SET_PREFIXES if known.lower() == prefix.lower()]
        if not matches:
            raise InvalidPolicyError(
                f"{where} operator {written!r} has an unknown prefix; "
                "only ForAnyValue: and ForAllValues: exist"
            )
        set_prefix = matches[0]
    if_exists = rest.lower().endswith("ifexists")
    base = rest[: -len("IfExists")] if if_exists else rest
    operator = _OPERATORS_BY_LOWER.get(base.lower())
    if operator is None:
        raise InvalidPolicyError(
            f"{where} operator {written!r} is not an IAM condition operator "
            "(for example StringEquals, StringLike, ArnEquals, Bool, Null)"
        )
    return set_prefix, operator, if_exists


def _condition_values(value: Any, where: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise InvalidPolicyError(f"{where} has an empty list of values; give at least one")
    values: list[str] = []
    for item in items:
        if isinstance(item, bool):
            values.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            values.append(str(item))
        else:
            raise InvalidPolicyError(
                f"{where} values must be strings, numbers or booleans, not {_json_type(item)}"
            )
    return values


def _string_list(value: Any, where: str) -> list[str]:
    items: Sequence[Any] = value if isinstance(value, list) else [value]
    if not items:
        raise InvalidPolicyError(f"{where} is an empty list; give at least one value")
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise InvalidPolicyError(f"{where} must be a non-empty string or a list of them")
    return list(items)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
