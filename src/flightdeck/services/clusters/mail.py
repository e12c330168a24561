"""The mail Organization Owners get about a cluster."""

from __future__ import annotations

from flightdeck.db.models import Cluster


def outcome_mail(cluster: Cluster, phase: str, error: str | None) -> tuple[str, str]:
    """Subject and body when a cluster became Active or Failed."""
    if phase == "Active":
        subject = f"flightdeck: cluster {cluster.name} is Active"
        body = (
            f"Your cluster {cluster.name} ({cluster.id}) in {cluster.region} is Active.\n"
            "You can now create Deployments on it.\n"
        )
    else:
        subject = f"flightdeck: cluster {cluster.name} failed"
        body = (
            f"Provisioning cluster {cluster.name} ({cluster.id}) in {cluster.region} "
            f"failed:\n\n{error}\n\nSee `flightdeck cluster get {cluster.name}`.\n"
        )
    return subject, body
