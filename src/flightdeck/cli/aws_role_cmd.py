"""``flightdeck aws role create``: make the cross-account role with the customer's own credentials.

Runs on the customer's machine with boto3's default credential chain (or ``--profile``);
those credentials never leave it. The platform account and the organization's external ID
come from the options (or their environment variables) or, when the user is logged in,
from the control plane, which then also learns the new role's ARN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from flightdeck.cli.context import Invocation, invocation
from flightdeck.cli.options import JSON, ORG, aws_region, platform_account_id

app = typer.Typer(no_args_is_help=True, help="Create the cross-account role flightdeck assumes.")

METHODS = ("iam", "cloudformation")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="role")


@dataclass(frozen=True)
class ControlPlaneContext:
    """What the control plane knows for the logged-in user's organization."""

    external_id: str
    platform_account_id: str | None
    # Registers the role ARN with the organization (raises CliError when the server refuses).
    register_role: Callable[[str], None]


def _control_plane_context(cli: Invocation) -> ControlPlaneContext | None:
    """The organization's external ID, platform account and role registration, from the
    control plane.

    None when the user is not logged in, so the command works from options alone. This is
    the one place ``role create`` talks to the control plane.
    """
    from flightdeck.cli.errors import CliError

    if not cli.logged_in:
        return None
    revealed = cli.client.get(cli.org_path("/aws-external-id"))
    try:
        platform: str | None = cli.client.get(cli.org_path("/aws/role-setup"))[
            "platform_account_id"
        ]
    except (CliError, KeyError, TypeError):  # an older server: --platform-account is needed
        platform = None

    def register_role(role_arn: str) -> None:
        account_id = role_arn.split(":")[4]
        cli.client.post(
            cli.org_path("/aws/accounts"), json={"account_id": account_id, "role_arn": role_arn}
        )

    return ControlPlaneContext(
        external_id=str(revealed["external_id"]),
        platform_account_id=platform,
        register_role=register_role,
    )


def _method(value: str) -> str:
    if value not in METHODS:
        raise typer.BadParameter(f"{value!r} is not one of: {', '.join(METHODS)}")
    return value


@app.command("create")
def create(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="AWS profile with IAM rights in the customer account (default: boto3's "
            "credential chain, e.g. AWS_PROFILE).",
        ),
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            callback=_method,
            help="iam: plain IAM calls; cloudformation: the FlightdeckCrossAccountRole stack.",
        ),
    ] = "iam",
    external_id: Annotated[
        str | None,
        typer.Option(
            "--external-id",
            envvar="FLIGHTDECK_EXTERNAL_ID",
            show_envvar=True,
            help="The organization's external ID (default: from the control plane when "
            "logged in); prefer the environment variable to keep it out of shell history.",
        ),
    ] = None,
    platform_account: Annotated[
        str | None,
        typer.Option(
            "--platform-account",
            envvar="FLIGHTDECK_PLATFORM_ACCOUNT_ID",
            callback=platform_account_id,
            help="The platform's AWS account ID to trust (12 digits).",
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            callback=aws_region,
            help="Region for AWS calls and the CloudFormation stack (default: the profile's).",
        ),
    ] = None,
    org: ORG = None,
    timeout: Annotated[
        int,
        typer.Option("--timeout", min=30, help="Seconds to wait for the CloudFormation stack."),
    ] = 600,
    json_output: JSON = False,
) -> None:
    """Create or repair the role flightdeck-remote-management; safe to run again."""
    from flightdeck.cli.errors import CliError

    cli = invocation(ctx, org, json_output)
    context = _control_plane_context(cli)
    platform, external = _resolve_inputs(context, platform_account, external_id)
    result = _run_setup(profile, region, platform, external, method, timeout)

    registered = False
    registration_note = "not logged in to a control plane"
    if context is not None:
        try:
            context.register_role(result.role_arn)
            registered = True
        except CliError as exc:
            registration_note = exc.message

    if cli.json_output:
        import json

        typer.echo(json.dumps({**result.as_dict(), "registered": registered}, indent=2))
        return
    _print_result(result.as_dict(), registered, registration_note)


def _resolve_inputs(
    context: ControlPlaneContext | None, platform_account: str | None, external_id: str | None
) -> tuple[str, str]:
    from flightdeck.aws.role_template import validate_external_id
    from flightdeck.cli.errors import CliError

    if context is not None and external_id and external_id != context.external_id:
        raise CliError(
            "the --external-id you gave is not your organization's external ID; "
            "leave it out to use the one from the control plane"
        )
    external = external_id or (context.external_id if context else None)
    platform = platform_account or (context.platform_account_id if context else None)
    if not platform:
        raise CliError(
            "the platform's AWS account ID is unknown: pass --platform-account (or set "
            "FLIGHTDECK_PLATFORM_ACCOUNT_ID), or run `flightdeck login` first"
        )
    if not external:
        raise CliError(
            "the organization's external ID is unknown: set FLIGHTDECK_EXTERNAL_ID (or pass "
            "--external-id), or run `flightdeck login` first; Organization Owners see it in "
            "the organization settings"
        )
    try:
        validate_external_id(external)
    except ValueError as exc:
        raise CliError(f"--external-id: {exc}", exit_code=2) from None
    return platform, external


def _run_setup(
    profile: str | None,
    region: str | None,
    platform: str,
    external_id: str,
    method: str,
    timeout: int,
) -> Any:
    from flightdeck.aws.role_setup import RoleSetupError, ensure_cross_account_role
    from flightdeck.aws.session import customer_session
    from flightdeck.cli.customer_aws import customer_credential_errors
    from flightdeck.cli.errors import CliError

    with customer_credential_errors(profile):
        try:
            session = customer_session(profile, region)
            return ensure_cross_account_role(
                session,
                platform,
                external_id,
                method="cloudformation" if method == "cloudformation" else "iam",
                region=region,
                timeout_seconds=timeout,
            )
        except RoleSetupError as exc:
            raise CliError(exc.message) from None


def _print_result(result: dict[str, Any], registered: bool, registration_note: str) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    if result["created"]:
        state = "created"
    elif result["updated"]:
        state = "updated"
    else:
        state = "already up to date"
    console.print(
        Text.assemble(("Role ", "bold"), (result["role_arn"], "bold green"), f" ({state})")
    )
    for change in result["changes"]:
        console.print(f"  - {change}")
    if registered:
        console.print("Registered with the control plane.")
    else:
        console.print(
            f"Not registered with flightdeck ({registration_note}): give this role ARN to "
            "flightdeck when you create a cluster."
        )
