"""Sign-up is verified by mail, invitations are accepted, and neither answer tells whether
an address is registered: account pre-hijacking is impossible."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.conftest import PASSWORD, sign_up, verification_token
from flightdeck.db.models import Notification, SignUpRequest, User
from flightdeck.db.types import utcnow

COLLEAGUE = "dana@acme.example"
ATTACKER_PASSWORD = "attacker chose this password"


def _mail_to(client: TestClient, email: str) -> list[Notification]:
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        return list(session.scalars(
            select(Notification).where(Notification.recipient == email)
            .order_by(Notification.created_at)))


def _answer(response: object) -> tuple[int, set[str]]:
    """Status and the keys of the body: what an observer of the answer learns."""
    status = response.status_code  # type: ignore[attr-defined]
    return status, set(response.json())  # type: ignore[attr-defined]


def test_pre_hijack_an_attacker_who_signs_up_first_gets_nothing(client: TestClient) -> None:
    owner = sign_up(client, "owner@acme.example", org="Acme")
    org = client.get("/api/v1/organizations", headers=owner).json()[0]["id"]

    # 1. The attacker signs up with a future colleague's address before the invitation.
    squat = client.post("/api/v1/auth/signup", json={
        "email": COLLEAGUE, "password": ATTACKER_PASSWORD, "organization_name": "Squat"})
    assert squat.status_code == 202
    # No account exists: the attacker cannot sign in with the password they chose.
    login = client.post("/api/v1/auth/login",
                        json={"email": COLLEAGUE, "password": ATTACKER_PASSWORD})
    assert login.status_code == 401

    # 2. The Owner invites the colleague, even as Owner.
    invite = client.post(f"/api/v1/organizations/{org}/members",
                         json={"email": COLLEAGUE, "role": "owner"}, headers=owner)
    assert invite.status_code == 201 and invite.json()["status"] == "invited"
    members = client.get(f"/api/v1/organizations/{org}/members", headers=owner).json()
    assert [m["email"] for m in members] == ["owner@acme.example"]
    # The invitation and verification mails are personal: not in the organization's outbox.
    outbox = client.get(f"/api/v1/organizations/{org}/notifications", headers=owner).json()
    assert all(n["recipient"] != COLLEAGUE for n in outbox)

    # 3. The attacker, holding an account of their own, cannot take the invitation either.
    attacker = sign_up(client, "mallory@evil.example", org="Evil")
    assert client.get("/api/v1/me/invitations", headers=attacker).json() == []
    invitation_id = invite.json()["invitation"]["id"]
    stolen = client.post(f"/api/v1/me/invitations/{invitation_id}/accept", headers=attacker)
    assert stolen.status_code == 404
    assert client.get(f"/api/v1/organizations/{org}/aws-external-id",
                      headers=attacker).status_code == 404

    # The colleague's mailbox holds the attacker's verification link; following it does not
    # create the attacker's account: it asks for the password the attacker chose.
    squat_token = verification_token(client, COLLEAGUE)
    followed = client.post("/api/v1/auth/verify-email",
                           json={"token": squat_token, "password": PASSWORD})
    assert followed.status_code == 404

    # 4. The real colleague reads their mailbox: they sign up with the invitation and verify.
    headers = sign_up(client, COLLEAGUE, invitation_token=invite.json()["invitation_token"])
    me = client.get("/api/v1/me", headers=headers).json()
    assert [(o["id"], o["role"]) for o in me["organizations"]] == [(org, "owner")]
    # The attacker's password opens nothing, and their pending sign-up is gone.
    assert client.post("/api/v1/auth/login", json={
        "email": COLLEAGUE, "password": ATTACKER_PASSWORD}).status_code == 401
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        assert session.scalars(select(SignUpRequest)).all() == []
        assert session.scalar(select(User.email).where(User.email == COLLEAGUE)) == COLLEAGUE
    names = [o["name"] for o in me["organizations"]]
    assert "Squat" not in names


def test_an_unverified_sign_up_cannot_be_used_before_its_link(client: TestClient) -> None:
    body = {"email": COLLEAGUE, "password": PASSWORD, "organization_name": "Acme"}
    assert client.post("/api/v1/auth/signup", json=body).status_code == 202
    assert client.post("/api/v1/auth/login",
                       json={"email": COLLEAGUE, "password": PASSWORD}).status_code == 401
    wrong = client.post("/api/v1/auth/verify-email",
                        json={"token": "fdv_not-the-token", "password": PASSWORD})
    assert wrong.status_code == 404 and wrong.json()["error"]["field"] == "token"
    token = verification_token(client, COLLEAGUE)
    not_theirs = client.post("/api/v1/auth/verify-email",
                             json={"token": token, "password": "some other password"})
    assert not_theirs.status_code == 404
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        stored = session.scalars(select(SignUpRequest.token_hash)).all()
        assert token not in stored and all(len(h) == 64 for h in stored)
        session.execute(update(SignUpRequest).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    expired = client.post("/api/v1/auth/verify-email", json={"token": token, "password": PASSWORD})
    assert expired.status_code == 404 and "expired" in expired.json()["error"]["message"]


def test_sign_up_answers_the_same_whether_or_not_the_address_is_registered(
    client: TestClient,
) -> None:
    sign_up(client, "taken@acme.example", org="Acme")
    taken = client.post("/api/v1/auth/signup", json={
        "email": "taken@acme.example", "password": PASSWORD, "organization_name": "Again"})
    free = client.post("/api/v1/auth/signup", json={
        "email": "free@acme.example", "password": PASSWORD, "organization_name": "Again"})
    assert _answer(taken) == _answer(free) == (202, {"status", "email", "expires_at",
                                                     "message"})
    assert taken.json()["message"].replace("taken", "free") == free.json()["message"]
    assert "set-cookie" not in taken.headers and "set-cookie" not in free.headers
    # The difference goes by mail: the registered address is told, and no token is sent.
    notice = _mail_to(client, "taken@acme.example")[-1]
    assert "already has a flightdeck account" in notice.body and "fdv_" not in notice.body
    assert "fdv_" in _mail_to(client, "free@acme.example")[-1].body


def test_invite_answers_the_same_and_an_existing_account_accepts(client: TestClient) -> None:
    owner = sign_up(client, "owner@acme.example", org="Acme")
    org = client.get("/api/v1/organizations", headers=owner).json()[0]["id"]
    existing = sign_up(client, "erin@acme.example", org="Erin")
    to_existing = client.post(f"/api/v1/organizations/{org}/members",
                              json={"email": "erin@acme.example"}, headers=owner)
    to_new = client.post(f"/api/v1/organizations/{org}/members",
                         json={"email": "nobody@acme.example"}, headers=owner)
    assert _answer(to_existing) == _answer(to_new)
    assert to_existing.json()["status"] == to_new.json()["status"] == "invited"
    assert set(to_existing.json()["invitation"]) == set(to_new.json()["invitation"])
    # Not a member until accepted.
    emails = {m["email"] for m in
              client.get(f"/api/v1/organizations/{org}/members", headers=owner).json()}
    assert "erin@acme.example" not in emails
    assert "flightdeck user accept" in _mail_to(client, "erin@acme.example")[-1].body
    assert "--invitation-token" in _mail_to(client, "nobody@acme.example")[-1].body

    waiting = client.get("/api/v1/me/invitations", headers=existing).json()
    assert [(i["organization_id"], i["role"]) for i in waiting] == [(org, "member")]
    accepted = client.post(f"/api/v1/me/invitations/{waiting[0]['id']}/accept",
                           headers=existing)
    assert accepted.status_code == 201 and accepted.json()["email"] == "erin@acme.example"
    assert client.get(f"/api/v1/organizations/{org}", headers=existing).status_code == 200
    assert client.get("/api/v1/me/invitations", headers=existing).json() == []
    again = client.post(f"/api/v1/me/invitations/{waiting[0]['id']}/accept", headers=existing)
    assert again.status_code == 404


def test_owners_list_and_revoke_pending_invitations(client: TestClient) -> None:
    owner = sign_up(client, "owner@acme.example", org="Acme")
    org = client.get("/api/v1/organizations", headers=owner).json()[0]["id"]
    existing = sign_up(client, "erin@acme.example", org="Erin")
    invite = client.post(f"/api/v1/organizations/{org}/members",
                         json={"email": "erin@acme.example"}, headers=owner).json()
    fresh = client.post(f"/api/v1/organizations/{org}/members",
                        json={"email": "new@acme.example"}, headers=owner).json()
    listed = client.get(f"/api/v1/organizations/{org}/invitations", headers=owner).json()
    assert {i["email"] for i in listed} == {"erin@acme.example", "new@acme.example"}

    for invitation in (invite, fresh):
        revoked = client.delete(
            f"/api/v1/organizations/{org}/invitations/{invitation['invitation']['id']}",
            headers=owner)
        assert revoked.status_code == 200
    assert client.get(f"/api/v1/organizations/{org}/invitations", headers=owner).json() == []
    # A revoked invitation can be neither accepted nor used to sign up.
    assert client.get("/api/v1/me/invitations", headers=existing).json() == []
    accept = client.post(f"/api/v1/me/invitations/{invite['invitation']['id']}/accept",
                         headers=existing)
    assert accept.status_code == 404
    signup = client.post("/api/v1/auth/signup", json={
        "email": "new@acme.example", "password": PASSWORD,
        "invitation_token": fresh["invitation_token"]})
    assert signup.status_code == 404 and signup.json()["error"]["field"] == "invitation_token"
    twice = client.delete(
        f"/api/v1/organizations/{org}/invitations/{fresh['invitation']['id']}", headers=owner)
    assert twice.status_code == 404
