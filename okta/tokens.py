"""ID token validation: every step of OIDC Core 3.1.3.7 that applies to the code flow with a client secret."""

import hmac
from collections.abc import Callable
from typing import Any

import jwt

from inigo_sso.failures import LoginError
from inigo_sso.text import is_storable

ALGORITHM = "RS256"
# Okta's own verifier allows two minutes of clock skew; so do we, for `exp` and `iat`.
LEEWAY_SECONDS = 120
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat"]

KeyLookup = Callable[[str | None], list[jwt.PyJWK]]


def validate_id_token(
    id_token: Any, *, issuer: str, client_id: str, nonce: str, keys_for: KeyLookup
) -> dict[str, Any]:
    """The token's claims when every check holds; LoginError naming the first check that fails."""
    if not isinstance(id_token, str) or not id_token:
        raise LoginError("id_token_missing", "the token response holds no id_token")
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.InvalidTokenError as exc:
        raise LoginError("id_token_malformed", "the ID token is not a JWS") from exc
    # OIDC Core 3.1.3.7 steps 6-8: the signature is checked with the provider's published keys and the
    # algorithm the client expects, RS256. `none` and the HS* family are refused outright: HS256 with the
    # client secret is not what these tenants use, and HS256 with the public key as HMAC secret is a forgery.
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise LoginError("id_token_alg", f"alg {str(alg)[:20]!r} is not {ALGORITHM}")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise LoginError("id_token_malformed", "kid is not a string")

    claims = None
    for key in keys_for(kid):
        try:
            claims = jwt.decode(
                id_token,
                key=key,
                algorithms=[ALGORITHM],
                # Step 2: iss must exactly equal the issuer of this tenant. Step 3: aud must contain our client
                # ID. Step 9: exp in the future; step 10: iat present (and not in the future beyond the leeway).
                issuer=issuer,
                audience=client_id,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS, "verify_sub": True},
            )
            break
        except jwt.InvalidSignatureError:
            continue  # without a kid every key is tried; with one there is one candidate
        except jwt.InvalidTokenError as exc:
            raise LoginError(_reason_for(exc), str(exc)[:200]) from exc
    if claims is None:
        raise LoginError("id_token_signature", "no key of the provider verifies the signature")

    # Steps 4 and 5: with several audiences azp must be present; when present it must be our client ID.
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise LoginError("id_token_azp", "azp is missing or is not our client ID")
    # Step 11: the nonce must be the one this browser's authentication request sent (replay protection).
    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not hmac.compare_digest(token_nonce.encode(), nonce.encode()):
        raise LoginError("id_token_nonce", "nonce is missing or differs from the one sent")
    sub = claims.get("sub")
    # sub is the stored identity: one PostgreSQL text cannot hold (NUL) is refused, never altered.
    if not isinstance(sub, str) or not sub or len(sub) > 255 or not is_storable(sub):
        raise LoginError("id_token_missing_claim", "sub is empty, too long or holds a NUL character")
    return claims


def _reason_for(exc: jwt.InvalidTokenError) -> str:
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return "id_token_missing_claim"
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "id_token_expired"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "id_token_iat_future"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "id_token_iss"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "id_token_aud"
    return "id_token_malformed"
