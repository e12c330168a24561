"""Request dependencies: the database session, the settings, the AWS session factory and
the signed-in user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from flightdeck.aws.session import SessionFactory
from flightdeck.config import Settings
from flightdeck.db.models import User
from flightdeck.services import auth
from flightdeck.services.errors import Unauthenticated


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.session_factory() as session:
        yield session


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_aws(request: Request) -> SessionFactory:
    """The factory built at start-up (see ``create_app``)."""
    sessions: SessionFactory = request.app.state.aws
    return sessions


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
AwsDep = Annotated[SessionFactory, Depends(get_aws)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def get_current_user(request: Request, session: SessionDep, settings: SettingsDep) -> User:
    token = bearer_token(request)
    if token is not None:
        user = auth.user_for_api_token(session, token)
        if user is None:
            raise Unauthenticated(
                "the API token is invalid, expired or revoked; "
                "create a new one with `flightdeck token create`"
            )
        return user
    cookie = request.cookies.get(settings.session_cookie_name)
    if cookie:
        user = auth.user_for_session(session, cookie, settings.session_idle_seconds)
        if user is not None:
            return user
    raise Unauthenticated("sign in first (`flightdeck login`), or send a bearer API token")


CurrentUser = Annotated[User, Depends(get_current_user)]
