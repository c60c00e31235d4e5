"""The JWT of Okta Universal Logout (the Global Token Revocation draft): Okta's proof that a call to
/oidc/global-token-revocation/ comes from the tenant's Okta, checked as strictly as an ID token.

The caller picks the tenant from the unverified (`iss`, `sub`) pair (`unverified_client`) and hands its issuer,
Client ID and keys in; nothing of the token is trusted before `validate_revocation_token` returns.
"""

import hmac
from dataclasses import dataclass
from typing import Any

import jwt

from inigo_sso.failures import LoginError
from inigo_sso.text import is_storable
from okta.tokens import ALGORITHM, LEEWAY_SECONDS, KeyLookup

TOKEN_TYPE = "global-token-revocation+jwt"  # noqa: S105 (a media type)
MAX_LIFETIME_SECONDS = 10 * 60  # Okta issues them for about 5 minutes either side of now
MAX_TOKEN_LENGTH = 16 * 1024
MAX_CLAIM_LENGTH = 255
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti"]
REASON = "universal_logout_unauthorized"


@dataclass(frozen=True)
class RevocationToken:
    issuer: str
    client_id: str
    jti: str
    expires_at: float


def bearer_token(authorization: str) -> str:
    """The token of an `Authorization: Bearer <token>` header (RFC 6750 section 2.1)."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise LoginError(REASON, "no Bearer token in the Authorization header")
    if len(token) > MAX_TOKEN_LENGTH:
        raise LoginError(REASON, "the token is too long")
    return token


def unverified_client(token: str) -> tuple[str, str]:
    """(`iss`, `sub`) as the token states them, unverified: only to choose whose keys verify it. The header is
    checked first, so a token that could never pass costs no lookup."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise LoginError(REASON, "the token is not a JWS") from exc
    _check_header(header)
    issuer, client_id = claims.get("iss"), claims.get("sub")
    if not (_clean_string(issuer) and _clean_string(client_id)):
        raise LoginError(REASON, "iss or sub is missing or not a plain string")
    return issuer, client_id


def validate_revocation_token(
    token: str, *, issuer: str, client_id: str, audience: str, keys_for: KeyLookup
) -> RevocationToken:
    """The verified token when every check holds; LoginError(universal_logout_unauthorized) naming the first
    check that fails."""
    header = jwt.get_unverified_header(token)
    _check_header(header)
    kid = header.get("kid")
    claims = None
    for key in keys_for(kid):
        try:
            # Signed with the tenant's own keys (its JWKS, the same as its ID tokens), for this endpoint on this
            # host (`aud`, exactly: strict_aud), by the tenant's Okta (`iss`), and inside its validity window with
            # the ID tokens' leeway (RFC 7519 sections 4.1.4, 4.1.5, 4.1.6).
            claims = jwt.decode(
                token, key=key, algorithms=[ALGORITHM], issuer=issuer, audience=audience, leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS, "strict_aud": True},
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidTokenError as exc:
            raise LoginError(REASON, f"{type(exc).__name__}: {str(exc)[:150]}") from exc
    if claims is None:
        raise LoginError(REASON, "no key of the tenant's JWKS verifies the signature")
    # `sub` is the Client ID of the app instance Okta logs out of: another install's token does not act here.
    if not isinstance(claims["sub"], str) or not hmac.compare_digest(claims["sub"].encode(), client_id.encode()):
        raise LoginError(REASON, "sub is not the tenant's Client ID")
    exp, iat = _number(claims["exp"]), _number(claims["iat"])
    if exp is None or iat is None or exp - iat > MAX_LIFETIME_SECONDS:
        raise LoginError(REASON, f"the token lives longer than {MAX_LIFETIME_SECONDS} s")
    jti = claims["jti"]
    if not _clean_string(jti):
        raise LoginError(REASON, "jti is missing or not a plain string")
    return RevocationToken(issuer=issuer, client_id=client_id, jti=jti, expires_at=exp + LEEWAY_SECONDS)


def _check_header(header: dict[str, Any]) -> None:
    # RFC 8725 section 3.11 (explicit typing): only a token made for this purpose is accepted here, never an ID
    # token of the same issuer. RFC 7515 section 4.1.9: "application/" may be left out, compared without case.
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower().removeprefix("application/") != TOKEN_TYPE:
        raise LoginError(REASON, f"typ {str(typ)[:40]!r} is not {TOKEN_TYPE}")
    # RS256 only: `none` and the HS* family (HS256 with the client secret, or with the public key) are refused.
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise LoginError(REASON, f"alg {str(alg)[:20]!r} is not {ALGORITHM}")
    kid = header.get("kid")
    if kid is not None and not _clean_string(kid):
        raise LoginError(REASON, "kid is not a plain string")


def _clean_string(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_CLAIM_LENGTH and is_storable(value)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


