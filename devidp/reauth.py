"""Okta's re-authentication, played by the local identity provider (OIDC Core 3.1.2.1, `prompt=login`, `max_age`).

Every sign-in on the provider's page is a new authentication: the ID token's `auth_time` is that moment, so a
`prompt=login` or `max_age=0` request, which always shows the page, is honoured. The browser's sign-in is remembered
(a cookie, as Okta's session cookie), and with `ignore_reauth` on the provider behaves as Okta does for some federated
people: it answers such a request at once, without the page, for the person already signed in and with the
`auth_time` of that earlier sign-in (the ID token re-signed with a key published in the provider's JWKS). That shows
Inigo's page for an Okta that would not ask again (accounts.oidc.reauth)."""

import json
import secrets
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

COOKIE = "local_okta_session"


@dataclass
class SignIn:
    sub: str
    auth_time: int


@dataclass
class Reauthentication:
    """The browsers' sign-ins at the provider, and the earlier auth_time each code answered with at once carries."""

    ignore_reauth: bool = False
    kid: str = "local-idp-reauth"
    sessions: dict[str, SignIn] = field(default_factory=dict)
    earlier_auth_times: dict[str, int] = field(default_factory=dict)  # code -> auth_time
    _key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537,
                                                                                     key_size=2048))

    def asks_again(self, query: dict[str, str]) -> bool:
        return query.get("prompt") == "login" or query.get("max_age") == "0"

    def signed_in(self, environ: dict[str, Any]) -> SignIn | None:
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        morsel = cookie.get(COOKIE)
        return self.sessions.get(morsel.value) if morsel is not None else None

    def remember(self, sub: str) -> str:
        """A sign-in on the page, now: the Set-Cookie header value of the browser's session at the provider."""
        session_id = secrets.token_urlsafe(24)
        self.sessions[session_id] = SignIn(sub=sub, auth_time=int(time.time()))
        return f"{COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax"

    def public_jwk(self) -> dict[str, object]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return jwk

    def token_response(self, code: str, document: dict[str, Any]) -> dict[str, Any]:
        """The token response, its ID token carrying the earlier auth_time when the code was answered at once."""
        earlier = self.earlier_auth_times.pop(code, None)
        if earlier is None or not isinstance(document.get("id_token"), str):
            return document
        claims = jwt.decode(document["id_token"], options={"verify_signature": False})
        claims["auth_time"] = earlier
        signed = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})
        return {**document, "id_token": signed}
