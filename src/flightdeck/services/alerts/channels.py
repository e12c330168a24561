"""An organization's alert channels. Organization Owners manage them (they decide where the
organization's alerts may go); members see them without their secrets.

A webhook's signing secret is made here, returned once in the answer to its creation and
stored sealed; the Slack URL and the PagerDuty routing key are sealed the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flightdeck.config import Settings
from flightdeck.db.models import AlertChannel, AlertRule, User
from flightdeck.notify.webhook import address_problem, url_problem
from flightdeck.services import audit, lookup
from flightdeck.services.access import require_member, require_owner
from flightdeck.services.alerts.kinds import DEFAULT_PAGERDUTY_URL, ChannelInput, ChannelKind
from flightdeck.services.errors import Conflict, InvalidInput
from flightdeck.services.secrets import new_token, seal
from flightdeck.services.validation import check_name, normalise_email

LIST_COMMAND = "flightdeck alert channel list"


@dataclass(frozen=True)
class CreatedChannel:
    channel: AlertChannel
    signing_secret: str | None  # a webhook's, shown this once


def check_url(url: str, settings: Settings, field: str) -> str:
    url = url.strip()
    problem = url_problem(url) or address_problem(url, settings.alert_private_targets_allowed)
    if problem:
        raise InvalidInput(f"{field}: {problem}", field=field)
    return url


def _kind(kind: str) -> ChannelKind:
    try:
        return ChannelKind(kind)
    except ValueError:
        raise InvalidInput(
            f"kind: {kind!r} is not a channel kind; use one of "
            f"{', '.join(k.value for k in ChannelKind)}",
            field="kind",
        ) from None


def create_channel(
    session: Session, user: User, organization_id: str, given: ChannelInput, settings: Settings
) -> CreatedChannel:
    require_owner(session, user, organization_id)
    name = check_name(given.name, "name")
    kind = _kind(given.kind)
    secret: str | None = None
    shown_secret: str | None = None
    if kind is ChannelKind.EMAIL:
        target = normalise_email(given.target, "target")
    elif kind is ChannelKind.WEBHOOK:
        target = check_url(given.target, settings, "target")
        secret = shown_secret = new_token("whsec_")
    elif kind is ChannelKind.SLACK:
        url = check_url(given.target, settings, "target")
        parts = urlsplit(url)
        target, secret = f"{parts.scheme}://{parts.netloc}/…", url  # the path is the secret
    else:
        target = check_url(given.target or DEFAULT_PAGERDUTY_URL, settings, "target")
        secret = (given.routing_key or "").strip()
        if not 20 <= len(secret) <= 64 or not secret.isalnum():
            raise InvalidInput(
                "routing_key: give the 32-character integration key of a PagerDuty "
                "Events API v2 integration (--routing-key)",
                field="routing_key",
            )
    channel = AlertChannel(
        organization_id=organization_id,
        name=name,
        kind=kind,
        target=target,
        secret_sealed=seal(secret, settings.secret_key) if secret else None,
        created_by=user.id,
    )
    session.add(channel)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"name: a channel {name!r} already exists; pick another name") from None
    audit.record(
        session,
        action="alert_channel.create",
        actor=user,
        organization_id=organization_id,
        target=channel.id,
        detail={"name": name, "kind": str(kind), "target": target},
    )
    session.commit()
    return CreatedChannel(channel, shown_secret)


def list_channels(session: Session, user: User, organization_id: str) -> list[AlertChannel]:
    require_member(session, user, organization_id)
    return list(
        session.scalars(
            select(AlertChannel)
            .where(AlertChannel.organization_id == organization_id)
            .order_by(AlertChannel.name)
        )
    )


def get_channel(session: Session, user: User, organization_id: str, ref: str) -> AlertChannel:
    require_member(session, user, organization_id)
    return find_channel(session, organization_id, ref)


def find_channel(session: Session, organization_id: str, ref: str) -> AlertChannel:
    return lookup.by_id_or_name(
        session, AlertChannel, organization_id, ref, kind="channel", list_command=LIST_COMMAND
    )


def delete_channel(session: Session, user: User, organization_id: str, ref: str) -> None:
    """Refused while a rule sends to it: a rule must not go silent without its author
    deciding so."""
    require_owner(session, user, organization_id)
    channel = find_channel(session, organization_id, ref)
    users = sorted(
        rule.name
        for rule in session.scalars(
            select(AlertRule).where(AlertRule.organization_id == organization_id)
        )
        if channel.id in rule.channel_ids
    )
    if users:
        raise Conflict(
            f"channel {channel.name!r} is used by the rules {', '.join(users)}; delete them "
            "first with `flightdeck alert delete`"
        )
    audit.record(
        session,
        action="alert_channel.delete",
        actor=user,
        organization_id=organization_id,
        target=channel.id,
        detail={"name": channel.name},
    )
    session.delete(channel)
    session.commit()
