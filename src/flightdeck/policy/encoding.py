"""Two identity policies as one z3 formula: "NEW allows this request and OLD does not".

A request is an action, a resource and condition-key values; the formula is satisfiable
exactly when some request is newly allowed, and a model of it is that request. The
encoding follows Zelkova's idea and keeps every domain exact:

- Actions: the known actions (:mod:`flightdeck.policy.actions`) fall into classes that no
  action pattern of either policy tells apart, so the action is one integer over those
  classes. Actions outside the list are a second question (a z3 string that differs from
  every action a policy names, matched against the lowercased wildcards).
- Resources: a z3 string, ``"*"`` or starting with ``arn:`` (the parser refuses any other
  pattern, so no request outside that domain is treated differently); ``*`` and ``?`` as
  regular expressions, case-sensitive.
- Condition keys: per key a presence flag and a typed value (string, scaled integer for
  numbers and dates, boolean, 128-bit address plus an IPv6 flag). A key used with
  ``ForAnyValue``/``ForAllValues`` holds up to one value per such clause, which is enough:
  each clause needs at most one witness, so a smaller set always exists.
- Alphabet: strings use printable ASCII plus every character the policies mention. A
  pattern cannot tell two unmentioned characters apart, so this loses no request.

Whatever is not modelled exactly (policy variables, binary comparisons, malformed values,
plain operators on multivalued keys) becomes an opaque boolean, the same one wherever the
same text occurs. Left free, it over-approximates both policies, so "unsatisfiable" stays a
proof; fixed to its worst case, a model stays a definite example. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import z3

from flightdeck.policy.action_groups import ActionClasses, ActionGroups, Side
from flightdeck.policy.actions import ActionUniverse, is_multivalued_key
from flightdeck.policy.document import ConditionClause, PolicyDocument, Statement
from flightdeck.policy.evaluate import (
    Family,
    NotModelled,
    arn_segments,
    condition_glob,
    format_date,
    null_wants_absent,
    operator_family,
    parse_date,
    parse_network,
    parse_number,
    value_sort,
)
from flightdeck.policy.patterns import Glob, PolicyVariableError, parse_glob

Phase = Literal["definite", "possible"]
_PRINTABLE = frozenset(chr(code) for code in range(0x21, 0x7F))
_V4_LIMIT = 1 << 32


@dataclass
class KeyModel:
    """How one condition key (case-insensitive) is represented in the formula."""

    name: str
    sort: str | None = None  # value_sort() of the first typed clause; None: only Null
    multi: bool = False
    set_clauses: int = 0
    decimals: int = 0  # numbers and dates: the most fractional digits a policy value has
    slots: list[tuple[z3.BoolRef, Any]] = field(default_factory=list)
    ipv6: list[z3.BoolRef] = field(default_factory=list)

    @property
    def scale(self) -> int:
        return int(10 ** (self.decimals + 1))


@dataclass(frozen=True)
class Opaque:
    text: str
    reason: str


class Encoder:
    """Builds the comparison formula for one (OLD, NEW) pair; see the module docstring."""

    def __init__(
        self,
        old: PolicyDocument,
        new: PolicyDocument,
        universe: ActionUniverse,
        groups: ActionGroups | None = None,
    ) -> None:
        self.documents: dict[Side, PolicyDocument] = {"old": old, "new": new}
        self.groups = groups if groups is not None else ActionGroups(old, new, universe)
        self.universe = self.groups.universe
        self.literal_actions = self.groups.literal_actions
        self.opaque: dict[str, Opaque] = {}
        self._opaque_vars: dict[str, z3.BoolRef] = {}
        self.keys: dict[str, KeyModel] = {}
        self._collect_keys()
        self.text_alphabet = self._alphabet(self._condition_chars())
        self.resource_alphabet = self._alphabet(self._resource_chars())
        self.classes = self.groups.classes
        self.action_class = z3.Int("action_class")
        self.action_text = z3.String("action")
        self.resource = z3.String("resource")
        self._build_key_variables()
        # Set per statement while encoding: the value an opaque atom takes in "definite".
        self._worst: bool | None = None
        self._stage: Literal["known", "unknown"] = "known"
        self._statement_label = ""

    # --- analysis ---------------------------------------------------------------------

    def _statements(self) -> Iterable[tuple[Side, PolicyDocument, Statement]]:
        for side, document in self.documents.items():
            for statement in document.statements:
                yield side, document, statement

    def _collect_keys(self) -> None:
        for _, _, statement in self._statements():
            for clause in statement.conditions:
                model = self.keys.setdefault(clause.key_lower, KeyModel(name=clause.key))
                family = operator_family(clause.operator)
                if clause.set_prefix is not None:
                    model.multi = True
                    model.set_clauses += 1
                if family == "null":
                    continue
                if model.sort is None:
                    model.sort = value_sort(family)
                if family in ("numeric", "date") and value_sort(family) == model.sort:
                    for value in clause.values:
                        model.decimals = max(model.decimals, _decimals(family, value))
        for key, model in self.keys.items():
            if is_multivalued_key(key):
                model.multi = True

    def _condition_chars(self) -> set[str]:
        chars: set[str] = set()
        for _, _, statement in self._statements():
            for clause in statement.conditions:
                for value in clause.values:
                    chars.update(value)
                    if clause.operator.endswith("IgnoreCase"):
                        chars.update(value.lower() + value.upper())
        return chars

    def _resource_chars(self) -> set[str]:
        return {
            char for _, _, s in self._statements() for pattern in s.resources for char in pattern
        }

    @staticmethod
    def _alphabet(mentioned: set[str]) -> z3.ReRef:
        extra = sorted(char for char in mentioned if char not in _PRINTABLE)
        if mentioned >= _PRINTABLE:
            # No unmentioned printable character is left to stand for the others; allow any.
            return z3.AllChar(z3.ReSort(z3.StringSort()))
        ranges: list[z3.ReRef] = [z3.Range("!", "~")]
        ranges.extend(z3.Re(z3.StringVal(char)) for char in extra)
        return ranges[0] if len(ranges) == 1 else z3.Union(*ranges)

    def known_actions_matching(self, pattern: str) -> list[str]:
        return self.groups.known_actions_matching(pattern)

    def unknown_classes(self) -> ActionClasses | None:
        return self.groups.unknown_classes()

    def _build_key_variables(self) -> None:
        for key, model in self.keys.items():
            count = max(1, model.set_clauses) if model.multi else 1
            for slot in range(count):
                present = z3.Bool(f"present[{key}][{slot}]")
                value: Any
                if model.sort == "bool":
                    value = z3.Bool(f"value[{key}][{slot}]")
                elif model.sort in ("numeric", "date"):
                    value = z3.Int(f"value[{key}][{slot}]")
                elif model.sort == "ip":
                    value = z3.BitVec(f"value[{key}][{slot}]", 128)
                    model.ipv6.append(z3.Bool(f"ipv6[{key}][{slot}]"))
                else:
                    value = z3.String(f"value[{key}][{slot}]")
                model.slots.append((present, value))

    # --- formulas ----------------------------------------------------------------------

    def domain(self, stage: Literal["known", "unknown"]) -> list[z3.BoolRef]:
        """Constraints every real request satisfies."""
        # One regular expression for the whole domain: z3 decides it much faster than the
        # same facts stated apart.
        arn_or_star = z3.Union(
            z3.Re(z3.StringVal("*")),
            z3.Concat(z3.Re(z3.StringVal("arn:")), z3.Star(self.resource_alphabet)),
        )
        facts: list[z3.BoolRef] = [z3.InRe(self.resource, arn_or_star)]
        classes = self._classes_for(stage)
        if classes is not None:
            facts.append(self.action_class >= 0)
            facts.append(self.action_class < len(classes.representatives))
        else:
            # Character ranges, not unions of 36 single characters: z3 is far faster.
            letters_digits = [z3.Range("a", "z"), z3.Range("0", "9")]
            service = z3.Plus(z3.Union(*letters_digits, z3.Re("-")))
            name = z3.Plus(z3.Union(*letters_digits))
            facts.append(z3.InRe(self.action_text, z3.Concat(service, z3.Re(":"), name)))
            facts.extend(self.action_text != z3.StringVal(a) for a in self.literal_actions)
        for model in self.keys.values():
            for slot, (_, value) in enumerate(model.slots):
                if model.sort in (None, "text"):
                    facts.append(z3.InRe(value, z3.Star(self.text_alphabet)))
                elif model.sort == "ip":
                    facts.append(z3.Implies(z3.Not(model.ipv6[slot]), z3.ULT(value, _V4_LIMIT)))
        return facts

    def newly_allowed(self, stage: Literal["known", "unknown"], phase: Phase) -> z3.BoolRef:
        """NEW allows the request and OLD does not."""
        self._stage = stage
        return z3.And(
            self._allows("new", phase, robust_allow=True),
            z3.Not(self._allows("old", phase, robust_allow=False)),
        )

    def _allows(self, side: Side, phase: Phase, *, robust_allow: bool) -> z3.BoolRef:
        # "definite": opaque atoms take the value least favourable to the claim, so a
        # model holds whatever they really are: NEW must allow with its Allow atoms false
        # and Deny atoms true; OLD must deny with its Allow atoms true and Deny atoms false.
        document = self.documents[side]
        allows: list[z3.BoolRef] = []
        denies: list[z3.BoolRef] = []
        for statement in document.statements:
            allow = statement.effect == "Allow"
            if phase == "definite":
                self._worst = (not robust_allow) if allow else robust_allow
            else:
                self._worst = None
            sid = f' ("{statement.sid}")' if statement.sid else ""
            self._statement_label = f"{side.upper()} statement {statement.index}{sid}"
            match = self._statement(side, document, statement)
            (allows if allow else denies).append(match)
        return z3.And(
            z3.Or(*allows) if allows else z3.BoolVal(False),
            z3.Not(z3.Or(*denies)) if denies else z3.BoolVal(True),
        )

    def _statement(self, side: Side, document: PolicyDocument, statement: Statement) -> z3.BoolRef:
        action = self._action(side, statement)
        if z3.is_false(action):
            return action
        parts = [action, self._resource(document, statement)]
        parts.extend(self._clause(document, clause) for clause in statement.conditions)
        return z3.And(*parts)

    def _classes_for(self, stage: Literal["known", "unknown"]) -> ActionClasses | None:
        """The action groups of a stage; None: unknown actions as z3 strings instead."""
        return self.classes if stage == "known" else self.unknown_classes()

    def _action(self, side: Side, statement: Statement) -> z3.BoolRef:
        grouped = self._classes_for(self._stage)
        if grouped is not None:
            classes = grouped.statement_classes[(side, statement.index)]
            if not classes:
                return z3.BoolVal(False)
            if len(classes) == len(grouped.representatives):
                return z3.BoolVal(True)
            return z3.Or(*(self.action_class == index for index in sorted(classes)))
        # Unknown actions differ from every literal the policies name, so only wildcards
        # can match them.
        matches = []
        for action in statement.actions:
            glob = parse_glob(action.lower(), wildcards=True, variables=False)
            if all(token.kind == "star" for token in glob.tokens):
                matches.append(z3.BoolVal(True))
            elif glob.literal is None:
                matches.append(z3.InRe(self.action_text, self._regex(glob, self.text_alphabet)))
        matched = z3.Or(*matches) if matches else z3.BoolVal(False)
        return z3.simplify(z3.Not(matched)) if statement.not_action else matched

    def _resource(self, document: PolicyDocument, statement: Statement) -> z3.BoolRef:
        matches: list[z3.BoolRef] = []
        for pattern in statement.resources:
            if pattern and set(pattern) == {"*"}:
                matches.append(z3.BoolVal(True))
                continue
            try:
                glob = parse_glob(pattern, wildcards=True, variables=document.policy_variables)
            except PolicyVariableError as exc:
                matches.append(
                    self._atom(
                        f"resource|{pattern}",
                        f"{self._statement_label}: Resource {pattern!r} uses {exc}",
                        positive=not statement.not_resource,
                    )
                )
                continue
            literal = glob.literal
            if literal is not None:
                matches.append(self.resource == z3.StringVal(literal))
            else:
                matches.append(z3.InRe(self.resource, self._regex(glob, self.resource_alphabet)))
        matched = z3.Or(*matches)
        return z3.Not(matched) if statement.not_resource else matched

    def _clause(self, document: PolicyDocument, clause: ConditionClause) -> z3.BoolRef:
        try:
            return self._clause_formula(document, clause)
        except NotModelled as exc:
            text = (
                f"clause|{clause.written_operator}|{clause.key_lower}|{clause.values!r}|"
                f"{document.policy_variables}"
            )
            reason = f"{self._statement_label}: {clause.written_operator} on {clause.key}: {exc}"
            return self._atom(text, reason, positive=True)

    def _clause_formula(self, document: PolicyDocument, clause: ConditionClause) -> z3.BoolRef:
        model = self.keys[clause.key_lower]
        family = operator_family(clause.operator)
        variables = document.policy_variables
        if family == "null":
            if clause.set_prefix:
                raise NotModelled("a set qualifier on Null is not modelled")
            present = z3.Or(*(slot_present for slot_present, _ in model.slots))
            return z3.Or(
                *(z3.Not(present) if absent else present for absent in null_wants_absent(clause))
            )
        if value_sort(family) != model.sort:
            raise NotModelled(f"the key is also compared as {model.sort}, not modelled together")
        if family == "binary":
            raise NotModelled("binary comparisons are not modelled")
        if clause.set_prefix is not None:
            items = [
                (present, self._item(model, slot, clause, variables))
                for slot, (present, _) in enumerate(model.slots)
            ]
            if clause.set_prefix == "ForAllValues":
                return z3.And(*(z3.Implies(present, holds) for present, holds in items))
            some = z3.Or(*(z3.And(present, holds) for present, holds in items))
            if clause.if_exists:
                return z3.Or(some, z3.Not(z3.Or(*(present for present, _ in items))))
            return some
        if model.multi:
            raise NotModelled(
                "the key holds several values but the operator has no ForAnyValue/ForAllValues"
            )
        present, _ = model.slots[0]
        holds = self._item(model, 0, clause, variables)
        missing = z3.BoolVal(clause.if_exists or clause.negated)
        return z3.Or(z3.And(present, holds), z3.And(z3.Not(present), missing))

    def _item(
        self, model: KeyModel, slot: int, clause: ConditionClause, variables: bool
    ) -> z3.BoolRef:
        matched = z3.Or(
            *(self._value(model, slot, clause, value, variables) for value in clause.values)
        )
        return z3.Not(matched) if clause.negated else matched

    def _value(
        self, model: KeyModel, slot: int, clause: ConditionClause, value: str, variables: bool
    ) -> z3.BoolRef:
        _, variable = model.slots[slot]
        family = operator_family(clause.operator)
        if family == "string":
            glob = condition_glob(clause, value, variables=variables)
            ignore_case = clause.operator.endswith("IgnoreCase")
            literal = glob.literal
            if literal is not None and not ignore_case:
                return variable == z3.StringVal(literal)
            return z3.InRe(variable, self._regex(glob, self.text_alphabet, ignore_case=ignore_case))
        if family == "arn":
            segments = arn_segments(clause, value, variables=variables)
            parts: list[z3.ReRef] = []
            for index, segment in enumerate(segments):
                if index:
                    parts.append(z3.Re(":"))
                last = index == len(segments) - 1
                parts.append(self._regex(segment, self.text_alphabet, no_colon=not last))
            return z3.InRe(variable, z3.Concat(*parts))
        if family == "bool":
            text = value.lower()
            if text == "true":
                return variable
            if text == "false":
                return z3.Not(variable)
            return z3.BoolVal(False)
        if family in ("numeric", "date"):
            number = parse_number(value) if family == "numeric" else parse_date(value)
            scaled = number * model.scale
            if scaled != scaled.to_integral_value():
                raise NotModelled(f"{value!r} is more precise than modelled")
            return _compare(clause.operator, variable, int(scaled))
        if family == "ip":
            network = parse_network(value)
            bits = 32 if network.version == 4 else 128
            shift = bits - network.prefixlen
            wanted = int(network.network_address) >> shift
            is_v6 = model.ipv6[slot]
            version_ok = is_v6 if network.version == 6 else z3.Not(is_v6)
            return z3.And(version_ok, z3.LShR(variable, shift) == wanted)
        raise NotModelled(f"{clause.operator} comparisons are not modelled")

    def _regex(
        self,
        glob: Glob,
        alphabet: z3.ReRef,
        *,
        ignore_case: bool = False,
        no_colon: bool = False,
    ) -> z3.ReRef:
        any_char = z3.Intersect(alphabet, z3.Complement(z3.Re(":"))) if no_colon else alphabet
        parts: list[z3.ReRef] = []
        run = ""
        for token in glob.tokens:
            if token.kind == "char" and not (
                ignore_case and token.char.lower() != token.char.upper()
            ):
                run += token.char
                continue
            if run:
                parts.append(z3.Re(z3.StringVal(run)))
                run = ""
            if token.kind == "star":
                parts.append(z3.Star(any_char))
            elif token.kind == "one":
                parts.append(any_char)
            else:
                variants = sorted({token.char, token.char.lower(), token.char.upper()})
                parts.append(z3.Union(*(z3.Re(z3.StringVal(v)) for v in variants if len(v) == 1)))
        if run:
            parts.append(z3.Re(z3.StringVal(run)))
        if not parts:
            return z3.Re(z3.StringVal(""))
        return parts[0] if len(parts) == 1 else z3.Concat(*parts)

    def _atom(self, text: str, reason: str, *, positive: bool) -> z3.BoolRef:
        self.opaque.setdefault(text, Opaque(text, reason))
        if self._worst is not None:
            return z3.BoolVal(self._worst if positive else not self._worst)
        if text not in self._opaque_vars:
            self._opaque_vars[text] = z3.Bool(f"opaque[{len(self._opaque_vars)}]")
        atom = self._opaque_vars[text]
        return atom if positive else z3.Not(atom)

    # --- models back to requests -------------------------------------------------------

    def action_from(self, model: z3.ModelRef, stage: Literal["known", "unknown"]) -> str:
        grouped = self._classes_for(stage)
        if grouped is not None:
            index = int(model.eval(self.action_class, model_completion=True).as_long())
            return grouped.representatives[index]
        return str(model.eval(self.action_text, model_completion=True).as_string())

    def resource_from(self, model: z3.ModelRef) -> str:
        return str(model.eval(self.resource, model_completion=True).as_string())

    def context_from(self, model: z3.ModelRef) -> dict[str, Any]:
        context: dict[str, Any] = {}
        for model_key in self.keys.values():
            values = []
            for slot, (present, variable) in enumerate(model_key.slots):
                if not z3.is_true(model.eval(present, model_completion=True)):
                    continue
                values.append(self._value_from(model, model_key, slot, variable))
            if not values:
                continue
            context[model_key.name] = values if model_key.multi else values[0]
        return context

    @staticmethod
    def _value_from(model: z3.ModelRef, key: KeyModel, slot: int, variable: Any) -> Any:
        value = model.eval(variable, model_completion=True)
        if key.sort == "bool":
            return z3.is_true(value)
        if key.sort in ("numeric", "date"):
            number = Decimal(value.as_long()) / key.scale
            if key.sort == "date":
                return format_date(number)
            return int(number) if number == number.to_integral_value() else float(number)
        if key.sort == "ip":
            raw = value.as_long()
            if z3.is_true(model.eval(key.ipv6[slot], model_completion=True)):
                return str(ipaddress.IPv6Address(raw))
            return str(ipaddress.IPv4Address(raw))
        return str(value.as_string())


def _decimals(family: Family, value: str) -> int:
    try:
        number = parse_number(value) if family == "numeric" else parse_date(value)
    except NotModelled:
        return 0
    exponent = number.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _compare(operator: str, variable: Any, constant: int) -> z3.BoolRef:
    suffix = operator.removeprefix("Numeric").removeprefix("Date")
    if suffix in ("Equals", "NotEquals"):
        return variable == constant
    if suffix == "LessThan":
        return variable < constant
    if suffix == "LessThanEquals":
        return variable <= constant
    if suffix == "GreaterThan":
        return variable > constant
    if suffix == "GreaterThanEquals":
        return variable >= constant
    raise NotModelled(f"unknown comparison {operator}")
