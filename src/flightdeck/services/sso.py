"""Organization single sign-on with OpenID Connect: providers, and the code flow with PKCE.

The client secret is sealed with the settings' secret key; ``state`` and ``nonce`` are kept
only as hashes, and the PKCE verifier only sealed, for the few minutes a sign-in may take.
"""

from __future__ import annotations

import base64
import hashlib
import secrets as random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flightdeck.db.models import (
    IdentityProvider,
    IdentityProviderDomain,
    OrganizationMembership,
    SsoLogin,
    User,
)
from flightdeck.db.types import utcnow
from flightdeck.services import access, audit, dns_txt, sso_roles
from flightdeck.services.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from flightdeck.services.secrets import hash_token, seal, unseal
from flightdeck.services.validation import normalise_email

LOGIN_LIFETIME = timedelta(minutes=10)
HTTP_TIMEOUT_SECONDS = 10.0
ID_TOKEN_ALGORITHMS = ("RS256", "ES256", "PS256")
CLOCK_SKEW_SECONDS = 60
# Users who only ever sign in through a provider: not an argon2 hash, so no password matches.
NO_PASSWORD = "!sso"
# Domain verification: the TXT record `_flightdeck-challenge.<domain>` holds this and the token.
TXT_RECORD_LABEL = "_flightdeck-challenge"
TXT_VALUE_PREFIX = "flightdeck-domain-verification="

_jwks_cache: dict[str, KeySet] = {}


class SsoRefused(Unauthenticated):
    """A sign-in the provider or its answer does not allow; nothing was created."""

    code = "sso_refused"


class DnsUnavailable(InvalidInput):
    """The configured resolver did not answer a domain verification's lookup."""

    code = "dns_unavailable"


class ProviderUnavailable(InvalidInput):
    """The identity provider could not be reached or answered an error (for an Owner adding
    it: the issuer is wrong; the sign-in pages answer 502)."""

    code = "identity_provider_unavailable"


@dataclass(frozen=True)
class StartedLogin:
    authorization_url: str
    state: str


@dataclass(frozen=True)
class SignedIn:
    user: User
    organization_id: str
    created: bool
    return_to: str = "/"


def _domain(value: str) -> str:
    domain = value.strip().lower().lstrip("@")
    labels = domain.split(".")
    if (
        len(domain) > 253
        or len(labels) < 2
        or not all(label and len(label) <= 63 for label in labels)
        or not all(c.isalnum() or c in "-." for c in domain)
    ):
        raise InvalidInput(
            f"domains: {value!r} is not an email domain; give one like example.com",
            field="domains",
        )
    return domain


def _check_issuer(issuer: str) -> str:
    issuer = issuer.strip().rstrip("/")
    if not issuer.startswith(("https://", "http://")) or " " in issuer:
        raise InvalidInput(
            "issuer: give the provider's issuer URL, like https://login.example.com",
            field="issuer",
        )
    return issuer


def discover(issuer: str) -> dict[str, Any]:
    """The provider's discovery document, checked to name this issuer and the endpoints used."""
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT_SECONDS)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError):
        raise ProviderUnavailable(
            f"issuer: could not read the discovery document at {url}; "
            "check the issuer URL and that the provider is up"
        ) from None
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        raise InvalidInput(
            f"issuer: the discovery document at {url} names another issuer; "
            "give exactly the issuer it names",
            field="issuer",
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(key), str):
            raise InvalidInput(
                f"issuer: the discovery document at {url} has no {key}", field="issuer"
            )
    return document


def add_provider(
    session: Session,
    user: User,
    organization_id: str,
    *,
    issuer: str,
    client_id: str,
    client_secret: str,
    domains: list[str],
    default_role: str,
    secret_key: str,
    groups_claim: str = "groups",
    role_mapping: list[dict[str, Any]] | None = None,
) -> IdentityProvider:
    access.require_owner(session, user, organization_id)
    issuer = _check_issuer(issuer)
    rules = sso_roles.parse_rules(role_mapping or [])
    groups_claim = _check_groups_claim(groups_claim)
    if not client_id.strip():
        raise InvalidInput("client_id: give the client id the provider issued", field="client_id")
    if not client_secret:
        raise InvalidInput(
            "client_secret: give the client secret the provider issued", field="client_secret"
        )
    if default_role not in access.ORG_ROLES:
        raise InvalidInput(
            f"default_role: must be one of {', '.join(access.ORG_ROLES)}", field="default_role"
        )
    names = sorted({_domain(d) for d in domains})
    if not names:
        raise InvalidInput("domains: give at least one email domain", field="domains")
    _check_unclaimed(session, organization_id, names)
    discover(issuer)
    provider = IdentityProvider(
        organization_id=organization_id,
        issuer=issuer,
        client_id=client_id.strip(),
        client_secret_sealed=seal(client_secret, secret_key),
        default_role=default_role,
        groups_claim=groups_claim,
        role_mapping=sso_roles.dump_rules(rules),
        domains=[
            IdentityProviderDomain(domain=name, verification_token=random.token_urlsafe(24))
            for name in names
        ],
    )
    session.add(provider)
    session.flush()
    audit.record(
        session,
        action="sso.provider.add",
        actor=user,
        organization_id=organization_id,
        target=provider.id,
        detail={
            "issuer": issuer,
            "domains": names,
            "default_role": default_role,
            "groups_claim": groups_claim,
            "role_mapping": provider.role_mapping,
        },
    )
    session.commit()
    return provider


