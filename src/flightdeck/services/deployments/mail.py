"""The mail Organization Owners get about a Deployment."""

from __future__ import annotations

from flightdeck.db.models import Deployment


def health_mail(deployment: Deployment, message: str | None) -> tuple[str, str]:
    """Subject and body when a running Deployment turned Unhealthy, or Healthy again."""
    if deployment.phase == "Unhealthy":
        subject = f"flightdeck: Deployment {deployment.name} is Unhealthy"
        body = (
            f"Deployment {deployment.name} ({deployment.id}) is Unhealthy:\n\n"
            f"{message}\n\n"
            f"See `flightdeck deployment get {deployment.name}`.\n"
        )
    else:
        subject = f"flightdeck: Deployment {deployment.name} is Healthy again"
        body = f"Deployment {deployment.name} ({deployment.id}) is Healthy again.\n"
    return subject, body
