"""Public reference data: supported regions and instance types, and the role template."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from flightdeck.api.deps import AwsDep, SettingsDep
from flightdeck.aws import reference
from flightdeck.aws.role_template import role_template_yaml
from flightdeck.services.platform import platform_account_id

router = APIRouter(prefix="/reference", tags=["reference"])

YAML = "application/yaml"


@router.get("/aws")
def aws_reference() -> dict[str, Any]:
    """Supported regions, node and database instance types, defaults and limits."""
    return reference.as_document()


@router.get(
    "/aws/role-template.yaml", response_class=Response, responses={200: {"content": {YAML: {}}}}
)
def public_role_template(settings: SettingsDep, sessions: AwsDep) -> Response:
    """The cross-account role's CloudFormation template; the external ID is a parameter,
    so the template holds no secret and can be fetched by the CloudFormation console."""
    return Response(role_template_yaml(platform_account_id(settings, sessions)), media_type=YAML)
