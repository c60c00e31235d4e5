"""Every entry point the fuzz suite drives, one line each. A new URL, admin page or management command is one more
line here (tests/fuzz/test_coverage.py fails while a URL has none).

Paths may name fixtures' values: {slug}, {other_slug} (a second tenant with its own Okta), {tenant_pk},
{user_pk}, {event_pk}, {setup_token}, {scim_token}, {scim_user}, {scim_group}, {scim_other} (a member of {slug}
who has signed in). `params` are the names the endpoint
reads; the suite sends them (repeated, missing, hostile, or with a known good value from `good` or the
suite's GOOD) plus stray ones. Whatever the seed, it first sends every parameter good but one, which holds NUL or "abc".
`as_` is who sends the request: anonymous, member (a person signed in through Okta a moment ago: the owner of
{slug}),
other_admin (an admin of {other_slug}, for whom {slug}'s ids are another tenant's), support (staff in the Support
group) or superuser."""

from dataclasses import dataclass
from typing import Literal

Persona = Literal["anonymous", "member", "other_admin", "support", "superuser"]
EXAMPLES = 20  # per endpoint, unless its line says otherwise


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: tuple[str, ...] = ("GET",)
    params: tuple[str, ...] = ()
    as_: Persona = "anonymous"
    examples: int = EXAMPLES
    good: tuple[tuple[str, str], ...] = ()  # known good values of this endpoint's own, e.g. its admin action
    body: Literal["form", "json"] = "form"  # json: the body's pairs as one JSON object (SCIM, Universal Logout)
    headers: tuple[tuple[str, str], ...] = ()  # sent with every request, e.g. ("Authorization", "Bearer {token}")

    def __str__(self) -> str:
        return f"{'/'.join(self.methods)} {self.path} as {self.as_}"


@dataclass(frozen=True)
class Command:
    name: str
    words: tuple[str, ...] = ()  # options and values it knows; the suite mixes them with hostile text
    examples: int = EXAMPLES

    def __str__(self) -> str:
        return self.name


SCIM = ("filter", "startIndex", "count", "schemas", "userName", "externalId", "active", "Operations", "displayName",
        "members", "emails", "name")
SCIM_ITEM = ("GET", "PUT", "PATCH", "DELETE")
CALLBACK = ("state", "code", "error", "error_description", "session_state", "iss")
INITIATE = ("iss", "login_hint", "target_link_uri")
CHANGELIST = ("q", "o", "p", "e", "all", "_changelist_filters", "action", "_selected_action", "select_across",
              "index", "post")
TENANT_FILTERS = ("is_active__exact", "slug", "id__exact")
USER_FILTERS = ("tenant__id__exact", "role__exact", "is_active__exact", "is_staff__exact")
EVENT_FILTERS = ("tenant__id__exact", "outcome__exact", "created_at__gte", "created_at__lt", "created_at__year")
CHANGE_FORM = ("_save", "_continue", "name", "slug", "okta_domain", "client_id", "client_secret", "email_domains",
               "is_active", "role", "_changelist_filters")

