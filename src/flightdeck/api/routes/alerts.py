"""Alert rules, channels, tests and deliveries (services/alerts, docs/alerts.md)."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from flightdeck.api.deps import CurrentUser, SessionDep, SettingsDep
from flightdeck.api.errors import error_responses
from flightdeck.api.schemas import (
    AlertChannelCreatedOut,
    AlertChannelIn,
    AlertChannelOut,
    AlertDeliveryOut,
    AlertRuleIn,
    AlertRuleOut,
)
from flightdeck.db.models import AlertChannel, AlertRule, Notification
from flightdeck.services.alerts import channels, delivery, rules, samples
from flightdeck.services.alerts.kinds import ChannelInput, RuleInput

router = APIRouter(
    prefix="/organizations/{organization_id}",
    tags=["alerts"],
    responses=error_responses(401, 403, 404, 422),
)


def rule_out(session: Session, rule: AlertRule) -> AlertRuleOut:
    names = [
        channel.name
        for channel_id in rule.channel_ids
        if (channel := session.get(AlertChannel, channel_id)) is not None
    ]
    return AlertRuleOut(
        id=rule.id,
        name=rule.name,
        kind=rule.kind,
        scope=rules.scope_of(rule),
        workspace_id=rule.workspace_id,
        deployment_id=rule.deployment_id,
        dag_glob=rule.dag_glob,
        minutes=rule.minutes,
        deadline=rule.deadline,
        timezone=rule.timezone,
        channels=names,
        created_at=rule.created_at,
    )


def deliveries_out(rows: list[Notification]) -> list[AlertDeliveryOut]:
    return [AlertDeliveryOut.model_validate(row) for row in rows]


@router.get("/alert-channels", response_model=list[AlertChannelOut])
def list_channels(
    organization_id: str, user: CurrentUser, session: SessionDep
) -> list[AlertChannelOut]:
    return [
        AlertChannelOut.model_validate(c)
        for c in channels.list_channels(session, user, organization_id)
    ]


@router.post(
    "/alert-channels",
    responses=error_responses(409),
    status_code=status.HTTP_201_CREATED,
    response_model=AlertChannelCreatedOut,
)
def create_channel(
    organization_id: str,
    body: AlertChannelIn,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> AlertChannelCreatedOut:
    """A webhook's signing secret is in this answer and nowhere else, ever."""
    created = channels.create_channel(
        session, user, organization_id, ChannelInput(**body.model_dump()), settings
    )
    out = AlertChannelOut.model_validate(created.channel)
    return AlertChannelCreatedOut(**out.model_dump(), signing_secret=created.signing_secret)


@router.delete(
    "/alert-channels/{channel}",
    responses=error_responses(409),
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_channel(
    organization_id: str, channel: str, user: CurrentUser, session: SessionDep
) -> None:
    channels.delete_channel(session, user, organization_id, channel)


@router.post(
    "/alert-channels/{channel}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=list[AlertDeliveryOut],
)
def test_channel(
    organization_id: str, channel: str, user: CurrentUser, session: SessionDep
) -> list[AlertDeliveryOut]:
    """Queue a sample alert to the channel; its delivery's status follows in deliveries."""
    return deliveries_out(samples.send_channel_sample(session, user, organization_id, channel))


@router.get("/alert-rules", response_model=list[AlertRuleOut])
def list_rules(organization_id: str, user: CurrentUser, session: SessionDep) -> list[AlertRuleOut]:
    return [rule_out(session, r) for r in rules.list_rules(session, user, organization_id)]


@router.post(
    "/alert-rules",
    responses=error_responses(409),
    status_code=status.HTTP_201_CREATED,
    response_model=AlertRuleOut,
)
def create_rule(
    organization_id: str, body: AlertRuleIn, user: CurrentUser, session: SessionDep
) -> AlertRuleOut:
    rule = rules.create_rule(session, user, organization_id, RuleInput(**body.model_dump()))
    return rule_out(session, rule)


@router.get("/alert-rules/{rule}", response_model=AlertRuleOut)
def show_rule(
    organization_id: str, rule: str, user: CurrentUser, session: SessionDep
) -> AlertRuleOut:
    return rule_out(session, rules.get_rule(session, user, organization_id, rule))


@router.delete("/alert-rules/{rule}", status_code=status.HTTP_204_NO_CONTENT)
def delete_rule(organization_id: str, rule: str, user: CurrentUser, session: SessionDep) -> None:
    rules.delete_rule(session, user, organization_id, rule)


@router.post(
    "/alert-rules/{rule}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=list[AlertDeliveryOut],
)
def test_rule(
    organization_id: str, rule: str, user: CurrentUser, session: SessionDep
) -> list[AlertDeliveryOut]:
    """Queue a sample alert through each of the rule's channels."""
    return deliveries_out(samples.send_rule_sample(session, user, organization_id, rule))


@router.get("/alert-deliveries", response_model=list[AlertDeliveryOut])
def list_deliveries(
    organization_id: str, user: CurrentUser, session: SessionDep
) -> list[AlertDeliveryOut]:
    """Every alert delivery's status, newest first (Organization Owners)."""
    return deliveries_out(delivery.list_deliveries(session, user, organization_id))
