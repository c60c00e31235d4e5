"""A SCIM client as Okta's provisioning is one: its User-Agent, its content type, a tenant's token."""

import json
from typing import Any

from django.test import Client

from scim.tokens import scim_token_issue
from tenants.models import Tenant

OKTA_AGENT = "Okta SCIM Client 1.0.0"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
BASE = "/scim/v2"


class Scim:
    def __init__(self, client: Client, token: str, *, bearer: bool = True) -> None:
        self.client = client
        self.authorization = f"Bearer {token}" if bearer else token

    def headers(self, content_type: str = "application/scim+json") -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": self.authorization, "HTTP_USER_AGENT": OKTA_AGENT,
                "HTTP_ACCEPT": "application/scim+json"}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(BASE + path, params or {}, **self.headers())

    def send(self, method: str, path: str, body: Any = None, *, content_type: str = "application/scim+json",
             raw: bytes | str | None = None) -> Any:
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        return getattr(self.client, method)(BASE + path, data, content_type=content_type, **self.headers())

    def post(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.send("post", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.send("put", path, body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.send("patch", path, body, **kwargs)

    def delete(self, path: str) -> Any:
        return self.client.delete(BASE + path, **self.headers())


def scim_for(tenant: Tenant, *, bearer: bool = True) -> Scim:
    return Scim(Client(), scim_token_issue(tenant=tenant), bearer=bearer)


def okta_user(user_name: str, *, external_id: str | None = "00u1abcd2EFGH3ijk4x7", given: str = "Ada",
              family: str = "Lovelace") -> dict[str, Any]:
    """The body of Okta's POST /Users on assignment, as Okta's developer docs show it."""
    body: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} {family}",
        "locale": "en-US",
        "groups": [],
        "password": "1mz050nq-Okta-Pa55word",
        "active": True,
    }
    if external_id is not None:
        body["externalId"] = external_id
    return body


def deactivate() -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": False}}]}


def reactivate() -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": True}}]}


def assert_scim_error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    assert isinstance(body["detail"], str) and body["detail"]
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body
