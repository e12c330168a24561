"""Alerts: the organization's rules and channels, forms to add them, a test button, and the
latest deliveries with their status (the same use cases as `flightdeck alert`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from flightdeck.console import data
from flightdeck.console.pages import FORM_REFUSALS, FormDep, OrgDep, OrgPage, field, refusal

router = APIRouter(prefix="/o/{organization_id}/alerts")


def _page(page: OrgPage, *, status: int = 200, **extra: Any) -> Response:
    session, user, org = page.session, page.user, page.org_id
    channels = data.alert_channels.list_channels(session, user, org)
    names = {c.id: c.name for c in channels}
    rules = [
        (rule, data.alert_rules.scope_of(rule), [names.get(i, "?") for i in rule.channel_ids])
        for rule in data.alert_rules.list_rules(session, user, org)
    ]
    deliveries = (
        data.alert_deliveries.list_deliveries(session, user, org, limit=20)
        if page.ctx.is_owner
        else []
    )
    return page.render(
        "alerts.html",
        status=status,
        section="alerts",
        title="Alerts",
        rules=rules,
        channels=channels,
        deliveries=deliveries,
        kinds=data.KIND_DESCRIPTIONS,
        channel_kinds=[k.value for k in data.ChannelKind],
        **extra,
    )


@router.get("")
def alerts(page: OrgDep) -> Response:
    return _page(page)


@router.post("/rules")
def create_rule(page: OrgDep, form: FormDep) -> Response:
    minutes = field(form, "minutes")
    given = data.RuleInput(
        name=field(form, "name"),
        kind=field(form, "kind"),
        channels=[c for c in form.getlist("channels") if isinstance(c, str)],
        workspace=field(form, "workspace") or None,
        deployment=field(form, "deployment") or None,
        dag_glob=field(form, "dag_glob") or "*",
        minutes=int(minutes) if minutes.isdigit() else (0 if minutes else None),
        deadline=field(form, "deadline") or None,
        timezone=field(form, "timezone") or None,
    )
    try:
        data.alert_rules.create_rule(page.session, page.user, page.org_id, given)
    except FORM_REFUSALS as exc:
        return _page(page, **refusal(exc), rule_values=given)
    return page.redirect("/alerts")


@router.post("/rules/{rule_id}/delete")
def delete_rule(rule_id: str, page: OrgDep, form: FormDep) -> Response:
    del form
    data.alert_rules.delete_rule(page.session, page.user, page.org_id, rule_id)
    return page.redirect("/alerts")


@router.post("/rules/{rule_id}/test")
def test_rule(rule_id: str, page: OrgDep, form: FormDep) -> Response:
    del form
    rows = data.alert_samples.send_rule_sample(page.session, page.user, page.org_id, rule_id)
    return _page(page, notice=f"a sample alert is queued to {len(rows)} channel(s)")


@router.post("/channels")
def create_channel(page: OrgDep, form: FormDep) -> Response:
    given = data.ChannelInput(
        name=field(form, "name"),
        kind=field(form, "kind"),
        target=field(form, "target"),
        routing_key=field(form, "routing_key") or None,
    )
    try:
        created = data.alert_channels.create_channel(
            page.session, page.user, page.org_id, given, page.request.app.state.settings
        )
    except FORM_REFUSALS as exc:
        return _page(page, **refusal(exc), channel_values=given)
    return _page(page, new_secret=created.signing_secret, new_channel=created.channel.name)


@router.post("/channels/{channel_id}/delete")
def delete_channel(channel_id: str, page: OrgDep, form: FormDep) -> Response:
    del form
    try:
        data.alert_channels.delete_channel(page.session, page.user, page.org_id, channel_id)
    except data.Conflict as exc:
        return _page(page, **refusal(exc))
    return page.redirect("/alerts")