def _check_groups_claim(claim: str) -> str:
    claim = claim.strip()
    if not claim or len(claim) > 100:
        raise InvalidInput(
            "groups_claim: give the ID token claim that lists the user's groups, like groups",
            field="groups_claim",
        )
    return claim


def set_role_mapping(
    session: Session,
    user: User,
    organization_id: str,
    provider_id: str,
    *,
    groups_claim: str,
    role_mapping: list[dict[str, Any]],
) -> IdentityProvider:
    """Replace a provider's claim-to-role mapping; it applies from each user's next sign-in."""
    access.require_owner(session, user, organization_id)
    provider = session.get(IdentityProvider, provider_id)
    if provider is None or provider.organization_id != organization_id:
        raise NotFound("identity provider not found")
    rules = sso_roles.dump_rules(sso_roles.parse_rules(role_mapping))
    provider.groups_claim = _check_groups_claim(groups_claim)
    provider.role_mapping = rules
    audit.record(
        session,
        action="sso.provider.role_mapping",
        actor=user,
        organization_id=organization_id,
        target=provider.id,
        detail={"groups_claim": provider.groups_claim, "role_mapping": rules},
    )
    session.commit()
    return provider


def _check_unclaimed(session: Session, organization_id: str, names: list[str]) -> None:
    """One claim per domain in an organization; none on a domain another one verified."""
    rows = session.execute(
        select(
            IdentityProviderDomain.domain,
            IdentityProvider.organization_id,
            IdentityProviderDomain.verified_at,
        )
        .join(IdentityProvider)
        .where(IdentityProviderDomain.domain.in_(names))
    ).all()
    ours = sorted({domain for domain, org, _ in rows if org == organization_id})
    if ours:
        raise Conflict(
            f"domains: {', '.join(ours)} is already claimed by one of this organization's "
            "identity providers; remove it there first",
            field="domains",
        )
    verified = sorted({domain for domain, _, at in rows if at is not None})
    if verified:
        raise Conflict(
            f"domains: {', '.join(verified)} is verified by another organization, and a domain "
            "signs in to one organization at most; ask its Owners to remove it first",
            field="domains",
        )


def txt_record_name(domain: str) -> str:
    """Where the Owner publishes the TXT record proving the organization controls ``domain``."""
    return f"{TXT_RECORD_LABEL}.{domain}"


def txt_record_value(claim: IdentityProviderDomain) -> str:
    return f"{TXT_VALUE_PREFIX}{claim.verification_token}"


def verify_domain(
    session: Session,
    user: User,
    organization_id: str,
    domain: str,
    resolver: dns_txt.Resolver,
) -> IdentityProviderDomain:
    """Look the claim's TXT record up; once it holds the value, the domain routes sign-ins
    to this organization (and no other organization may verify it)."""
    access.require_owner(session, user, organization_id)
    try:
        name = _domain(domain)
    except InvalidInput as exc:
        raise InvalidInput(exc.message.replace("domains:", "domain:", 1), field="domain") from None
    claim = session.scalar(
        select(IdentityProviderDomain)
        .join(IdentityProvider)
        .where(
            IdentityProvider.organization_id == organization_id,
            IdentityProviderDomain.domain == name,
        )
    )
    if claim is None:
        raise NotFound(
            f"domain: none of this organization's identity providers claims {name}; "
            "add it with `flightdeck organization sso add --domain`",
            field="domain",
        )
    if claim.verified_at is not None:
        return claim
    elsewhere = session.scalar(
        select(IdentityProviderDomain.provider_id).where(
            IdentityProviderDomain.domain == name, IdentityProviderDomain.verified_at.is_not(None)
        )
    )
    if elsewhere is not None:
        raise Conflict(
            f"domain: {name} is verified by another organization, and a domain signs in to "
            "one organization at most; ask its Owners to remove it",
            field="domain",
        )
    record, expected = txt_record_name(name), txt_record_value(claim)
    try:
        found = dns_txt.txt_values(record, resolver)
    except dns_txt.DnsUnavailable as exc:
        raise DnsUnavailable(
            f"domain: {resolver.describe()} did not answer for {record} ({exc}); check "
            "FLIGHTDECK_DNS_NAMESERVER and FLIGHTDECK_DNS_PORT, or try again shortly",
            field="domain",
        ) from None
    if expected not in found:
        seen = f" (it has: {', '.join(found)[:300]})" if found else ""
        raise InvalidInput(
            f"domain: no TXT record {record} with the value {expected} was found through "
            f"{resolver.describe()}{seen}; publish it, let DNS catch up, and verify again",
            field="domain",
        )
    claim.verified_at = utcnow()
    audit.record(
        session,
        action="sso.domain.verify",
        actor=user,
        organization_id=organization_id,
        target=name,
        detail={"provider": claim.provider_id, "record": record},
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"domain: {name} was just verified by another organization", field="domain"
        ) from None
    return claim


