"""Bad input to /scim/v2/: each a 4xx SCIM Error, nothing written, never a 5xx."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import TenantGroup, User
from scim.models import ProvisioningEvent
from tests.scim_helpers import GROUP_SCHEMA, PATCH_SCHEMA, assert_scim_error, okta_user, scim_for


@pytest.fixture
def okta(acme):
    return scim_for(acme)


def snapshot():
    return (list(User.objects.order_by("pk").values()), list(TenantGroup.objects.values()),
            ProvisioningEvent.objects.count())


BAD_BODIES = [
    ("malformed JSON", '{"userName": ', 400, "invalidSyntax"),
    ("not an object", "[1, 2]", 400, "invalidSyntax"),
    ("not UTF-8", b"\xff\xfe{}", 400, "invalidSyntax"),
    ("userName a number", json.dumps({**okta_user("a@acme.test"), "userName": 5}), 400, "invalidValue"),
    ("userName missing", json.dumps({"schemas": [], "name": {}}), 400, "invalidValue"),
    ("name a string", json.dumps({**okta_user("a@acme.test"), "name": "Ada"}), 400, "invalidValue"),
    ("emails an object", json.dumps({**okta_user("a@acme.test"), "emails": {"value": "a@b.c"}}), 400, "invalidValue"),
    ("email not an address", json.dumps({**okta_user("a@acme.test"), "emails": [{"value": "nope"}]}), 400,
     "invalidValue"),
    ("active a number", json.dumps({**okta_user("a@acme.test"), "active": 1}), 400, "invalidValue"),
    ("NUL byte", json.dumps({**okta_user("a@acme.test"), "displayName": "A\u0000B"}), 400, "invalidValue"),
    ("NUL in a key", json.dumps({**okta_user("a@acme.test"), "x\u0000": 1}), 400, "invalidValue"),
    ("userName too long", json.dumps(okta_user("a" * 300 + "@acme.test")), 400, "invalidValue"),
    ("deeply nested", "[" * 5000 + "]" * 5000, 400, "invalidSyntax"),
    ("oversized", json.dumps({**okta_user("a@acme.test"), "pad": "x" * 300_000}), 413, None),
]


@pytest.mark.parametrize(("raw", "status", "scim_type"), [case[1:] for case in BAD_BODIES],
                         ids=[case[0] for case in BAD_BODIES])
def test_a_bad_post_is_a_scim_error_and_writes_nothing(okta, raw, status, scim_type):
    before = snapshot()
    assert_scim_error(okta.post("/Users", None, raw=raw), status, scim_type)
    assert snapshot() == before


def test_a_bad_content_type_is_415(okta):
    assert_scim_error(okta.post("/Users", okta_user("a@acme.test"), content_type="text/plain"), 415)
    assert not User.objects.exists()


@pytest.mark.parametrize("filter_text", [
    'emails.value eq "a@acme.test"',  # an attribute we do not filter on
    'password eq "x"',
    'userName co "a"',  # an operator we do not support
    'userName eq "a" and active eq true',
    'userName eq a@acme.test',  # a value that is not a JSON string
    'userName eq "unterminated',
    '(userName eq "a")',
    'userName eq "\\u0000"',
    'userName eq "\\ud800"',  # a lone surrogate: no database text takes it
    'externalId eq "a\\udfffb"',
    "x" * 2000,
])
def test_a_bad_filter_is_400_invalid_filter(okta, filter_text):
    assert_scim_error(okta.get("/Users", {"filter": filter_text}), 400, "invalidFilter")


def test_a_lone_surrogate_in_a_body_is_a_scim_error_and_writes_nothing(okta):
    before = User.objects.count()
    assert_scim_error(okta.post("/Users", okta_user("a\ud800b@acme.test")), 400, "invalidValue")
    assert User.objects.count() == before


def test_a_raw_nul_anywhere_is_refused_at_the_door_as_a_scim_error(okta):
    # inigo_sso.middleware answers before any view reads the request; under /scim/ in SCIM's own error shape.
    assert_scim_error(okta.get("/Users", {"filter": "userName eq \"a\u0000\""}), 400, "invalidValue")
    assert_scim_error(okta.get("/Users/%00"), 400, "invalidValue")


@pytest.mark.parametrize("params", [{"startIndex": "one"}, {"count": "1.5"}, {"count": "\x00"}])
def test_bad_paging_is_400(okta, params):
    assert_scim_error(okta.get("/Users", params), 400, "invalidValue")


BAD_PATCHES = [
    {"Operations": [{"op": "replace", "value": {"active": False}}]},  # no schemas
    {"schemas": [PATCH_SCHEMA], "Operations": []},
    {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "move", "value": {}}]},
    {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": "maybe"}}]},
    {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": "inactive"}]},
    {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "path": "password", "value": "x"}]},
    {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "remove"}]},
    {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "remove", "path": "userName"}]},
    {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "path": 7, "value": 1}]},
    {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": False}}, "x"]},
]


@pytest.mark.parametrize("body", BAD_PATCHES)
def test_a_bad_user_patch_is_400_and_writes_nothing(okta, body):
    ada = okta.post("/Users", okta_user("ada@acme.test")).json()
    before = snapshot()
    assert_scim_error(okta.patch(f"/Users/{ada['id']}", body), 400)
    assert snapshot() == before


def test_a_bad_group_patch_is_400_and_writes_nothing(okta):
    group = okta.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "G"}).json()
    before = snapshot()
    for ops in (
        [{"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}],
        [{"op": "add", "path": "members", "value": "ada"}],
        [{"op": "replace", "path": "displayName", "value": 5}],
        [{"op": "add", "path": 'members[value eq "x"]', "value": [{"value": "x"}]}],
        [{"op": "replace", "path": "owner", "value": "x"}],
    ):
        response = okta.patch(f"/Groups/{group['id']}", {"schemas": [PATCH_SCHEMA], "Operations": ops})
        assert_scim_error(response, 400)
    assert snapshot() == before


def test_unknown_paths_and_methods_are_scim_errors(okta):
    assert_scim_error(okta.get("/Nope"), 404)
    assert_scim_error(okta.send("put", "/Users", {}), 405)
    assert_scim_error(okta.get("/Users/\u00e9\u00e9"), 404)
    assert_scim_error(okta.get("/Users/" + "x" * 5000), 404)
    for path in ("/Users/%00", "/Groups/a%00b", "/Schemas/%00", "/ResourceTypes/%00"):
        assert_scim_error(okta.get(path), 400)  # NUL: refused at the door (inigo_sso.middleware)
    assert_scim_error(okta.patch("/Users/%00", {"schemas": [PATCH_SCHEMA], "Operations": []}), 400)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["userName", "name", "givenName", "emails", "value", "primary", "active", "op", "path",
                         "Operations", "schemas", "members", "displayName", "externalId", "x"]), children,
        max_size=5),
    max_leaves=20,
)


@given(body=json_values, method=st.sampled_from(["post", "put", "patch"]),
       target=st.sampled_from(["/Users", "/Users/ID", "/Groups", "/Groups/GID"]))
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_fuzzed_bodies_never_get_a_5xx(okta, body, method, target):
    if not hasattr(okta, "ids"):
        okta.ids = (okta.post("/Users", okta_user("fuzz@acme.test")).json()["id"],
                    okta.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "F"}).json()["id"])
    path = target.replace("GID", okta.ids[1]).replace("ID", okta.ids[0])
    response = okta.send(method, path, body)
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert_scim_error(response, response.status_code)


@given(filter_text=st.text(max_size=60), start=st.text(max_size=5), count=st.text(max_size=5))
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_fuzzed_queries_never_get_a_5xx(okta, filter_text, start, count):
    for path in ("/Users", "/Groups"):
        response = okta.get(path, {"filter": filter_text, "startIndex": start, "count": count})
        assert response.status_code in (200, 400), response.content[:300]


def test_a_nul_in_the_user_agent_is_not_stored(okta, acme):
    response = okta.client.post("/scim/v2/Users", json.dumps(okta_user("a@acme.test")),
                                content_type="application/scim+json", HTTP_AUTHORIZATION=okta.authorization,
                                HTTP_USER_AGENT="Okta\x00 SCIM")
    assert response.status_code == 201
    assert ProvisioningEvent.objects.filter(tenant=acme, action="user_created").get().user_agent == "Okta SCIM"
