"""A real OpenID Provider (oidc-provider-mock, built on authlib) served in-process on loopback, wrapped in a
harness that counts the requests it receives and, when a test asks, replaces what the provider answers: an ID
token re-signed with changed claims or header, a changed discovery document or userinfo response.

The provider does the real work (authorization, codes, token exchange, its own keys); the harness only lets a
test break one rule at a time, the way the OpenID Foundation's relying-party tests do.
"""

import base64
import hashlib
import hmac
import io
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import oidc_provider_mock
import requests
import werkzeug.serving
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from werkzeug.test import EnvironBuilder, run_wsgi_app

from devidp.mock_authorization import OneAuthorizationAtATime

Claims = dict[str, Any]


@dataclass
class SigningKey:
    kid: str | None
    private_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"use": "sig", "alg": "RS256"})
        if self.kid is not None:
            jwk["kid"] = self.kid
        return jwk

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: Claims, headers: dict[str, Any] | None = None) -> str:
        headers = dict(headers or {})
        if self.kid is not None:
            headers.setdefault("kid", self.kid)
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers=headers)


@dataclass
class TokenRequest:
    form: dict[str, str]
    authorization: str


class ProviderHarness:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        mock = oidc_provider_mock.app(require_nonce=True, issue_refresh_token=False)
        self.provider_app = OneAuthorizationAtATime(mock)  # devidp.mock_authorization says why
        self.server: werkzeug.serving.BaseWSGIServer | None = None
        self.reset()

    # --- what a test can change -------------------------------------------------------------------------------
    def reset(self) -> None:
        self.hits: Counter[str] = Counter()
        self.token_requests: list[TokenRequest] = []
        self.issued: list[str] = []  # access and ID tokens as sent to the app
        self.authorize_requests: list[dict[str, str]] = []
        self.id_token_rewrite: Callable[[str], str] | None = None
        self.discovery_rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.userinfo_rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.token_response: tuple[int, dict[str, Any]] | None = None
        self.token_delays: list[float] = []  # seconds the next token requests wait before answering, one each
        self.extra_keys: list[SigningKey] = []
        self.hide_provider_keys = False
        # The browser's session at the provider (Okta's session cookie), for prompt=none: who signed in last, or
        # nobody. A test may sign the browser out at the provider or make it answer with an error instead.
        self.signed_in_sub: str | None = None
        self.prompt_none_error: tuple[str, str] | None = None

    def forge_id_token(
        self,
        change: Callable[[Claims], Claims] = lambda claims: claims,
        *,
        key: SigningKey | None = None,
        headers: dict[str, Any] | None = None,
    ) -> SigningKey:
        """Replace the provider's ID token with one carrying `change(claims)`, signed by `key` (a harness key
        published in the provider's JWKS unless the test removes it)."""
        key = key or self.add_key("harness-1")

        def rewrite(id_token: str) -> str:
            claims = jwt.decode(id_token, options={"verify_signature": False})
            return key.sign(change(claims), headers)

        self.id_token_rewrite = rewrite
        return key

    def add_key(self, kid: str | None) -> SigningKey:
        key = SigningKey(kid)
        self.extra_keys.append(key)
        return key

    def register_client(
        self, redirect_uris: list[str], *, auth_method: str = "client_secret_basic"
    ) -> tuple[str, str]:
        """A client the provider knows, with a secret of its own, through its registration endpoint (RFC 7591):
        the (client_id, client_secret) pair. Unregistered clients get in with any secret; these do not."""
        response = requests.post(
            f"{self.issuer}/oauth2/clients",
            json={"redirect_uris": redirect_uris, "token_endpoint_auth_method": auth_method}, timeout=5,
        )
        assert response.status_code == 201, response.text
        document = response.json()
        self.hits.clear()
        return document["client_id"], document["client_secret"]

    def set_user(self, sub: str, claims: Claims) -> None:
        response = requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5)
        assert response.status_code == 204, response.text
        self.hits.clear()

    # --- the browser's part at the provider ---------------------------------------------------------------------
    def authorize(self, authorize_url: str, sub: str, *, deny: bool = False) -> str:
        """What a person does at the provider's login page: returns where the provider sends the browser."""
        data = {"action": "deny"} if deny else {"sub": sub}
        response = requests.post(authorize_url, data=data, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text[:500]
        if not deny:
            self.signed_in_sub = sub
        return response.headers["Location"]

    def authorize_silently(self, authorize_url: str) -> str:
        """What the browser does with a prompt=none request: no page, straight back (returns where to)."""
        response = requests.get(authorize_url, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text[:500]
        return response.headers["Location"]

    def _authorize_without_prompt(
        self, environ: dict[str, Any], start_response: Callable[..., Any], query: dict[str, str]
    ) -> list[bytes]:
        """OIDC Core 3.1.2.1 prompt=none, which oidc-provider-mock does not implement: never a page; without a
        session at the provider `login_required`, with one a code for the person of that session (sent by the
        provider itself, as if they had chosen themselves on its page)."""
        redirect_uri, state = query.get("redirect_uri", ""), query.get("state", "")
        error = self.prompt_none_error or (None if self.signed_in_sub else ("login_required", "Login required."))
        if error is not None:
            answer = urlencode({"error": error[0], "error_description": error[1], "state": state})
            return _redirect(start_response, f"{redirect_uri}?{answer}")
        forwarded = {k: v for k, v in query.items() if k not in ("prompt", "id_token_hint")}
        builder = EnvironBuilder(path="/oauth2/authorize", method="POST", base_url=self.issuer,
                                 query_string=urlencode(forwarded), data={"sub": self.signed_in_sub})
        app_iter, status, headers = run_wsgi_app(self.provider_app, builder.get_environ(), buffered=True)
        start_response(status, list(headers.items()))
        return [b"".join(app_iter)]

    # --- serving ----------------------------------------------------------------------------------------------
    @property
    def issuer(self) -> str:
        assert self.server is not None
        return f"http://{self.host}:{self.server.server_port}"

    @contextmanager
    def serve(self, port: int = 0) -> Iterator["ProviderHarness"]:
        """Serve on `port` (any free one by default); a test that stops and serves again on the same port gets the
        same issuer back, as an Okta org that was down and is up again."""
        self.server = werkzeug.serving.make_server(self.host, port, self, threaded=True)
        thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            thread.join(5)
            self.server.server_close()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ["PATH_INFO"]
        self.hits[path] += 1
        if path == "/oauth2/authorize" and environ["REQUEST_METHOD"] == "GET":
            query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            self.authorize_requests.append(query)
            if query.get("prompt") == "none":
                return self._authorize_without_prompt(environ, start_response, query)
        if path == "/oauth2/token":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            self.token_requests.append(TokenRequest(form, environ.get("HTTP_AUTHORIZATION", "")))
            if self.token_delays:
                time.sleep(self.token_delays.pop(0))
            if self.token_response is not None:
                status, document = self.token_response
                return _json_response(start_response, document, status)
        app_iter, status, headers = run_wsgi_app(self.provider_app, environ, buffered=True)
        body = b"".join(app_iter)
        if path == "/oauth2/token" and status.startswith("200"):
            document = json.loads(body)
            if self.id_token_rewrite:
                document["id_token"] = self.id_token_rewrite(document["id_token"])
            self.issued += [document["access_token"], document["id_token"]]
            return _json_response(start_response, document)
        if path == "/jwks" and (self.extra_keys or self.hide_provider_keys):
            document = json.loads(body)
            keys = [] if self.hide_provider_keys else document["keys"]
            document["keys"] = keys + [key.public_jwk() for key in self.extra_keys]
            return _json_response(start_response, document)
        if path == "/.well-known/openid-configuration" and self.discovery_rewrite:
            return _json_response(start_response, self.discovery_rewrite(json.loads(body)))
        if path == "/userinfo" and status.startswith("200") and self.userinfo_rewrite:
            return _json_response(start_response, self.userinfo_rewrite(json.loads(body)))
        start_response(status, list(headers.items()))
        return [body]


def _redirect(start_response: Callable[..., Any], location: str) -> list[bytes]:
    start_response("302 Found", [("Location", location), ("Content-Length", "0")])
    return [b""]


def _json_response(start_response: Callable[..., Any], document: Any, status: int = 200) -> list[bytes]:
    body = json.dumps(document).encode()
    start_response(f"{status} X", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def hs256_token(claims: Claims, secret: bytes, headers: dict[str, Any] | None = None) -> str:
    """An HS256 JWS built by hand: PyJWT refuses to use a public key as an HMAC secret, an attacker does not."""
    header = {"alg": "HS256", "typ": "JWT", **(headers or {})}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def unsigned_token(claims: Claims) -> str:
    return f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims).encode())}."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
