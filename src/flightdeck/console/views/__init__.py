"""The console's pages, one module per area of the product."""

from __future__ import annotations

from fastapi import APIRouter

from flightdeck.console.views import (
    alerts,
    aws,
    clusters,
    deployment_airflow,
    deployments,
    governance,
    invitations,
    organization,
    peerings,
    people,
    sign_in,
    sso_settings,
    tokens,
)

ROUTERS: tuple[APIRouter, ...] = (
    sign_in.router,
    tokens.router,
    invitations.router,
    organization.router,
    sso_settings.router,
    aws.router,
    clusters.router,
    peerings.router,
    deployments.router,
    deployment_airflow.router,
    people.router,
    governance.router,
    alerts.router,
)