def list_providers(session: Session, user: User, organization_id: str) -> list[IdentityProvider]:
    access.require_owner(session, user, organization_id)
    return list(
        session.scalars(
            select(IdentityProvider)
            .where(IdentityProvider.organization_id == organization_id)
            .order_by(IdentityProvider.created_at)
        )
    )


def remove_provider(session: Session, user: User, organization_id: str, provider_id: str) -> None:
    access.require_owner(session, user, organization_id)
    provider = session.get(IdentityProvider, provider_id)
    if provider is None or provider.organization_id != organization_id:
        raise NotFound("identity provider not found")
    session.delete(provider)
    audit.record(
        session,
        action="sso.provider.remove",
        actor=user,
        organization_id=organization_id,
        target=provider_id,
        detail={"issuer": provider.issuer},
    )
    session.commit()


def _provider_for_email(session: Session, email: str) -> IdentityProvider:
    """The provider of the organization that verified the email's domain: an unverified
    claim routes nothing."""
    domain = email.rpartition("@")[2]
    provider = session.scalar(
        select(IdentityProvider)
        .join(IdentityProviderDomain)
        .where(
            IdentityProviderDomain.domain == domain, IdentityProviderDomain.verified_at.is_not(None)
        )
    )
    if provider is None:
        raise NotFound(
            f"email: no organization signs in {domain} addresses with SSO; "
            "sign in with your password instead"
        )
    return provider


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def safe_return_to(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target[:2000]
    return "/"


def start_login(
    session: Session, email: str, redirect_uri: str, secret_key: str, return_to: str = "/"
) -> StartedLogin:
    """Record a sign-in in flight and give the provider's authorization URL to send the
    browser to (authorization code, PKCE S256, ``state`` and ``nonce``); once signed in, the
    browser goes on to ``return_to`` (a path on this site)."""
    provider = _provider_for_email(session, normalise_email(email))
    document = discover(provider.issuer)
    state, nonce, verifier = (random.token_urlsafe(32) for _ in range(3))
    now = utcnow()
    session.execute(delete(SsoLogin).where(SsoLogin.expires_at < now))
    session.add(
        SsoLogin(
            provider_id=provider.id,
            state_hash=hash_token(state),
            nonce_hash=hash_token(nonce),
            code_verifier_sealed=seal(verifier, secret_key),
            redirect_uri=redirect_uri,
            return_to=safe_return_to(return_to),
            expires_at=now + LOGIN_LIFETIME,
        )
    )
    session.commit()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": _s256(verifier),
            "code_challenge_method": "S256",
            "login_hint": email,
        }
    )
    endpoint = str(document["authorization_endpoint"])
    separator = "&" if "?" in endpoint else "?"
    return StartedLogin(authorization_url=f"{endpoint}{separator}{query}", state=state)


def _keys(jwks_uri: str, *, refresh: bool) -> KeySet:
    if refresh or jwks_uri not in _jwks_cache:
        try:
            response = httpx.get(jwks_uri, timeout=HTTP_TIMEOUT_SECONDS)
            response.raise_for_status()
            _jwks_cache[jwks_uri] = KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, JoseError):
            raise ProviderUnavailable(
                "the identity provider's signing keys could not be read; try again shortly"
            ) from None
    return _jwks_cache[jwks_uri]


