"""Filter-pattern benchmark: events per second through flightdeck.filterpattern.

End to end first: N CloudTrail-like records (deterministic, seeded; about 1.2 KB each, some
with JSON escapes) are written to a file, one per line, and for each pattern (the
role-change pattern, CIS-style alarm patterns, a text pattern) the figure is events per
second from reading the file to the list of matching lines, JSON parsing included, in one
process on one core; and for a whole CLI call (`flightdeck aws pattern test PATTERN
--events FILE --json`, interpreter start included). With ``--baseline-src DIR`` (a src/
directory of other code, e.g. main's) the same file and patterns are also timed with that
code in a child process and both are printed, before and after in one run.

Then evaluation alone, in memory: the compiled role pattern against `json.loads` per event,
the condition without the substring pre-check, re-parsing the pattern per event, and for
the text pattern the bare `in` checks written by hand (the floor). Figures, not assertions.

    .venv/bin/python bench/pattern_bench.py --events 100000 [--baseline-src DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROLE = "flightdeck-remote-management"
POLICY = "FlightdeckCrossAccountRole"
TEXT_PATTERN = '"errorCode" AccessDenied -DryRun'
# CIS-benchmark-style CloudTrail alarms (unauthorized calls, root use, console sign-in
# without MFA, IAM policy changes).
CIS_PATTERNS = {
    "unauthorized API calls": '{ ($.errorCode = "*UnauthorizedOperation") || '
    '($.errorCode = "AccessDenied*") }',
    "root account use": '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
    '&& $.eventType != "AwsServiceEvent" }',
    "console sign-in without MFA": '{ ($.eventName = "ConsoleLogin") && '
    '($.additionalEventData.MFAUsed != "Yes") }',
    "IAM policy changes": "{ ($.eventName = DeleteGroupPolicy) || ($.eventName = DeleteRolePolicy) "
    "|| ($.eventName = PutRolePolicy) || ($.eventName = AttachRolePolicy) || "
    "($.eventName = DetachRolePolicy) || ($.eventName = CreatePolicyVersion) }",
}
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
            "userAgent": rng.choice(
                [
                    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64.amzn.2 prompt/off",
                    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1 lang/python#3.11",
                    "console.amazonaws.com",
                ]
            ),
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": "111122223333",
            "eventCategory": "Management",
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": f"{source.split('.')[0]}.us-east-1.amazonaws.com",
            },
        }
        record["userIdentity"]["sessionContext"] = {  # type: ignore[index]
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEID",
                "arn": "arn:aws:iam::111122223333:role/app",
                "accountId": "111122223333",
                "userName": "app",
            },
            "attributes": {"creationDate": "2024-05-01T11:59:00Z", "mfaAuthenticated": "false"},
        }
        if rng.random() < 0.01:
            record["eventName"] = "ConsoleLogin"
            record["additionalEventData"] = {"MFAUsed": rng.choice(["Yes", "No"])}
        if rng.random() < 0.005:
            record["userIdentity"] = {"type": "Root", "accountId": "111122223333"}
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


def all_patterns() -> dict[str, str]:
    from flightdeck.filterpattern.cloudtrail import role_change_pattern

    return {
        "role-change pattern (JSON)": role_change_pattern(ROLE, POLICY),
        **{f"CIS: {name} (JSON)": text for name, text in CIS_PATTERNS.items()},
        # No literal to look for in the raw text: every record is parsed.
        "successful writes, every record parsed": "{ $.readOnly IS FALSE && "
        "$.errorCode NOT EXISTS }",
        "text pattern": TEXT_PATTERN,
    }


def read_lines(path: Path) -> list[str]:
    """The file's events as the CLI reads them (`aws pattern test --events FILE`)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def end_to_end(path: Path, count: int, runs: int, cli_runs: int) -> dict[str, Any]:
    """Per pattern: events/s from the file to the matching line numbers (median of `runs`),
    the matches, and events/s of a whole CLI call (median of `cli_runs`)."""
    from flightdeck.filterpattern import compile_pattern

    figures: dict[str, Any] = {}
    for label, text in all_patterns().items():
        compiled = compile_pattern(text)
        seconds, cpu = [], []
        matched: list[int] = []
        for _ in range(runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            matched = list(compiled.matching_lines(read_lines(path)))
            seconds.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        command = [sys.executable, "-m", "flightdeck", "aws", "pattern", "test", "--json"]
        command += ["--events", str(path), "--", text]
        cli, cli_cpu = [], []
        for _ in range(cli_runs):
            start, start_cpu = time.perf_counter(), _children_cpu()
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            cli.append(time.perf_counter() - start)
            cli_cpu.append(_children_cpu() - start_cpu)
            assert json.loads(done.stdout)["matches"] == matched, label
        figures[label] = {
            "events_per_second": count / statistics.median(seconds),
            "cpu_events_per_second": count / statistics.median(cpu),
            "matches": len(matched),
            "cli_events_per_second": count / statistics.median(cli) if cli else None,
            "cli_cpu_events_per_second": count / statistics.median(cli_cpu) if cli else None,
        }
    return figures


def _children_cpu() -> float:
    """CPU seconds used so far by finished child processes (user and system)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rate(test: Callable[[str], object], events: list[str]) -> tuple[float, int]:
    """Events per second through `test`, and how many it returned truthy for."""
    start = time.perf_counter()
    hits = sum(1 for event in events if test(event))
    return len(events) / (time.perf_counter() - start), hits


def report(label: str, figure: tuple[float, int], reference: float | None = None) -> None:
    per_second, hits = figure
    ratio = f"  compiled is {reference / per_second:.2f}x this" if reference else ""
    print(f"  {label:<44} {per_second:>12,.0f} events/s  ({hits:,} matched){ratio}")


def evaluation_alone(events: list[str]) -> None:
    from flightdeck.filterpattern import compile_pattern
    from flightdeck.filterpattern.cloudtrail import role_change_pattern
    from flightdeck.filterpattern.evaluate import (
        compile_condition,
        load_json_object,
        selector_getter,
    )
    from flightdeck.filterpattern.nodes import JsonPattern

    sample = events[: max(1, len(events) // 50)]  # re-parsing is slow: time it on 2%
    json_text = role_change_pattern(ROLE, POLICY)
    json_pattern = compile_pattern(json_text)
    assert isinstance(json_pattern.tree, JsonPattern)
    condition = compile_condition(json_pattern.tree.condition, selector_getter)

    def without_precheck(event: str) -> bool:
        document = load_json_object(event)
        return document is not None and condition(document)

    print(f"\nevaluation alone, in memory ({len(json_text)}-character JSON pattern)")
    compiled = rate(json_pattern.matches, events)
    report("JSON pattern, compiled (with pre-check)", compiled)
    report("json.loads alone", rate(json.loads, events), compiled[0])
    report("JSON condition without pre-check", rate(without_precheck, events), compiled[0])
    report(
        "JSON pattern re-parsed per event (2% sample)",
        rate(lambda e: compile_pattern(json_text).matches(e), sample),
        compiled[0],
    )
    text_pattern = compile_pattern(TEXT_PATTERN)
    print(f"text pattern {TEXT_PATTERN!r}")
    text = rate(text_pattern.matches, events)
    report("text pattern, compiled", text)
    report(
        "hand-written `in` checks (floor)",
        rate(lambda e: '"errorCode"' in e and "AccessDenied" in e and "DryRun" not in e, events),
        text[0],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="in-process passes per pattern")
    parser.add_argument("--cli-runs", type=int, default=2, help="CLI calls per pattern")
    parser.add_argument("--baseline-src", help="a src/ directory with the code to compare to")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: time FILE, print JSON
    args = parser.parse_args()
    if args.worker:
        figures = end_to_end(Path(args.worker), args.events, args.runs, args.cli_runs)
        print(json.dumps(figures))
        return
    events = make_events(args.events)
    with tempfile.TemporaryDirectory() as temporary:
        path = Path(temporary) / "cloudtrail.jsonl"
        path.write_text("\n".join(events) + "\n", encoding="utf-8")
        size = path.stat().st_size
        before = None
        if args.baseline_src:
            command = [
                sys.executable,
                __file__,
                "--worker",
                str(path),
                "--events",
                str(len(events)),
            ]
            command += ["--runs", str(args.runs), "--cli-runs", str(args.cli_runs)]
            env = {**os.environ, "PYTHONPATH": args.baseline_src}
            done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
            before = json.loads(done.stdout)
        after = end_to_end(path, len(events), args.runs, args.cli_runs)
    escaped = sum(1 for event in events if "\\" in event)
    print(
        f"{len(events):,} CloudTrail-like records in a {size / 1e6:.0f} MB file "
        f"({size / len(events):,.0f} bytes each, {escaped:,} with JSON escapes)"
    )
    print(
        "end to end, file to matching lines (JSON parsing included), events/s: wall clock "
        "and CPU time (one core), in one process and for a whole CLI call"
    )
    header = (
        f"  {'pattern':<40} {'wall':>9} {'CPU':>9} {'matches':>7} {'CLI wall':>9} {'CLI CPU':>9}"
    )
    if before:
        header += f" | {'base CPU':>9} {'base CLI':>9} {'CPU x':>6} {'CLI x':>6}"
    print(header)
    for label, now in after.items():
        line = (
            f"  {label:<40} {now['events_per_second']:>9,.0f} {now['cpu_events_per_second']:>9,.0f}"
            f" {now['matches']:>7,} {now['cli_events_per_second'] or 0:>9,.0f}"
            f" {now['cli_cpu_events_per_second'] or 0:>9,.0f}"
        )
        if before:
            was = before[label]
            same = "" if was["matches"] == now["matches"] else "  (matches differ!)"
            cpu_ratio = now["cpu_events_per_second"] / was["cpu_events_per_second"]
            cli_ratio = (now["cli_cpu_events_per_second"] or 0) / (
                was["cli_cpu_events_per_second"] or 1
            )
            base_cli = was["cli_cpu_events_per_second"] or 0
            line += (
                f" | {was['cpu_events_per_second']:>9,.0f} {base_cli:>9,.0f}"
                f" {cpu_ratio:>5.1f}x {cli_ratio:>5.1f}x{same}"
            )
        print(line)
    evaluation_alone(events)


if __name__ == "__main__":
    main()
