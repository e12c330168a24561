"""``flightdeck aws trust-policy``: let a security reviewer check a role trust policy offline.

The reviewer needs no flightdeck account and no AWS credentials: they paste the role's
trust policy (or ``aws iam get-role`` output) into a file and get the same verdict the
control plane uses. Exit codes are for scripts: 0 ok, 1 problems found, 2 the input
could not be checked.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flightdeck.cli.options import account_id

if TYPE_CHECKING:
    from flightdeck.policy.trust import TrustPolicyReport

app = typer.Typer(
    no_args_is_help=True,
    help="Check that a role trust policy lets in only the platform, with the external ID.",
)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="trust-policy")


EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_INVALID_INPUT = 2


def _read_policy(file: str) -> str:
    from flightdeck.cli.errors import CliError

    if file == "-":
        try:
            return sys.stdin.read()
        except UnicodeDecodeError:
            raise CliError("stdin is not UTF-8 text", EXIT_INVALID_INPUT) from None
    path = Path(file)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"{file}: no such file", exit_code=EXIT_INVALID_INPUT) from None
    except IsADirectoryError:
        raise CliError(f"{file} is a directory, not a policy file", EXIT_INVALID_INPUT) from None
    except UnicodeDecodeError:
        raise CliError(f"{file} is not UTF-8 text", exit_code=EXIT_INVALID_INPUT) from None
    except OSError as exc:
        raise CliError(f"{file}: {exc.strerror}", exit_code=EXIT_INVALID_INPUT) from None


@app.command("check")
def check(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="The trust policy JSON, or `aws iam get-role` output; - reads stdin.",
        ),
    ],
    platform_account: Annotated[
        str,
        typer.Option(
            "--platform-account",
            envvar="FLIGHTDECK_PLATFORM_ACCOUNT_ID",
            callback=account_id,
            help="The platform's AWS account ID (12 digits), the only one to be trusted.",
        ),
    ],
    external_id: Annotated[
        str,
        typer.Option(
            "--external-id",
            envvar="FLIGHTDECK_EXTERNAL_ID",
            show_envvar=True,
            help="The organization's external ID; prefer the environment variable so it "
            "stays out of shell history.",
        ),
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help='Print {"ok": ..., "problems": [...]} only.')
    ] = False,
) -> None:
    """Check FILE; exit 0 when only the platform can assume the role, 1 on problems, 2 when
    FILE is not a valid trust policy."""
    from flightdeck.cli.errors import CliError
    from flightdeck.policy.trust import InvalidPolicyError, check_trust_policy

    if not external_id.strip():
        raise typer.BadParameter("must not be empty", param_hint="'--external-id'")
    text = _read_policy(file)
    try:
        report = check_trust_policy(text, platform_account, external_id.strip())
    except InvalidPolicyError as exc:
        raise CliError(f"{file} is not a valid trust policy: {exc}", EXIT_INVALID_INPUT) from None

    if json_output:
        import json

        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_report(report, platform_account)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_PROBLEMS)


def _print_report(report: TrustPolicyReport, platform_account: str) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    problems = report.problems
    if not problems:
        console.print(
            Text.assemble(
                ("OK", "bold green"),
                f": only AWS account {platform_account} can assume the role, and only with "
                "the organization's external ID.",
            )
        )
        return
    noun = "problem" if len(problems) == 1 else "problems"
    console.print(Text(f"{len(problems)} {noun} found:", style="bold red"))
    for problem in problems:
        console.print(Text.assemble("\n", (f"[{problem.code}]", "bold"), " ", problem.message))
        console.print(Text.assemble(("  Fix: ", "cyan"), problem.fix))
