"""Filter-pattern benchmark: events per second through flightdeck.filterpattern.

Over N CloudTrail-like events (deterministic, seeded), prints for
- the role-change JSON pattern (filterpattern.cloudtrail.role_change_pattern), and
- a text pattern (`"errorCode" AccessDenied -DryRun`):
events per second for the compiled pattern, and its ratio to baselines:
- `json.loads` alone per event (what any JSON evaluator pays without a pre-check),
- the same JSON condition without the substring pre-check (json.loads + condition),
- re-parsing the pattern for every event (why callers should compile once),
- for the text pattern, the bare `in` checks written by hand (the floor).
Figures, not assertions.

    .venv/bin/python bench/pattern_bench.py --events 100000
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable

from flightdeck.filterpattern import compile_pattern
from flightdeck.filterpattern.cloudtrail import role_change_pattern
from flightdeck.filterpattern.evaluate import compile_condition, load_json_object, selector_getter
from flightdeck.filterpattern.nodes import JsonPattern

ROLE = "flightdeck-remote-management"
POLICY = "FlightdeckCrossAccountRole"
TEXT_PATTERN = '"errorCode" AccessDenied -DryRun'
_SOURCES = {
    "ec2.amazonaws.com": ["DescribeInstances", "RunInstances", "CreateTags", "DescribeVpcs"],
    "s3.amazonaws.com": ["GetBucketAcl", "PutObject", "ListBuckets"],
    "sts.amazonaws.com": ["AssumeRole", "GetCallerIdentity"],
    "iam.amazonaws.com": [
        "GetRole",
        "ListRoles",
        "AttachRolePolicy",
        "PutRolePolicy",
        "DeleteRole",
        "CreatePolicyVersion",
        "SetDefaultPolicyVersion",
    ],
}


def make_events(count: int, seed: int = 7) -> list[str]:
    """CloudTrail-like records: mostly reads on other services, some IAM writes, ~1% on the
    watched role, some failed calls, a policy document (JSON escapes) on IAM writes."""
    rng = random.Random(seed)
    sources = list(_SOURCES)
    events = []
    for index in range(count):
        source = rng.choice(sources)
        name = rng.choice(_SOURCES[source])
        record: dict[str, object] = {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole",
                "accountId": "111122223333",
                "arn": f"arn:aws:sts::111122223333:assumed-role/app/{index}",
            },
            "eventTime": f"2024-05-01T12:{index % 60:02d}:00Z",
            "eventSource": source,
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": f"10.0.{index % 256}.{(index * 7) % 256}",
            "requestID": f"req-{index:08d}",
            "eventID": f"evt-{index:08d}",
            "readOnly": name.startswith(("Get", "List", "Describe")),
            "eventType": "AwsApiCall",
            "recipientAccountId": "111122223333",
        }
        if source == "iam.amazonaws.com":
            role = ROLE if rng.random() < 0.05 else f"app-role-{index % 50}"
            record["requestParameters"] = {"roleName": role}
            document = json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*"}]})
            if name == "PutRolePolicy":
                record["requestParameters"] = {
                    "roleName": role,
                    "policyName": "inline",
                    "policyDocument": document,
                }
            elif name in ("CreatePolicyVersion", "SetDefaultPolicyVersion"):
                policy = POLICY if rng.random() < 0.05 else f"AppPolicy{index % 50}"
                record["requestParameters"] = {
                    "policyArn": f"arn:aws:iam::111122223333:policy/{policy}",
                    "policyDocument": document,
                }
        if rng.random() < 0.02:
            record["errorCode"] = rng.choice(["AccessDenied", "Client.UnauthorizedOperation"])
            if rng.random() < 0.3:
                record["errorMessage"] = "Request would have succeeded, but DryRun flag is set."
        events.append(json.dumps(record))
    return events


def rate(test: Callable[[str], object], events: list[str]) -> tuple[float, int]:
    """Events per second through `test`, and how many it returned truthy for."""
    start = time.perf_counter()
    hits = sum(1 for event in events if test(event))
    return len(events) / (time.perf_counter() - start), hits


def report(label: str, figure: tuple[float, int], reference: float | None = None) -> None:
    per_second, hits = figure
    ratio = f"  compiled is {reference / per_second:.2f}x this" if reference else ""
    print(f"  {label:<44} {per_second:>12,.0f} events/s  ({hits:,} matched){ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    events = make_events(args.events)
    sample = events[: max(1, len(events) // 50)]  # re-parsing is slow: time it on 2%

    json_text = role_change_pattern(ROLE, POLICY)
    json_pattern = compile_pattern(json_text)
    assert isinstance(json_pattern.tree, JsonPattern)
    condition = compile_condition(json_pattern.tree.condition, selector_getter)

    def without_precheck(event: str) -> bool:
        document = load_json_object(event)
        return document is not None and condition(document)

    print(f"{len(events):,} CloudTrail-like events, {len(json_text)}-character JSON pattern")
    compiled = rate(json_pattern.matches, events)
    report("JSON pattern, compiled (with pre-check)", compiled)
    report("json.loads alone (baseline)", rate(json.loads, events), compiled[0])
    report("JSON condition without pre-check", rate(without_precheck, events), compiled[0])
    report(
        "JSON pattern re-parsed per event (2% sample)",
        rate(lambda e: compile_pattern(json_text).matches(e), sample),
        compiled[0],
    )

    text_pattern = compile_pattern(TEXT_PATTERN)
    print(f"\ntext pattern {TEXT_PATTERN!r}")
    text = rate(text_pattern.matches, events)
    report("text pattern, compiled", text)
    report(
        "hand-written `in` checks (floor)",
        rate(lambda e: '"errorCode"' in e and "AccessDenied" in e and "DryRun" not in e, events),
        text[0],
    )
    report(
        "text pattern re-parsed per event (2% sample)",
        rate(lambda e: compile_pattern(TEXT_PATTERN).matches(e), sample),
        text[0],
    )


if __name__ == "__main__":
    main()
