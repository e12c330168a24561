"""``flightdeck aws policy compare``, run as the installed command."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from flightdeck.aws.permissions import managed_policy_document
from policy.compare_helpers import allow, check_example, doc

FLIGHTDECK = str(Path(sys.executable).parent / "flightdeck")


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLIGHTDECK, "aws", "policy", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


def write(path: Path, document: Any) -> str:
    path.write_text(json.dumps(document, indent=2) if not isinstance(document, str) else document)
    return str(path)


def test_json_output_for_an_expanding_version(tmp_path: Path) -> None:
    current = managed_policy_document()
    proposed = copy.deepcopy(current)
    proposed["Statement"][0]["Action"].append("ec2:DeleteKeyPair")
    old = write(tmp_path / "old.json", current)
    new = write(tmp_path / "new.json", proposed)
    result = run("compare", old, new, "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"result", "example", "statement", "reason"}
    assert answer["result"] == "expands"
    assert set(answer["example"]) == {"action", "resource", "context"}
    assert answer["example"]["action"] == "ec2:DeleteKeyPair"
    assert answer["statement"] == 0
    # The CLI's example holds up under the plain evaluator too.
    from flightdeck.policy.compare import Comparison, Example

    check_example(
        current,
        proposed,
        Comparison("expands", Example(**answer["example"]), answer["statement"], answer["reason"]),
    )


def test_json_output_for_a_narrowing_version_and_stdin(tmp_path: Path) -> None:
    wide = write(tmp_path / "wide.json", doc(allow("s3:*")))
    narrow = json.dumps(doc(allow("s3:Get*")))
    result = run("compare", wide, "-", "--json", stdin=narrow)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "result": "no-new-access",
        "example": None,
        "statement": None,
        "reason": json.loads(result.stdout)["reason"],
    }
    assert "every request NEW allows, OLD allows too" in json.loads(result.stdout)["reason"]


def test_human_output_names_the_request_and_statement(tmp_path: Path) -> None:
    old = write(tmp_path / "old.json", doc(allow("s3:GetObject", "arn:aws:s3:::logs/*")))
    new = write(
        tmp_path / "new.json",
        doc(
            allow("s3:GetObject", "arn:aws:s3:::logs/*"),
            {
                "Sid": "UploadFromOffice",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::logs/*",
                "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
            },
        ),
    )
    result = run("compare", old, new)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Expands" in out
    assert "action    s3:PutObject" in out
    assert "resource  arn:aws:s3:::logs/example" in out
    assert 'context   aws:SourceIp = "203.0.113.' in out
    assert 'statement 1 ("UploadFromOffice")' in out
    narrowing = run("compare", new, old)
    assert narrowing.returncode == 0
    assert "No new access" in narrowing.stdout


def test_unsure_is_said_plainly(tmp_path: Path) -> None:
    old = write(tmp_path / "old.json", doc(allow("s3:ListBucket")))
    new = write(
        tmp_path / "new.json", doc(allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"))
    )
    result = run("compare", old, new, "--json")
    assert result.returncode == 0
    answer = json.loads(result.stdout)
    assert answer["result"] == "expands"
    assert answer["reason"].startswith("unsure: ")
    human = run("compare", old, new)
    assert "Possibly expands" in human.stdout


def test_invalid_policies_exit_2_with_the_position(tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", doc(allow("s3:*")))
    broken_json = write(tmp_path / "broken.json", '{"Statement": [\n  {"Effect": "Allow",}\n]}')
    result = run("compare", good, broken_json)
    assert result.returncode == 2
    assert f"{broken_json}:2:22:" in result.stderr
    assert "Traceback" not in result.stderr

    no_resource = write(
        tmp_path / "no-resource.json",
        doc(allow("s3:*"), {"Effect": "Allow", "Action": "s3:GetObject"}),
    )
    result = run("compare", no_resource, good, "--json")
    assert result.returncode == 2
    assert "Statement[1]" in result.stderr and "Resource" in result.stderr
    assert result.stdout == ""

    missing = run("compare", good, str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert "no such file" in missing.stderr


def test_help_is_registered_under_aws() -> None:
    result = subprocess.run(
        [FLIGHTDECK, "aws", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "policy" in result.stdout
    help_text = run("compare", "--help").stdout
    assert "OLD.json" in help_text and "NEW.json" in help_text and "--json" in help_text
