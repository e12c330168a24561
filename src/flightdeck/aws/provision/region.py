"""Step 0: the region must be enabled for the account before any regional call works.

Regions launched after March 2019 are opt-in. For the others no call is made at all. For
an opt-in region the Account API says whether it is enabled; a disabled region is enabled
when the customer role allows ``account:EnableRegion``, otherwise the cluster fails with
the exact steps a human takes to enable it.
"""

from __future__ import annotations

from flightdeck.aws.error_codes import error_code
from flightdeck.aws.provision.context import PlannedChange, Ready, StepContext, StepResult, Waiting
from flightdeck.aws.provision.errors import PermanentError, classify
from flightdeck.aws.provision.step import Step
from flightdeck.aws.reference import is_opt_in

ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


def enable_region_remedy(region: str) -> str:
    return (
        f"enable the region {region} for this account, then retry the cluster: "
        f"(1) AWS console → account menu → Account → AWS Regions → {region} → Enable, or "
        f"`aws account enable-region --region-name {region}` with credentials allowed "
        "account:EnableRegion; (2) wait until its status is Enabled (minutes to hours: "
        f"`aws account get-region-opt-status --region-name {region}`); or (3) allow "
        "account:EnableRegion in the role (`flightdeck aws role create` again) and "
        "flightdeck enables it"
    )


class RegionStep(Step):
    """Checks (and when allowed, enables) an opt-in region; nothing to create or delete."""

    name = "region"

    def _status(self, ctx: StepContext) -> str:
        if not is_opt_in(ctx.spec.region):
            return "ENABLED_BY_DEFAULT"
        try:
            response = ctx.client("account").get_region_opt_status(RegionName=ctx.spec.region)
        except Exception as exc:
            if error_code(exc) in ACCESS_DENIED:
                raise PermanentError(
                    f"cannot read whether {ctx.spec.region} is enabled: {exc}",
                    remedy="allow account:GetRegionOptStatus (`flightdeck aws role create` "
                    f"again), or {enable_region_remedy(ctx.spec.region)}",
                    aws_code=error_code(exc),
                ) from exc
            raise
        return str(response["RegionOptStatus"])

    def ensure(self, ctx: StepContext) -> StepResult:
        status = self._status(ctx)
        ctx.condition()["aws_id"] = ctx.spec.region
        if status in ("ENABLED", "ENABLED_BY_DEFAULT"):
            return Ready()
        if status == "ENABLING":
            ctx.note("waiting", "region", f"{ctx.spec.region} is being enabled")
            return Waiting(f"region {ctx.spec.region} ENABLING", after=120)
        if status == "DISABLING":
            raise PermanentError(
                f"region {ctx.spec.region} is being disabled in this account",
                remedy=enable_region_remedy(ctx.spec.region),
                aws_code="OptInRequired",
            )
        try:
            ctx.client("account").enable_region(RegionName=ctx.spec.region)
        except Exception as exc:
            if error_code(exc) in ACCESS_DENIED:
                raise PermanentError(
                    f"region {ctx.spec.region} is disabled and the role may not enable it",
                    remedy=enable_region_remedy(ctx.spec.region),
                    aws_code="OptInRequired",
                ) from exc
            raise classify(exc) from exc
        ctx.note("updated", "region", f"enabling {ctx.spec.region}")
        return Waiting(f"region {ctx.spec.region} ENABLING", after=120)

    def delete(self, ctx: StepContext) -> StepResult:
        return Ready()  # a region is never disabled on the customer's behalf

    def plan(self, ctx: StepContext) -> list[PlannedChange]:
        status = self._status(ctx)
        if status in ("DISABLED", "DISABLING"):
            return [PlannedChange(self.name, "update", "region", f"enable {ctx.spec.region}")]
        return []

    def plan_delete(self, ctx: StepContext) -> list[PlannedChange]:
        return []
