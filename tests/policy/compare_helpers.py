"""Building blocks for the policy-comparison tests: statements, and verdicts checked twice.

Every "expands" answer is re-checked here with the plain evaluator (NEW allows the example,
OLD denies it, and the named NEW statement is an Allow that matches it), so no test can pass
on an example the engine merely asserted.
"""

from __future__ import annotations

from typing import Any

from flightdeck.policy.compare import Comparison, compare, parse_identity_policy
from flightdeck.policy.evaluate import evaluate_policy, statement_matches


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return document


def stmt(
    effect: str,
    action: Any,
    resource: Any = "*",
    condition: dict[str, Any] | None = None,
    *,
    not_action: bool = False,
    not_resource: bool = False,
    sid: str | None = None,
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": effect,
        ("NotAction" if not_action else "Action"): action,
        ("NotResource" if not_resource else "Resource"): resource,
    }
    if condition is not None:
        statement["Condition"] = condition
    if sid is not None:
        statement["Sid"] = sid
    return statement


def allow(action: Any, resource: Any = "*", condition: Any = None, **kw: Any) -> dict[str, Any]:
    return stmt("Allow", action, resource, condition, **kw)


def deny(action: Any, resource: Any = "*", condition: Any = None, **kw: Any) -> dict[str, Any]:
    return stmt("Deny", action, resource, condition, **kw)


def check_example(old: Any, new: Any, comparison: Comparison) -> None:
    """The example really is allowed by NEW and denied by OLD, by the named statement."""
    assert comparison.example is not None
    old_doc, new_doc = parse_identity_policy(old), parse_identity_policy(new)
    request = comparison.example.as_request()
    assert evaluate_policy(new_doc, request).allowed is True, comparison
    assert evaluate_policy(old_doc, request).allowed is False, comparison
    assert comparison.statement is not None
    statement = new_doc.statements[comparison.statement]
    assert statement.effect == "Allow"
    assert statement_matches(new_doc, statement, request) is True


def expands(old: Any, new: Any, **kwargs: Any) -> Comparison:
    comparison = compare(old, new, **kwargs)
    assert comparison.result == "expands", comparison
    assert not comparison.reason.startswith("unsure"), comparison
    check_example(old, new, comparison)
    return comparison


def no_new_access(old: Any, new: Any, **kwargs: Any) -> Comparison:
    comparison = compare(old, new, **kwargs)
    assert comparison.result == "no-new-access", comparison
    assert comparison.example is None and comparison.statement is None
    return comparison


def unsure(old: Any, new: Any, **kwargs: Any) -> Comparison:
    """An unsure "expands": its request, when it shows one, is checked like any other."""
    comparison = compare(old, new, **kwargs)
    assert comparison.result == "expands", comparison
    assert comparison.reason.startswith("unsure: "), comparison
    if comparison.example is not None:
        check_example(old, new, comparison)
    else:
        assert comparison.statement is None, comparison
    return comparison
