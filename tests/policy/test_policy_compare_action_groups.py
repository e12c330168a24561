"""Action-only policies (Resource "*", no conditions) are decided by action groups and the
plain evaluator, without the solver: on random pairs the answer is the solver's."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightdeck.policy import compare as compare_module
from flightdeck.policy.action_groups import ActionGroups
from flightdeck.policy.actions import ActionUniverse
from flightdeck.policy.compare import compare, parse_identity_policy
from policy.compare_helpers import allow, check_example, deny, doc

KNOWN = [
    "s3:GetObject",
    "s3:GetObjectAcl",
    "s3:GetBucketAcl",
    "s3:PutObject",
    "s3:ListBucket",
    "ec2:DescribeInstances",
    "ec2:RunInstances",
    "sqs:SendMessage",
]
UNIVERSE = ActionUniverse.of(KNOWN, "test")
PATTERNS = [
    *KNOWN,
    "s3:*",
    "s3:Get*",
    "s3:GetObject*",
    "s3:List*",
    "ec2:Describe*",
    "ec2:*",
    "*",
    "s3:Put*",
    "sqs:*",
    "s3:Futureaction",
    "s3:?etObject",  # a shape the groups cannot list: the solver decides those
]

statements = st.builds(
    lambda effect, key, actions: {"Effect": effect, key: actions, "Resource": "*"},
    st.sampled_from(["Allow", "Allow", "Deny"]),
    st.sampled_from(["Action", "Action", "Action", "NotAction"]),
    st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=4, unique=True),
)
policies = st.lists(statements, min_size=0, max_size=3).map(lambda s: doc(*s))


def _by_solver(old: dict[str, Any], new: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as patched:
        patched.setattr(compare_module, "action_only", lambda document: False)
        return compare(old, new, universe=UNIVERSE).result


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(old=policies, new=policies)
def test_action_groups_answer_as_the_solver_does(
    old: dict[str, Any], new: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = compare(old, new, universe=UNIVERSE)
    assert fast.result == _by_solver(old, new, monkeypatch), (old, new, fast)
    if fast.result == "expands":
        check_example(old, new, fast)


def test_a_future_action_under_a_wider_prefix_is_found_without_the_solver() -> None:
    old = doc(allow(["s3:GetObject", "s3:GetObjectAcl", "s3:GetBucketAcl"]))
    new = doc(allow("s3:Get*"))
    result = compare(old, new, universe=UNIVERSE)
    assert result.result == "expands"
    check_example(old, new, result)
    assert result.example is not None
    assert result.example.action.lower().startswith("s3:get")
    assert result.example.action not in UNIVERSE
    assert "not in the IAM action list" in result.reason


def test_unknown_action_witnesses_cover_every_prefix_chain() -> None:
    # One statement per prefix, so that each chain is a group of its own.
    old = parse_identity_policy(
        doc(allow("s3:Get*"), allow("s3:GetObject*"), deny("s3:GetObjectA*"))
    )
    groups = ActionGroups(old, old, UNIVERSE).unknown_classes()
    assert groups is not None
    witnesses = [action.lower() for action in groups.representatives]
    # Get but not GetObject, GetObject but not GetObjectA, GetObjectA, and none of them.
    assert any(w.startswith("s3:get") and not w.startswith("s3:getobject") for w in witnesses)
    assert any(
        w.startswith("s3:getobject") and not w.startswith("s3:getobjecta") for w in witnesses
    )
    assert any(w.startswith("s3:getobjecta") for w in witnesses)
    assert all(w not in UNIVERSE for w in witnesses)


def test_other_wildcard_shapes_leave_unknown_actions_to_the_solver() -> None:
    policy = parse_identity_policy(doc(allow("s3:?etObject")))
    assert ActionGroups(policy, policy, UNIVERSE).unknown_classes() is None
    result = compare(doc(allow("s3:GetObject")), doc(allow("s3:?etObject")), universe=UNIVERSE)
    assert result.result == "expands"
