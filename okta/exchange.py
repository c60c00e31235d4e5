"""The token request of the authorization-code flow (RFC 6749 section 4.1.3), authenticated as the provider's
discovery document allows."""

from typing import Any

from requests.auth import HTTPBasicAuth

from inigo_sso.failures import LoginError
from okta import breaker, http, provider
from okta.provider import ProviderMetadata


def token_request(
    metadata: ProviderMetadata, *, client_id: str, client_secret: str, form: dict[str, str],
    reading: breaker.Reading | None = None,
) -> dict[str, Any]:
    """POST the form to the token endpoint with the client's credentials; the token response as a dict. `reading`:
    the issuer's breaker as the callback read it (okta.provider.login_documents).

    The credentials go in an HTTP Basic header when the provider offers client_secret_basic (OIDC Discovery 1.0
    section 3: the default when it names none), else in the form (client_secret_post)."""
    form = dict(form)
    auth = None
    if metadata.uses_client_secret_basic:
        auth = HTTPBasicAuth(client_id, client_secret)
    else:
        form.update(client_id=client_id, client_secret=client_secret)
    with provider.guarded(metadata.issuer, "token", reading=reading):
        response = http.send("POST", metadata.token_endpoint, data=form, auth=auth)
    if response.status_code != 200:
        error = oauth_error(response)
        # RFC 6749 section 5.2: invalid_client means our credentials; anything else concerns the code.
        reason = "client_rejected" if error == "invalid_client" or response.status_code == 401 else (
            "token_rejected" if response.status_code < 500 else "provider_bad_response"
        )
        raise LoginError(reason, f"token endpoint answered HTTP {response.status_code} {error[:60]}".strip())
    token_info = http.parse_json(response, metadata.token_endpoint)
    if not isinstance(token_info, dict):
        raise LoginError("provider_bad_response", "the token response is not a JSON object")
    return token_info


def oauth_error(response: Any) -> str:
    """The `error` code of an OAuth error response (RFC 6749 section 5.2), '' when there is none."""
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else ""
