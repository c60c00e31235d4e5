"""mozilla-django-oidc's authentication backend, made per tenant.

The library reads one provider's endpoints and client from settings in `__init__`, matches users by email,
skips the issuer and audience checks, fetches the keys on every login and lets expired tokens become 500s.
Here the callback view hands the tenant over on the request, the endpoints come from the tenant's cached
discovery document, and the hooks below replace what must not be inherited.
"""

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts import hot_path, services
from accounts.models import User
from accounts.oidc.auth_time import auth_time_claim
from accounts.oidc.redirects import tenant_redirect_uri
from inigo_sso.failures import LoginError
from okta import exchange, http, provider
from okta.provider import LoginDocuments, ProviderMetadata
from okta.tokens import validate_id_token
from tenants import crypto
from tenants.models import Tenant

logger = logging.getLogger(__name__)

TENANT_ATTRIBUTE = "oidc_tenant"  # set on the request by the callback view, and only there
RECHECK_ATTRIBUTE = "oidc_recheck_user"  # the signed-in person a prompt=none re-check is for
REAUTH_ATTRIBUTE = "oidc_reauth_user"  # the signed-in person a prompt=login re-authentication is for
AUTH_TIME_ATTRIBUTE = "oidc_auth_time"  # the validated ID token's auth_time (accounts.oidc.auth_time)
DOCUMENTS_ATTRIBUTE = "oidc_documents"  # the provider's documents as this callback read them
ID_TOKEN_SESSION_KEY = "oidc_id_token_encrypted"  # noqa: S105 (a session key name)


def callback_documents(request: HttpRequest, tenant: Tenant) -> LoginDocuments:
    """The tenant's provider metadata and cached keys, read once per callback: the view's `iss` check and the
    token exchange share one round trip to the cache (and one look at the provider's failure mark)."""
    documents: LoginDocuments | None = getattr(request, DOCUMENTS_ATTRIBUTE, None)
    if documents is None or documents.metadata.issuer != tenant.issuer:
        documents = provider.login_documents(tenant.issuer)
        setattr(request, DOCUMENTS_ATTRIBUTE, documents)
    return documents


def _token_form(request: HttpRequest, tenant: Tenant, payload: dict[str, Any]) -> dict[str, str]:
    """The token request's form: the library's payload without the client's credentials (token_request sends those
    as the provider asks), with the redirect URI of the authorization request. The library built its redirect_uri
    from one global callback URL; a token request must send the one the authorization request sent (RFC 6749
    section 4.1.3), which is this tenant's own (the mix-up defense of RFC 9700 section 4.4)."""
    leave_out = ("client_id", "client_secret", "redirect_uri")
    form = {name: value for name, value in payload.items() if name not in leave_out}
    # The one the authorization request sent, kept in the state entry (the callback view hands it over).
    form["redirect_uri"] = getattr(request, "oidc_redirect_uri", "") or tenant_redirect_uri(request, tenant.slug)
    return form


class TenantOIDCBackend(OIDCAuthenticationBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django builds a backend on every use (each request's get_user too): no settings, database or network
        # work here. Everything tenant-specific is set in authenticate().
        self.UserModel = get_user_model()

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        tenant: Tenant | None = getattr(request, TENANT_ATTRIBUTE, None) if request is not None else None
        if tenant is None:
            return None  # not our callback (an admin password login, say): leave it to the next backend
        if not tenant.client_secret:
            raise LoginError("tenant_no_secret", "no decryptable client secret is stored")
        self.tenant = tenant
        self.documents = callback_documents(request, tenant)
        self.metadata: ProviderMetadata = self.documents.metadata
        self.OIDC_OP_TOKEN_ENDPOINT = self.metadata.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = self.metadata.userinfo_endpoint
        self.OIDC_RP_CLIENT_ID = tenant.client_id
        self.OIDC_RP_CLIENT_SECRET = tenant.client_secret
        return super().authenticate(request, **kwargs)

    def get_user(self, user_id: Any) -> User | None:
        """Every signed-in request: the user with their tenant in one query (pages and /api/me/ show it); the
        client secret is left undecrypted, nothing after sign-in needs it."""
        return hot_path.person_with_tenant(user_id)

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The token exchange (RFC 6749 section 4.1.3), after mozilla-django-oidc has saved the state entry's
        removal."""
        return exchange.token_request(
            self.metadata, client_id=self.tenant.client_id, client_secret=self.tenant.client_secret,
            form=_token_form(self.request, self.tenant, payload), reading=self.documents.breaker,
        )

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        return validate_id_token(
            token,
            issuer=self.tenant.issuer,
            client_id=self.tenant.client_id,
            nonce=kwargs.get("nonce") or "",
            keys_for=lambda kid: provider.signing_keys(self.metadata, kid, cached=self.documents.keys),
        )

    def store_tokens(self, access_token: str, id_token: str) -> None:
        # Only the ID token is kept, for Okta's logout (id_token_hint), and only encrypted: sessions live in
        # the database. The access token is dropped: Inigo calls no Okta API on the user's behalf. The callback
        # view puts it in the session when it signs the person in (the session is not read before that).
        self.request.oidc_id_token_encrypted = crypto.encrypt(id_token)

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User:
        rechecked: User | None = getattr(self.request, RECHECK_ATTRIBUTE, None)
        reauthenticated: User | None = getattr(self.request, REAUTH_ATTRIBUTE, None)
        expected = rechecked or reauthenticated
        if expected is not None and not (
            expected.tenant_id == self.tenant.pk and expected.issuer == self.tenant.issuer
            and expected.sub == payload["sub"]
        ):
            # A re-check or re-authentication answered for somebody else signed in to Okta in this browser: it
            # neither signs the other person in nor creates an account for them. A re-check ends this session; a
            # re-authentication changes nothing and keeps it (accounts.oidc.reauth).
            if reauthenticated is not None:
                raise LoginError("reauth_other_person", "Okta answered for another person")
            raise LoginError("session_recheck_failed", "Okta answered for another person")
        # From the signed ID token only: userinfo below never supplies when Okta authenticated the person.
        setattr(self.request, AUTH_TIME_ATTRIBUTE, auth_time_claim(payload))
        claims = payload
        if not (payload.get("email") and payload.get("name")):
            # Userinfo fills in what the ID token lacks; what the signed ID token says wins.
            present = {name: value for name, value in payload.items() if value not in (None, "")}
            claims = {**self.get_userinfo(access_token, id_token, payload), **present}
        user = services.user_provision(tenant=self.tenant, claims=claims)
        self.request.oidc_claims = claims
        return user

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Userinfo, only when the ID token lacks email or name (thin ID tokens)."""
        if not self.OIDC_OP_USER_ENDPOINT or not isinstance(access_token, str):
            return {}
        with provider.guarded(self.tenant.issuer, "userinfo", reading=self.documents.breaker):
            userinfo, _response = http.get_json(
                self.OIDC_OP_USER_ENDPOINT, headers={"Authorization": f"Bearer {access_token}"}
            )
        if not isinstance(userinfo, dict):
            raise LoginError("userinfo_invalid", "userinfo is not a JSON object")
        # OIDC Core 5.3.2: the sub in the userinfo response must equal the ID token's, or its claims are not
        # about this person and must not be used.
        if userinfo.get("sub") != payload["sub"]:
            raise LoginError("userinfo_sub_mismatch", "userinfo sub differs from the ID token's")
        return userinfo

