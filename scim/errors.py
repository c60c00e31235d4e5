"""SCIM errors (RFC 7644 section 3.12): every failure of the SCIM service answers this JSON, 401 included (Okta's
SCIM test requires it), with `scimType` where the RFC names one."""

import json

from django.http import HttpResponse

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
CONTENT_TYPE = "application/scim+json"


class ScimError(Exception):
    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidValue")


def not_found(detail: str = "No such resource.") -> ScimError:
    return ScimError(404, detail)


def error_response(error: ScimError) -> HttpResponse:
    body: dict[str, object] = {"schemas": [ERROR_SCHEMA], "status": str(error.status), "detail": error.detail}
    if error.scim_type:
        body["scimType"] = error.scim_type
    response = HttpResponse(json.dumps(body), status=error.status, content_type=CONTENT_TYPE)
    if error.status == 401:
        # RFC 6750 section 3: the scheme Okta's "Bearer" mode uses (its "HTTP Header" mode sends the bare token).
        response["WWW-Authenticate"] = 'Bearer realm="scim"'
    return response
