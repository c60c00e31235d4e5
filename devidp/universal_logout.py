"""Okta Universal Logout, played by the local identity provider: what Okta does when an admin clicks "Clear User
Sessions" with "Also include logout enabled apps". It signs a Global Token Revocation JWT with a key it publishes
in its JWKS and POSTs it to Inigo's /oidc/global-token-revocation/, naming the person by email."""

import json
import time
import uuid

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ENDPOINT_PATH = "/oidc/global-token-revocation/"
TOKEN_TYPE = "global-token-revocation+jwt"  # noqa: S105 (a media type)


class UniversalLogout:
    def __init__(self, kid: str = "local-idp-universal-logout") -> None:
        self.kid = kid
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def public_jwk(self) -> dict[str, object]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return jwk

    def token(self, *, issuer: str, client_id: str, audience: str) -> str:
        """Claims as Okta sets them: iss the org, sub the app's Client ID, aud the endpoint, five minutes either
        side of now, a fresh jti."""
        now = int(time.time())
        claims = {"iss": issuer, "sub": client_id, "aud": audience, "iat": now, "nbf": now - 300,
                  "exp": now + 300, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid, "typ": TOKEN_TYPE})

    def send(self, *, issuer: str, client_id: str, app_url: str, email: str) -> int:
        """POST one call; Inigo's status code (204 done, 404 no such person, 401 refused, ...)."""
        audience = app_url.rstrip("/") + ENDPOINT_PATH
        response = requests.post(
            audience,
            json={"sub_id": {"format": "email", "email": email}},
            headers={"Authorization": f"Bearer {self.token(issuer=issuer, client_id=client_id, audience=audience)}"},
            timeout=10,
        )
        return response.status_code
