"""``flightdeck aws monitor``: CloudTrail + CloudWatch monitoring of the flightdeck role.

Runs on the customer's machine with their own credentials (``--profile`` or boto3's default
chain), which never leave it: the control plane's role deliberately cannot create trails.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flightdeck.cli.errors import CliError
from flightdeck.cli.options import JSON, aws_region

if TYPE_CHECKING:
    from flightdeck.aws.monitoring import MonitorReport, MonitorSpec

app = typer.Typer(
    no_args_is_help=True,
    help="Set up CloudTrail + CloudWatch monitoring of the flightdeck role in your account, "
    "with your own credentials.",
)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="monitor")


PROFILE = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="AWS profile with administrator rights in your account (default: boto3's "
        "credential chain, e.g. AWS_PROFILE).",
    ),
]


def _email(value: str) -> str:
    from flightdeck.aws.monitoring import MonitoringError, normalise_email

    try:
        return normalise_email(value)
    except MonitoringError as exc:
        raise typer.BadParameter(exc.message.removeprefix("--email: ")) from None


REGION = Annotated[
    str | None,
    typer.Option(
        "--region",
        callback=aws_region,
        help="The trail's home region (default: where the trail already is, else the "
        "profile's region).",
    ),
]


@app.command("setup")
def setup(
    email: Annotated[
        str,
        typer.Option(
            "--email",
            callback=_email,
            help="Address that receives the alarm (confirm the e-mail AWS sends).",
        ),
    ],
    profile: PROFILE = None,
    region: REGION = None,
    json_output: JSON = False,
) -> None:
    """Create or repair the trail, log group, metric filter, alarm and e-mail topic; safe to
    run again (a second run changes nothing)."""
    from flightdeck.aws import monitoring

    spec = _spec(email)
    with _aws_errors(profile):
        report = monitoring.setup(_session(profile, region), spec, region=region)
    if json_output:
        from flightdeck.cli.output import print_json

        print_json(report.as_dict())
        return
    _print_setup(report)


@app.command("show")
def show(profile: PROFILE = None, region: REGION = None, json_output: JSON = False) -> None:
    """Show each monitoring resource: present, missing or drifted, with its ARN."""
    from flightdeck.aws import monitoring

    with _aws_errors(profile):
        report = monitoring.show(_session(profile, region), _spec(None), region=region)
    if json_output:
        from flightdeck.cli.output import print_json

        print_json(report.as_dict())
        return
    _print_show(report)


def _spec(email: str | None) -> MonitorSpec:
    from flightdeck.aws.monitoring import MonitorSpec
    from flightdeck.aws.permissions import MANAGED_POLICY_NAME, ROLE_NAME
    from flightdeck.filterpattern.cloudtrail import role_change_pattern

    return MonitorSpec(
        filter_pattern=role_change_pattern(ROLE_NAME, MANAGED_POLICY_NAME), email=email
    )


def _session(profile: str | None, region: str | None) -> Any:
    from flightdeck.aws.session import customer_session

    return customer_session(profile, region)


@contextmanager
def _aws_errors(profile: str | None) -> Iterator[None]:
    """Credential and connection problems as one line saying what to do."""
    from flightdeck.aws.monitoring import MonitoringError
    from flightdeck.cli.customer_aws import customer_credential_errors

    with customer_credential_errors(profile):
        try:
            yield
        except MonitoringError as exc:
            raise CliError(exc.message, exit_code=2 if exc.field else 1) from None


_LABELS = {
    "bucket": "S3 bucket",
    "log_group": "Log group",
    "delivery_role": "Delivery role",
    "trail": "CloudTrail trail",
    "metric_filter": "Metric filter",
    "topic": "SNS topic",
    "subscription": "E-mail subscription",
    "alarm": "CloudWatch alarm",
}


def _notes(resource: Any) -> str:
    detail = resource.detail
    if resource.resource == "subscription":
        if "status" in detail:
            return f"{detail['email']}: {detail['status']}"
        subscriptions = detail.get("subscriptions", [])
        return "; ".join(f"{s['endpoint']}: {s['status']}" for s in subscriptions)
    if resource.resource == "trail" and "logging" in detail:
        return "logging" if detail["logging"] else "logging stopped"
    if resource.resource == "metric_filter" and detail.get("metric"):
        return f"counts into {detail['metric']}"
    if resource.resource == "alarm" and detail.get("alarm_state"):
        return f"state {detail['alarm_state']}"
    return ""


def _print_setup(report: MonitorReport) -> None:
    from rich.console import Console

    from flightdeck.cli.output import print_table

    rows = [
        {
            "resource": _LABELS.get(r.resource, r.resource),
            "name": r.name,
            "action": r.action,
            "notes": "; ".join(r.changes) or _notes(r),
        }
        for r in report.resources
    ]
    print_table(
        rows,
        [("resource", "Resource"), ("name", "Name"), ("action", "Action"), ("notes", "Notes")],
        title=f"Role monitoring in account {report.account_id}, home region {report.region}",
    )
    console = Console(highlight=False, soft_wrap=True)
    if not report.changed:
        console.print("Everything was already in place; nothing changed.")
    subscription = report.resource("subscription")
    if subscription.detail.get("status") == "pending confirmation":
        console.print(
            f"Confirm the subscription: open the e-mail AWS sent to {subscription.detail['email']}"
            " and click its link, or no alarm will reach you."
        )
    for r in report.resources:
        for left in r.detail.get("still_different", []):
            console.print(f"[yellow]![/yellow] {_LABELS[r.resource]} still differs: {left}")


def _print_show(report: MonitorReport) -> None:
    from rich.console import Console

    from flightdeck.cli.output import print_table

    rows = [
        {
            "resource": _LABELS.get(r.resource, r.resource),
            "state": r.state,
            "id": r.arn or r.name,
            "notes": "; ".join(n for n in [*r.differences, _notes(r)] if n),
        }
        for r in report.resources
    ]
    print_table(
        rows,
        [
            ("resource", "Resource"),
            ("state", "State"),
            ("id", "ARN (or name)"),
            ("notes", "Notes"),
        ],
        title=f"Role monitoring in account {report.account_id}, home region {report.region}",
    )
    if not report.complete:
        Console(highlight=False, soft_wrap=True).print(
            "Run `flightdeck aws monitor setup --email <address>` to create what is missing "
            "and fix what drifted."
        )