def verify_id_token(
    id_token: str, *, issuer: str, client_id: str, jwks_uri: str, nonce_hash: str
) -> dict[str, Any]:
    """The ID token's claims once its signature (against the provider's JWKS, fetched again
    on an unknown ``kid``: key rotation) and ``iss``, ``aud``, ``exp``, ``iat``, ``nonce`` hold."""
    cached = jwks_uri in _jwks_cache
    try:
        try:
            token = jwt.decode(id_token, _keys(jwks_uri, refresh=False), ID_TOKEN_ALGORITHMS)
        except (InvalidKeyIdError, BadSignatureError):
            if not cached:
                raise
            # Keys rotated since they were cached (a token without ``kid`` fails as a bad
            # signature): read the provider's keys once more.
            token = jwt.decode(id_token, _keys(jwks_uri, refresh=True), ID_TOKEN_ALGORITHMS)
    except InvalidKeyIdError:
        raise SsoRefused("the ID token is signed by a key the provider does not publish") from None
    except (JoseError, ValueError):
        raise SsoRefused("the ID token's signature does not verify") from None
    registry = jwt.JWTClaimsRegistry(
        leeway=CLOCK_SKEW_SECONDS,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
    )
    try:
        registry.validate(token.claims)
    except JoseError as exc:
        raise SsoRefused(f"the ID token was refused: {exc.error}: {exc.description}") from None
    claims = token.claims
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise SsoRefused("the ID token was issued to another client")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not random.compare_digest(hash_token(nonce), nonce_hash):
        raise SsoRefused("the ID token's nonce does not match this sign-in")
    return claims


def finish_login(session: Session, *, state: str, code: str, secret_key: str) -> SignedIn:
    """Exchange the code, verify the ID token, and find or provision the user (JIT)."""
    login = session.scalar(select(SsoLogin).where(SsoLogin.state_hash == hash_token(state)))
    if login is None or login.expires_at <= utcnow():
        raise SsoRefused("this sign-in is unknown, expired or already used; start again")
    # One use only, whatever happens next: a replayed callback finds nothing.
    session.delete(login)
    session.commit()
    provider = session.get(IdentityProvider, login.provider_id) if login.provider_id else None
    if provider is None:
        raise SsoRefused("the identity provider was removed; start again")
    document = discover(provider.issuer)
    try:
        response = httpx.post(
            str(document["token_endpoint"]),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": login.redirect_uri,
                "code_verifier": unseal(login.code_verifier_sealed, secret_key),
            },
            auth=(provider.client_id, unseal(provider.client_secret_sealed, secret_key)),
            timeout=HTTP_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError:
        raise ProviderUnavailable("the identity provider could not be reached; try again") from None
    if response.status_code >= 500:
        raise ProviderUnavailable("the identity provider answered an error; try again shortly")
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code != 200 or not isinstance(answer.get("id_token"), str):
        error = answer.get("error", "no ID token") if isinstance(answer, dict) else "no ID token"
        raise SsoRefused(f"the identity provider refused the sign-in ({error}); start again")
    claims = verify_id_token(
        answer["id_token"],
        issuer=provider.issuer,
        client_id=provider.client_id,
        jwks_uri=str(document["jwks_uri"]),
        nonce_hash=login.nonce_hash,
    )
    signed_in = _provision(session, provider, claims)
    return SignedIn(
        user=signed_in.user,
        organization_id=signed_in.organization_id,
        created=signed_in.created,
        return_to=safe_return_to(login.return_to),
    )


def _provision(session: Session, provider: IdentityProvider, claims: dict[str, Any]) -> SignedIn:
    raw_email = claims.get("email")
    if not isinstance(raw_email, str) or claims.get("email_verified") is False:
        raise SsoRefused("the identity provider gave no verified email for this user")
    try:
        email = normalise_email(raw_email)
    except InvalidInput:
        raise SsoRefused("the identity provider gave an email that is not valid") from None
    domain = email.rpartition("@")[2]
    if domain not in {d.domain for d in provider.domains if d.verified_at is not None}:
        raise SsoRefused(
            f"{domain} is not a verified domain of this identity provider; ask an Owner to "
            "add and verify it"
        )
    user = session.scalar(select(User).where(User.email == email))
    created = user is None
    if user is None:
        user = User(email=email, name=str(claims.get("name", ""))[:200], password_hash=NO_PASSWORD)
        session.add(user)
        session.flush()
    groups = sso_roles.groups_of(claims, provider.groups_claim)
    membership = access.find_org_membership(session, provider.organization_id, user.id)
    if membership is None:
        role = sso_roles.organization_role(provider, groups) or provider.default_role
        membership = OrganizationMembership(
            organization_id=provider.organization_id, user_id=user.id, role=role
        )
        session.add(membership)
        session.flush()
        audit.record(
            session,
            action="sso.user.provision" if created else "sso.user.join",
            actor=user,
            organization_id=provider.organization_id,
            target=user.id,
            detail={"provider": provider.id, "role": role},
        )
    sso_roles.apply(session, provider, user, membership, groups)
    audit.record(
        session,
        action="sso.sign_in",
        actor=user,
        organization_id=provider.organization_id,
        target=user.id,
        detail={"provider": provider.id},
    )
    session.commit()
    return SignedIn(user=user, organization_id=provider.organization_id, created=created)