ENDPOINTS: list[Endpoint] = [
    # Public pages and the login flow.
    Endpoint("/", as_="member"),
    Endpoint("/"),
    Endpoint("/login/", ("GET", "POST"), ("email",)),
    Endpoint("/login/", ("GET", "POST"), ("email",), as_="member"),
    Endpoint("/api/me/"),
    Endpoint("/api/me/", as_="member"),
    Endpoint("/healthz/"),
    Endpoint("/oidc/initiate/", ("GET", "POST"), INITIATE),
    Endpoint("/oidc/initiate/{slug}/", ("GET", "POST"), INITIATE),
    Endpoint("/oidc/initiate/", ("POST",), INITIATE, body="json", examples=10),  # a JSON body is not a form
    Endpoint("/oidc/authenticate/", ("GET",), ("tenant", "next")),
    # Signed in to another organisation: the page that asks before a switch, and its form's URL.
    Endpoint("/oidc/initiate/{other_slug}/", ("GET", "POST"), INITIATE, as_="member"),
    Endpoint("/oidc/switch/{other_slug}/", ("GET", "POST"), ("login_hint", "next"), as_="member"),
    Endpoint("/oidc/switch/{slug}/", ("GET", "POST"), ("login_hint", "next")),
    Endpoint("/oidc/callback/", ("GET",), CALLBACK),
    Endpoint("/oidc/callback/", ("GET",), CALLBACK, as_="member"),
    Endpoint("/oidc/callback/{slug}/", ("GET",), CALLBACK),
    Endpoint("/oidc/callback/{slug}/", ("GET",), CALLBACK, as_="member"),
    Endpoint("/oidc/global-token-revocation/", ("POST",), ("sub_id", "subject", "format", "iss", "sub", "email"),
             body="json", headers=(("Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"),)),
    Endpoint("/oidc/global-token-revocation/", ("POST", "GET"), ("sub_id", "subject", "format", "email")),
    Endpoint("/sign-out-everywhere/", ("GET", "POST"), ()),
    Endpoint("/sign-out-everywhere/", ("GET", "POST"), (), as_="member", examples=10),
    # The customer console, as its owner and as another tenant's admin (404 for every id of the first tenant).
    *[line for persona in ("member", "other_admin") for line in (
        Endpoint("/org/", ("GET", "POST"), ("action",), as_=persona, examples=10, good=(("action", "check"),)),
        Endpoint("/org/people/", ("GET",), ("q", "role", "status", "page"), as_=persona,
                 good=(("role", "admin"), ("status", "inactive"), ("page", "2"), ("q", "ada"))),
        Endpoint("/org/people/{scim_user}/", ("GET", "POST"), ("action",), as_=persona,
                 good=(("action", "sign_out"),)),
        # Role changes and transfers, past the recent sign-in (the persona's is recent) to the services.
        Endpoint("/org/people/{scim_other}/", ("POST",), ("action", "role", "confirm"), as_=persona,
                 good=(("action", "role"), ("action", "transfer"), ("role", "admin"), ("role", "member"),
                       ("confirm", "yes"))),
        Endpoint("/org/domains/", ("GET", "POST"), ("action", "domain"), as_=persona,
                 good=(("action", "add"), ("action", "verify"), ("action", "remove"), ("domain", "acme.test"),
                       ("domain", "acme.com"))),
        # New credentials (through the checks, to the persona's Okta) and a new SCIM token, past the recent sign-in.
        Endpoint("/org/settings/", ("GET", "POST"), ("action", "client_id", "client_secret", "replaces"), as_=persona,
                 good=(("action", "credentials"), ("action", "scim_token"), ("client_id", "inigo-acme"),
                       ("replaces", "none"))),
        Endpoint("/org/events/", ("GET",), ("q", "kind", "outcome", "before"), as_=persona,
                 good=(("kind", "console"), ("outcome", "failure"), ("before", "1765000000000000.1.1"))),
        # Where roles come from and the group mapping: previews (GET) and changes (POST), past the recent sign-in.
        Endpoint("/org/roles/", ("GET", "POST"), ("action", "role_source", "group", "role"), as_=persona,
                 good=(("action", "role_source"), ("action", "group_role"), ("role_source", "okta"),
                       ("role_source", "inigo"), ("group", "{scim_group}"), ("role", "admin"), ("role", ""))),
    )],
    Endpoint("/setup/{setup_token}/", ("GET", "POST"), ("okta_domain", "client_id", "client_secret")),
    Endpoint("/setup/not-a-token/", ("GET", "POST"), ("okta_domain", "client_id", "client_secret"), examples=10),
    # Okta's provisioning (SCIM 2.0): with the tenant's token, and with none.
    *(Endpoint(path, methods, SCIM, body="json", headers=(("Authorization", "Bearer {scim_token}"),),
               examples=10)
      for path, methods in (("/scim/v2/Users", ("GET", "POST")), ("/scim/v2/Users/{scim_user}", SCIM_ITEM),
                            ("/scim/v2/Groups", ("GET", "POST")), ("/scim/v2/Groups/{scim_group}", SCIM_ITEM),
                            ("/scim/v2/", ("GET",)), ("/scim/v2/ServiceProviderConfig", ("GET",)),
                            ("/scim/v2/ResourceTypes", ("GET",)), ("/scim/v2/ResourceTypes/User", ("GET",)),
                            ("/scim/v2/Schemas", ("GET",)),
                            ("/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", ("GET",)),
                            # Okta's entitlements: read-only, so every other method is hostile input too.
                            ("/scim/v2/Roles", ("GET", "POST")), ("/scim/v2/Roles/admin", SCIM_ITEM))),
    Endpoint("/scim/v2/Users", ("GET", "POST"), SCIM, body="json", examples=10),
    Endpoint("/oidc/logout/", ("GET", "POST"), ("next",)),
    Endpoint("/oidc/logout/", ("GET", "POST"), ("next",), as_="member"),
    Endpoint("/admin/login/", ("GET", "POST"), ("username", "password", "next"), examples=20),
    # The admin, as support staff and as a superuser: changelists with their filters and actions, change pages.
    *[line for persona in ("support", "superuser") for line in (
        Endpoint("/admin/", as_=persona, examples=10),
        Endpoint("/admin/tenants/tenant/", ("GET", "POST"), CHANGELIST + TENANT_FILTERS, as_=persona,
                 good=(("action", "check_connection"), ("_selected_action", "{tenant_pk}"))),
        Endpoint("/admin/tenants/tenant/add/", ("GET", "POST"), CHANGE_FORM, as_=persona, examples=15),
        Endpoint("/admin/tenants/tenant/{tenant_pk}/change/", ("GET", "POST"), CHANGE_FORM, as_=persona,
                 examples=15),
        Endpoint("/admin/tenants/tenant/{tenant_pk}/check-connection/", ("POST",), (), as_=persona, examples=5),
        Endpoint("/admin/tenants/tenant/{tenant_pk}/history/", as_=persona, examples=5),
        Endpoint("/admin/accounts/user/", ("GET", "POST"), CHANGELIST + USER_FILTERS, as_=persona,
                 good=(("action", "transfer_ownership"), ("_selected_action", "{user_pk}"))),
        Endpoint("/admin/accounts/user/{user_pk}/change/", ("GET", "POST"), CHANGE_FORM, as_=persona,
                 examples=15),
        Endpoint("/admin/accounts/loginevent/", ("GET", "POST"), CHANGELIST + EVENT_FILTERS, as_=persona,
                 good=(("action", "delete_selected"), ("_selected_action", "{event_pk}"))),
        Endpoint("/admin/accounts/loginevent/{event_pk}/change/", as_=persona, examples=5),
        Endpoint("/admin/auth/group/", ("GET", "POST"), CHANGELIST, as_=persona, examples=15,
                 good=(("action", "delete_selected"),)),
        Endpoint("/admin/axes/accessattempt/", ("GET", "POST"), CHANGELIST, as_=persona, examples=15,
                 good=(("action", "delete_selected"),)),
        Endpoint("/admin/axes/accesslog/", ("GET", "POST"), CHANGELIST, as_=persona, examples=10),
        Endpoint("/admin/axes/accessfailurelog/", ("GET", "POST"), CHANGELIST, as_=persona, examples=10),
        Endpoint("/admin/scim/provisioningevent/", ("GET", "POST"), (*CHANGELIST, "tenant__id__exact"),
                 as_=persona, examples=10),
        Endpoint("/admin/tenants/tenant/{tenant_pk}/scim-token/", ("POST",), (), as_=persona, examples=5),
        Endpoint("/admin/tenants/tenant/{tenant_pk}/setup-link/", ("POST",), (), as_=persona, examples=5),
        Endpoint("/admin/tenants/tenantemaildomain/", ("GET", "POST"),
                 (*CHANGELIST, "tenant__id__exact", "state__exact", "entered_by_staff__exact"), as_=persona,
                 examples=10, good=(("action", "remove"),)),
    )],
]

COMMANDS: list[Command] = [
    Command("add_tenant", ("acme2", "--name", "--okta-domain", "--client-id", "--email-domain", "--inactive",
                           "acme.okta.com", "inigo-client")),
    Command("check_tenant", ("acme", "--traceback")),
    Command("prune_login_events", ("--days", "0", "1", "90", "-1")),
    Command("reencrypt_secrets", (), examples=5),
    Command("ensure_demo_tenant", ("--issuer", "http://127.0.0.1:9400"), examples=10),
    Command("failures_table", ("--check", "--write"), examples=10),
    Command("clearsessions", (), examples=3),
    Command("scim_token", ("acme", "nobody", "--traceback"), examples=10),
    Command("setup_link", ("acme", "newco", "--name", "--days", "0", "7", "-1", "99999"), examples=15),
]
