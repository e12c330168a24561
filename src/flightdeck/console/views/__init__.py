"""The console's pages, one module per area of the product."""

from __future__ import annotations

from fastapi import APIRouter

from flightdeck.console.views import (
    aws,
    clusters,
    deployment_airflow,
    deployments,
    governance,
    invitations,
    organization,
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
    deployments.router,
    deployment_airflow.router,
    people.router,
    governance.router,
)
