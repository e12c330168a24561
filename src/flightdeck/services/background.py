"""Background loops a control-plane process runs: the cluster, Deployment and governance
workers (built in ``services/workers.py``), and delivery of mail and of alerts."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from flightdeck.aws.session import SessionFactory
from flightdeck.config import Settings
from flightdeck.services import notifications
from flightdeck.services.alerts import delivery
from flightdeck.services.workers import build_workers

log = logging.getLogger(__name__)


def deliver_mail_forever(
    session_factory: sessionmaker[Session],
    settings: Settings,
    stop: threading.Event,
    interval: float = 10.0,
) -> None:
    """Without SMTP configured (the embedded default) mail stays in the outbox."""
    if not settings.smtp_host:
        return
    from flightdeck.notify.mail import SmtpSender

    sender = SmtpSender(settings)
    while not stop.is_set():
        try:
            with session_factory() as session:
                notifications.deliver_due(session, sender)
        except Exception:
            log.exception("mail delivery pass failed; retrying")
        stop.wait(interval)


def deliver_alerts_forever(
    session_factory: sessionmaker[Session],
    settings: Settings,
    stop: threading.Event,
    interval: float = 2.0,
) -> None:
    """Alert channels' HTTP deliveries (webhook, Slack, PagerDuty): SMTP or not."""
    from flightdeck.notify.webhook import HttpxPoster

    poster = HttpxPoster(allow_private=settings.alert_private_targets_allowed)
    while not stop.is_set():
        try:
            with session_factory() as session:
                delivery.deliver_due(session, poster, settings.secret_key)
        except Exception:
            log.exception("alert delivery pass failed; retrying")
        stop.wait(interval)


class BackgroundWorkers:
    """Starts the loops in daemon threads; ``stop()`` lets them finish their current pass."""

    def __init__(
        self, session_factory: sessionmaker[Session], settings: Settings, sessions: SessionFactory
    ) -> None:
        self.stop_event = threading.Event()
        self.workers = build_workers(session_factory, settings, sessions)
        self.threads = [
            threading.Thread(
                target=worker.run_forever,
                args=(self.stop_event,),
                name=f"flightdeck-{name}",
                daemon=True,
            )
            for name, worker in self.workers.by_name().items()
        ]
        for name, loop in (("mail", deliver_mail_forever), ("alerts", deliver_alerts_forever)):
            self.threads.append(
                threading.Thread(
                    target=loop,
                    args=(session_factory, settings, self.stop_event),
                    name=f"flightdeck-{name}-delivery",
                    daemon=True,
                )
            )

    def start(self) -> BackgroundWorkers:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout)
