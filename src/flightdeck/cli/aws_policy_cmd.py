"""``flightdeck aws policy``: govern the cross-account role's policy.

A new version of the role's policy reaches customers at once only when it grants nothing
new; anything more waits 14 days after every Owner got the notice. ``compare`` answers that
question offline for any two identity policies, exactly, and names a request that is
newly allowed. Exit codes are for scripts: 0 whatever the answer, 2 when a file is not a
valid policy (the message gives the file and the statement or JSON line:column).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from flightdeck.policy.compare import Comparison
    from flightdeck.policy.document import PolicyDocument

app = typer.Typer(no_args_is_help=True, help="Govern the cross-account role's policy.")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="policy")


EXIT_OK = 0
EXIT_INVALID_INPUT = 2

def read_policy_file(file: str) -> PolicyDocument:
    """Read and parse one policy file; every failure is a CliError naming the file and where."""
    from flightdeck.cli.errors import CliError
    from flightdeck.policy.compare import parse_identity_policy
    from flightdeck.policy.document import InvalidPolicyError

    text = _read_text(file)
    try:
        return parse_identity_policy(text)
    except InvalidPolicyError as exc:
        where = f"{file}:{exc.line}:{exc.column}" if exc.line is not None else file
        raise CliError(f"{where}: not a valid IAM policy: {exc}", EXIT_INVALID_INPUT) from None


def _read_text(file: str) -> str:
    from flightdeck.cli.errors import CliError

    if file == "-":
        try:
            return sys.stdin.read()
        except UnicodeDecodeError:
            raise CliError("stdin is not UTF-8 text", EXIT_INVALID_INPUT) from None
    try:
        return Path(file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"{file}: no such file", EXIT_INVALID_INPUT) from None
    except IsADirectoryError:
        raise CliError(f"{file} is a directory, not a policy file", EXIT_INVALID_INPUT) from None
    except UnicodeDecodeError:
        raise CliError(f"{file} is not UTF-8 text", EXIT_INVALID_INPUT) from None
    except OSError as exc:
        raise CliError(f"{file}: {exc.strerror}", EXIT_INVALID_INPUT) from None


@app.command("compare")
def compare(
    old: Annotated[str, typer.Argument(
        metavar="OLD.json",
        help="The policy in force: an IAM identity policy file (or `aws iam "
        "get-policy-version` output); - reads stdin.",
    )],
    new: Annotated[str, typer.Argument(
        metavar="NEW.json", help="The proposed version, in the same forms."
    )],
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print {"result", "example", "statement", "reason"} only; "statement" is '
            "a 0-based index into NEW's statements.",
        ),
    ] = False,
) -> None:
    """Decide exactly whether NEW allows any request OLD does not, and show one if so.

    The answer is "expands" (with a request NEW allows and OLD denies, and the NEW
    statement that allows it) or "no-new-access" (proved: NEW allows nothing OLD denies).
    Constructs that are not modelled exactly give "expands" with a reason starting
    "unsure:", never a wrong "no-new-access". Exit 0 on either answer, 2 on an invalid
    policy.
    """
    from flightdeck.cli.errors import CliError
    from flightdeck.policy.compare import compare as compare_policies

    if old == "-" and new == "-":
        raise CliError("only one of OLD and NEW can be read from stdin", EXIT_INVALID_INPUT)
    old_document = read_policy_file(old)
    new_document = read_policy_file(new)
    comparison = compare_policies(old_document, new_document)
    if json_output:
        import json

        typer.echo(json.dumps(comparison.as_dict(), indent=2))
    else:
        _print_comparison(comparison, new_document, new)
    raise typer.Exit(EXIT_OK)


def _print_comparison(comparison: Comparison, new: PolicyDocument, new_file: str) -> None:
    import json

    from rich.console import Console
    from rich.text import Text

    from flightdeck.policy.compare import describe

    console = Console(highlight=False, soft_wrap=True)
    if comparison.result == "no-new-access":
        console.print(
            Text.assemble(("No new access", "bold green"), f": {new_file} grants nothing more.")
        )
        console.print(comparison.reason)
        return
    if comparison.reason.startswith("unsure:"):
        headline = Text.assemble(
            ("Possibly expands", "bold yellow"),
            f": {new_file} could not be proved to grant nothing more; treat it as granting more.",
        )
    else:
        headline = Text.assemble(("Expands", "bold red"), f": {new_file} grants more.")
    console.print(headline)
    example = comparison.example
    if example is not None:
        console.print("A request it allows that the old version denies:")
        console.print(f"  action    {example.action}")
        console.print(f"  resource  {example.resource}")
        if example.context:
            for key, value in example.context.items():
                console.print(f"  context   {key} = {json.dumps(value)}")
            console.print("            (other condition keys absent)")
        else:
            console.print("  context   no condition keys")
    if comparison.statement is not None:
        statement = new.statements[comparison.statement]
        console.print(f"Allowed by {describe(statement)} of {new_file} (counting from 0).")
    console.print(Text("Why: ", style="cyan") + Text(comparison.reason))


# `changes` reads the control plane, unlike `compare`; it lives in its own module.
from flightdeck.cli import aws_policy_changes_cmd  # noqa: E402

aws_policy_changes_cmd.register(app)
