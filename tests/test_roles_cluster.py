"""Roles from Okta on two app servers: Okta's push lands on one, the person's next request on the other already has
the new role (every request reads the person with their role), and the owner stays owner throughout. Needs
PostgreSQL and a redis-server binary, as tests/test_multiprocess.py."""

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from faults.cluster import HOST
from tests.conftest import profile
from tests.oidc_provider import ProviderHarness
from tests.scim_helpers import GROUP_SCHEMA, PATCH_SCHEMA
from tests.test_multiprocess import Cluster, running_cluster

DATABASE = f"inigo_roles_cluster_test_{os.getpid()}"


@pytest.fixture(scope="module")
def cluster(_acme_provider: ProviderHarness) -> Iterator[Cluster]:
    with running_cluster(_acme_provider, DATABASE) as running:
        yield running


def django_shell(cluster: Cluster, code: str) -> str:
    """Run `code` (acme in hand) against the servers' database; the last line it printed."""
    done = cluster.manage("shell", "-c", f"from tenants.models import Tenant; acme = Tenant.objects.get(slug='acme')\n"
                                         f"{code}").strip()
    return done.splitlines()[-1] if done else ""


def scim(cluster: Cluster, server: int, method: str, path: str, token: str, body: Any = None) -> requests.Response:
    return requests.request(
        method, f"http://127.0.0.1:{cluster.ports[server]}/scim/v2{path}", data=json.dumps(body) if body else None,
        headers={"Host": HOST, "Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
        timeout=600,
    )


def role_of(cluster: Cluster, server: int, browser: requests.Session) -> str:
    return cluster.get(server, "/api/me/", browser).json()["role"]


@pytest.fixture(scope="module")
def okta_token(cluster: Cluster) -> str:
    return django_shell(cluster, "from scim.tokens import scim_token_issue; print(scim_token_issue(tenant=acme))")


def test_a_pushed_group_mapped_to_admin_makes_admins_at_their_next_request_on_another_server(cluster, okta_token):
    cluster.provider.reset()
    for sub in ("ada", "grace"):
        cluster.provider.set_user(sub, profile(sub, preferred_username=f"{sub}@acme.test"))
    ada = cluster.login("ada", start=0, finish=0)
    grace = cluster.login("grace", start=1, finish=1)
    django_shell(cluster, "from accounts.events import EventKind; from accounts.roles import Reason, "
                          "role_source_change; role_source_change(tenant=acme, role_source='okta', "
                          "reason=Reason(EventKind.CONSOLE, 'test'))")
    grace_id = scim(cluster, 0, "GET", '/Users?filter=userName eq "grace@acme.test"', okta_token).json()
    grace_id = grace_id["Resources"][0]["id"]
    group = scim(cluster, 0, "POST", "/Groups", okta_token, {"schemas": [GROUP_SCHEMA], "displayName": "IT-Admins"})
    group_id = group.json()["id"]
    django_shell(cluster, "from accounts.events import EventKind; from accounts.models import TenantGroup; "
                          "from accounts.roles import Reason, group_role_change; "
                          f"group_role_change(group=TenantGroup.objects.get(scim_id='{group_id}'), role='admin', "
                          "reason=Reason(EventKind.CONSOLE, 'test'))")
    assert role_of(cluster, 1, grace) == "member"

    add = {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "replace", "value": {"id": group_id, "displayName": "IT-Admins"}},
        {"op": "add", "path": "members", "value": [{"value": grace_id, "display": "grace@acme.test"}]}]}
    assert scim(cluster, 0, "PATCH", f"/Groups/{group_id}", okta_token, add).status_code == 200

    assert role_of(cluster, 1, grace) == "admin"  # her next request, on the other server, without signing in again
    assert role_of(cluster, 1, ada) == "owner"

    remove = {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "replace", "value": {"id": group_id, "displayName": "IT-Admins"}},
        {"op": "remove", "path": f'members[value eq "{grace_id}"]'}]}
    assert scim(cluster, 0, "PATCH", f"/Groups/{group_id}", okta_token, remove).status_code == 200

    assert role_of(cluster, 1, grace) == "member"
    assert role_of(cluster, 0, ada) == "owner"
