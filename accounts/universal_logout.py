"""Okta Universal Logout (SPEC, "Okta Universal Logout"; the Global Token Revocation draft): Okta POSTs
`Authorization: Bearer <JWT>` and a JSON body naming one person; every session of that person ends, on every app
server, at their next request.

Answers, in this order: 401 when the JWT is missing or fails any check, 400 for a malformed body or an unknown
format, 404 when the tenant has no such person, 204 when their sessions have ended. Each call is a login event.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from accounts import services
from accounts.models import RevocationTokenUse, User
from accounts.oidc.ratelimits import ip_rate
from inigo_sso.failures import LoginError
from inigo_sso.text import is_storable
from okta import provider
from okta.revocation import REASON as UNAUTHORIZED
from okta.revocation import RevocationToken, bearer_token, unverified_client, validate_revocation_token
from tenants.models import Tenant

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
EMAIL_MAX_LENGTH = 254
IDENTIFIER_MAX_LENGTH = 255
MALFORMED = "universal_logout_malformed"
RATE_GROUP = "sso-universal-logout-refused-ip"


@dataclass(frozen=True)
class Subject:
    """The person a call names (RFC 9493 subject identifiers): format `iss_sub` or `email`."""

    format: str
    issuer: str = ""
    sub: str = ""
    email: str = ""


@csrf_exempt  # Okta calls with a Bearer token, never with a browser's cookies
@never_cache
@require_POST
def global_token_revocation(request: HttpRequest) -> HttpResponse:
    # Only refused calls count against an address: Okta's own calls, valid by construction, are never slowed,
    # and somebody without the tenant's keys can only make refused ones.
    if is_ratelimited(request, group=RATE_GROUP, key="ip", rate=ip_rate, increment=False):
        logger.warning("universal logout refused: too many refused calls from this address")
        return HttpResponse(status=429)
    tenant = None
    subject = None
    try:
        tenant = _authenticated_tenant(request)
        subject = _subject(request)
        _sessions_end(request, tenant, subject)
    except LoginError as error:
        if error.reason == UNAUTHORIZED:
            is_ratelimited(request, group=RATE_GROUP, key="ip", rate=ip_rate, increment=True)
        detail = f"format {subject.format}: {error.detail}" if subject else error.detail
        services.login_event_record(request, reason=error.reason, tenant=tenant, detail=detail,
                                    typed_email=subject.email if subject else "")
        response = HttpResponse(status=error.failure.status)
        if error.failure.status == 401:
            response["WWW-Authenticate"] = 'Bearer error="invalid_token"'  # RFC 6750 section 3
        return response
    return HttpResponse(status=204)


def _authenticated_tenant(request: HttpRequest) -> Tenant:
    token = bearer_token(request.META.get("HTTP_AUTHORIZATION", ""))
    issuer, client_id = unverified_client(token)
    # (iss, sub) is exactly one install of the app: the unique pair (issuer, client_id) of a tenant.
    tenant = Tenant.objects.defer("client_secret").filter(issuer=issuer, client_id=client_id).first()
    if tenant is None:
        raise LoginError(UNAUTHORIZED, "no tenant has this issuer and Client ID")
    if not tenant.is_active:
        raise LoginError(UNAUTHORIZED, "the tenant is not active")
    audience = request.build_absolute_uri(reverse("oidc_global_token_revocation"))
    try:
        metadata = provider.provider_metadata(tenant.issuer)
        verified = validate_revocation_token(
            token, issuer=tenant.issuer, client_id=tenant.client_id, audience=audience,
            keys_for=lambda kid: provider.signing_keys(metadata, kid),
        )
    except LoginError as error:
        if error.reason == UNAUTHORIZED:
            raise
        # An unknown key id, or the tenant's Okta unreachable: the token cannot be verified.
        raise LoginError(UNAUTHORIZED, f"{error.reason}: {error.detail}") from error
    if not revocation_token_use(tenant=tenant, token=verified):
        raise LoginError(UNAUTHORIZED, "jti was used before (replay)")
    return tenant


def revocation_token_use(*, tenant: Tenant, token: RevocationToken) -> bool:
    """Record the token's `jti` as used; False when it was used before. Expired rows are pruned here, so the table
    holds only the last few minutes of calls."""
    RevocationTokenUse.objects.filter(expires_at__lt=timezone.now()).delete()
    digest = hashlib.sha256(f"{token.issuer}\n{token.jti}".encode()).hexdigest()
    try:
        with transaction.atomic():
            RevocationTokenUse.objects.create(
                jti_digest=digest, tenant=tenant, expires_at=datetime.fromtimestamp(token.expires_at, tz=UTC)
            )
    except IntegrityError:
        return False
    return True


def _subject(request: HttpRequest) -> Subject:
    if request.content_type != "application/json":
        raise LoginError(MALFORMED, f"content type {request.content_type[:60]!r} is not application/json")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = MAX_BODY_BYTES + 1
    if length > MAX_BODY_BYTES:
        raise LoginError(MALFORMED, "the body is too large")
    try:
        body = json.loads(request.body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise LoginError(MALFORMED, "the body is not JSON") from exc
    if not isinstance(body, dict):
        raise LoginError(MALFORMED, "the body is not a JSON object")
    # The draft since -03 and Okta's sample code write `sub_id`; Okta's guide writes `subject`.
    identifier = body["sub_id"] if "sub_id" in body else body.get("subject")
    if not isinstance(identifier, dict):
        raise LoginError(MALFORMED, "no sub_id (or subject) object")
    kind = identifier.get("format")
    if kind == "iss_sub":  # RFC 9493 section 3.2.5
        issuer, sub = identifier.get("iss"), identifier.get("sub")
        if not (_clean(issuer, IDENTIFIER_MAX_LENGTH) and _clean(sub, IDENTIFIER_MAX_LENGTH)):
            raise LoginError(MALFORMED, "format iss_sub without plain iss and sub strings")
        return Subject(format=kind, issuer=issuer, sub=sub)
    if kind == "email":  # RFC 9493 section 3.2.2
        email = identifier.get("email")
        if not _clean(email, EMAIL_MAX_LENGTH) or "@" not in email:
            raise LoginError(MALFORMED, "format email without a plain email address")
        return Subject(format=kind, email=email)
    raise LoginError(MALFORMED, f"unknown format {str(kind)[:40]!r}")


def _sessions_end(request: HttpRequest, tenant: Tenant, subject: Subject) -> None:
    """End every session of everyone the subject names, in one transaction that locks only those people, in id
    order (accounts.locks); a subject that names nobody here is refused."""
    ended = services.people_sessions_end(
        people=_people(tenant, subject), reason="universal_logout", request=request,
        detail=f"Okta Universal Logout, format {subject.format}",
    )
    if not ended:
        raise LoginError("universal_logout_unknown_user", "the tenant has no such person")


def _people(tenant: Tenant, subject: Subject) -> QuerySet[User]:
    """Everyone of this tenant the subject names; never anyone of another tenant."""
    users = User.objects.filter(tenant=tenant)
    if subject.format == "iss_sub":
        # The person's identity is (tenant, issuer, sub): an `iss` other than the tenant's names nobody here.
        return users.filter(issuer=subject.issuer, sub=subject.sub) if subject.issuer == tenant.issuer else users.none()
    return users.filter(pk__in=users.filter(email__iexact=subject.email).values("pk")[:1000])


def _clean(value: Any, max_length: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= max_length and is_storable(value)
