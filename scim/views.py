"""/scim/v2/: the SCIM 2.0 service provider (RFC 7644) Okta's provisioning talks to, one tenant per token.

Why views of our own rather than django-scim2: its 401 has no SCIM Error body (Okta's test requires one), its auth
expects a signed-in `request.user`, it stores the row id as the SCIM id, its groups are auth.Group with integer
member ids and it answers 501 to Okta's rename and `members[value eq ...]` removal, and its POST runs no tenant hook.
Here every query starts from the tenant the token picked, so isolation is in the SQL.
"""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from accounts.models import TenantGroup, User
from inigo_sso.text import is_storable
from scim import discovery, services
from scim.errors import CONTENT_TYPE, ScimError, error_response
from scim.filters import GROUP_SCHEMA, USER_SCHEMA, parse_eq_filter
from scim.patch import apply_user_patch, operations
from scim.resources import (
    LIST_SCHEMA,
    PATCH_SCHEMA,
    UserInput,
    group_resource,
    json_object,
    user_input,
    user_resource,
)
from scim.roles import ASSIGNABLE, ROLE_SCHEMA, role_resource
from scim.tokens import tenant_for_token
from tenants.models import Tenant

MAX_BODY_BYTES = 256 * 1024  # a user, or a PATCH of some thousands of members; anything larger is 413
# /Groups only: Okta pushes groups of 50,000 people and more in one PUT or PATCH, each member {"value": <id>,
# "display": <userName>}, about 90 bytes: 4.3 MiB for 50,000; room for longer userNames.
MAX_GROUP_BODY_BYTES = 6 * 1024 * 1024
JSON_TYPES = ("application/scim+json", "application/json")  # RFC 7644 section 3.1 and 8.1: both are accepted
USER_PATCHABLE = {"username", "externalid", "name", "displayname", "emails", "active", "roles"}
USER_FILTERS = {"username", "externalid", "id"}
GROUP_FILTERS = {"displayname", "externalid", "id"}
ROLE_FILTERS = {"displayname", "id"}
ALWAYS_RETURNED = {"id", "schemas", "meta"}

Handler = Callable[..., HttpResponse]


def scim_response(body: dict[str, Any], status: int = 200, location: str | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    if location:
        response["Location"] = location
    return response


def _token(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "").strip()
    scheme, _, rest = header.partition(" ")
    # Okta's Bearer mode (RFC 6750 section 2.1; the scheme is case-insensitive, RFC 7235 section 2.1), or its
    # "HTTP Header" mode, where the header is the bare token.
    return rest.strip() if scheme.lower() == "bearer" else header


def scim_endpoint(*methods: str) -> Callable[[Handler], Handler]:
    """Authentication by token, the method check, and a SCIM Error for every failure, 401 included."""

    def decorate(handler: Handler) -> Handler:
        @csrf_exempt
        @never_cache
        @wraps(handler)
        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                tenant = tenant_for_token(_token(request))
                if tenant is None:
                    raise ScimError(401, "Missing, unknown or replaced SCIM token.")
                request.log_tenant = tenant.slug
                if request.method not in methods:
                    raise ScimError(405, f"{request.method} is not supported here.")
                return handler(request, tenant, *args, **kwargs)
            except ScimError as error:
                return error_response(error)

        return view

    return decorate


def _json_body(request: HttpRequest, limit: int = MAX_BODY_BYTES) -> dict[str, Any]:
    content_type = request.content_type.lower()
    if content_type not in JSON_TYPES:
        raise ScimError(415, "Send the body as application/scim+json or application/json.")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise ScimError(413, f"The body is larger than {limit} bytes.")
    raw = _raw_body(request, limit)
    if len(raw) > limit:
        raise ScimError(413, f"The body is larger than {limit} bytes.")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ScimError(400, "The body is not valid JSON.", "invalidSyntax") from exc
    _refuse_nul(body)
    return json_object(body)


def _raw_body(request: HttpRequest, limit: int) -> bytes:
    """At most `limit` + 1 bytes of the body. Above Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB, for every page)
    the stream is read here, up to this endpoint's own cap, rather than raising that cap for the whole site."""
    django_cap = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if django_cap is None or limit <= django_cap or hasattr(request, "_body"):
        try:
            return request.body
        except RequestDataTooBig as exc:
            raise ScimError(413, "The body is too large.") from exc
    return request.read(limit + 1)


def _refuse_nul(value: Any, depth: int = 0) -> None:
    # PostgreSQL text cannot hold NUL; refusing it here keeps it from ever reaching a query.
    if depth > 32:
        raise ScimError(400, "The body is nested too deeply.", "invalidSyntax")
    if isinstance(value, str):
        if not is_storable(value):  # NUL, or a lone surrogate (a \ud800 escape): no text column takes them
            raise ScimError(400, "The body holds a character Inigo does not accept (NUL or a lone surrogate).",
                            "invalidValue")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, depth + 1)
            _refuse_nul(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _refuse_nul(item, depth + 1)


def _user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "").replace("\x00", "")[:300]  # stored with each change


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("scim:root"))


def _query_param(request: HttpRequest, name: str) -> str | None:
    value = request.GET.get(name)
    if value is not None and "\x00" in value:
        raise ScimError(400, f"{name} holds a NUL character.", "invalidFilter" if name == "filter" else "invalidValue")
    return value


def _integer(request: HttpRequest, name: str, default: int) -> int:
    value = _query_param(request, name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ScimError(400, f"{name} must be an integer.", "invalidValue") from exc


def _paging(request: HttpRequest) -> tuple[int, int]:
    # RFC 7644 section 3.4.2.4: a startIndex below 1 is 1; a negative count is 0; the service may cap count.
    # A start far past any list is still a valid request (an empty page), but must not overflow SQL's OFFSET.
    start = min(max(_integer(request, "startIndex", 1), 1), 2**31)
    count = min(max(_integer(request, "count", discovery.MAX_RESULTS), 0), discovery.MAX_RESULTS)
    return start, count


def _names(request: HttpRequest, parameter: str, schema: str) -> set[str]:
    value = _query_param(request, parameter) or ""
    names = set()
    for item in value.split(","):
        item = item.strip()
        if item.lower().startswith(schema.lower() + ":"):
            item = item[len(schema) + 1:]
        if item:
            names.add(item.split(".")[0].lower())
    return names


def _project(request: HttpRequest, schema: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """RFC 7644 section 3.4.2.5: `attributes` and `excludedAttributes` (top-level attributes; `id` always)."""
    wanted, unwanted = _names(request, "attributes", schema), _names(request, "excludedAttributes", schema)

    def project(resource: dict[str, Any]) -> dict[str, Any]:
        if wanted:
            return {k: v for k, v in resource.items() if k.lower() in wanted or k in ALWAYS_RETURNED}
        if unwanted:
            return {k: v for k, v in resource.items() if k.lower() not in unwanted or k in ALWAYS_RETURNED}
        return resource

    return project


def _list_response(resources: list[dict[str, Any]], total: int, start: int) -> HttpResponse:
    return scim_response({"schemas": [LIST_SCHEMA], "totalResults": total, "startIndex": start,
                          "itemsPerPage": len(resources), "Resources": resources})


def _page(queryset: QuerySet[Any], start: int, count: int, unique: bool) -> tuple[list[Any], int]:
    if unique:  # at most one row matches: no COUNT query
        rows = list(queryset[:1])
        return rows[start - 1:start - 1 + count], len(rows)
    total = queryset.count()
    return (list(queryset.order_by("pk")[start - 1:start - 1 + count]) if count else []), total


# --- Users ----------------------------------------------------------------------------------------------------


@scim_endpoint("GET", "POST")
def users(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    if request.method == "POST":
        data = user_input(_json_body(request))
        user = services.scim_user_create(tenant=tenant, data=data, user_agent=_user_agent(request))
        resource = user_resource(user, request)
        return scim_response(resource, 201, location=resource["meta"]["location"])
    project = _project(request, USER_SCHEMA)
    start, count = _paging(request)
    queryset = services.scim_users(tenant)
    filter_text = _query_param(request, "filter")
    unique = False
    if filter_text:
        attribute, value = parse_eq_filter(filter_text, schema=USER_SCHEMA, attributes=USER_FILTERS)
        unique = True
        if attribute == "username":
            queryset = services.with_user_name(queryset, value)  # case-insensitive: RFC 7643 section 4.1.1
        elif attribute == "externalid":
            queryset = queryset.filter(issuer=tenant.issuer, sub=value)
        else:
            queryset = queryset.filter(scim_id=value)
    rows, total = _page(queryset, start, count, unique)
    return _list_response([project(user_resource(user, request)) for user in rows], total, start)


@scim_endpoint("GET", "PUT", "PATCH", "DELETE")
def user(request: HttpRequest, tenant: Tenant, scim_id: str) -> HttpResponse:
    if request.method == "GET":
        found = services.scim_user_get(tenant=tenant, scim_id=scim_id)
        return scim_response(_project(request, USER_SCHEMA)(user_resource(found, request)))
    agent = _user_agent(request)
    if request.method == "DELETE":
        services.scim_user_delete(tenant=tenant, scim_id=scim_id, user_agent=agent)
        return HttpResponse(status=204)
    # The body is read and checked before the service locks any row; the user is read under the lock.
    data_for = _user_data(request, _json_body(request))
    updated = services.scim_user_replace(tenant=tenant, scim_id=scim_id, data_for=data_for, user_agent=agent)
    return scim_response(user_resource(updated, request))


def _user_data(request: HttpRequest, body: dict[str, Any]) -> Callable[[User], UserInput]:
    """What a PUT or a PATCH makes of the user as they are under the lock: a PUT's body replaces them (checked here,
    before any row is locked); a PATCH's operations are applied to them (RFC 7644 section 3.5.2)."""
    if request.method == "PUT":
        data = user_input(body)
        return lambda user: data
    ops = operations(body, PATCH_SCHEMA)
    return lambda user: user_input(
        apply_user_patch(user_resource(user, request), ops, schema=USER_SCHEMA, attributes=USER_PATCHABLE)
    )


# --- Groups ---------------------------------------------------------------------------------------------------


def _groups(tenant: Tenant, with_members: bool) -> QuerySet[TenantGroup]:
    queryset = TenantGroup.objects.filter(tenant=tenant)
    if with_members:
        members = services.scim_users(tenant).only("scim_id", "scim_user_name").order_by("pk")
        queryset = queryset.prefetch_related(Prefetch("members", queryset=members, to_attr="scim_members"))
    return queryset


def _wants_members(request: HttpRequest) -> bool:
    wanted = _names(request, "attributes", GROUP_SCHEMA)
    return "members" not in _names(request, "excludedAttributes", GROUP_SCHEMA) and (not wanted or "members" in wanted)


def _group_json(group: TenantGroup, request: HttpRequest) -> dict[str, Any]:
    return group_resource(group, request, getattr(group, "scim_members", None))


@scim_endpoint("GET", "POST")
def groups(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    if request.method == "POST":
        body = _json_body(request, MAX_GROUP_BODY_BYTES)
        group = services.scim_group_create(tenant=tenant, body=body, user_agent=_user_agent(request))
        resource = _group_json(_groups(tenant, True).get(pk=group.pk), request)
        return scim_response(resource, 201, location=resource["meta"]["location"])
    project = _project(request, GROUP_SCHEMA)
    start, count = _paging(request)
    queryset = _groups(tenant, _wants_members(request))
    filter_text = _query_param(request, "filter")
    if filter_text:
        attribute, value = parse_eq_filter(filter_text, schema=GROUP_SCHEMA, attributes=GROUP_FILTERS)
        field = {"displayname": "display_name", "externalid": "external_id", "id": "scim_id"}[attribute]
        queryset = queryset.filter(**{field: value})
    rows, total = _page(queryset, start, count, unique=False)
    return _list_response([project(_group_json(group, request)) for group in rows], total, start)


@scim_endpoint("GET", "PUT", "PATCH", "DELETE")
def group(request: HttpRequest, tenant: Tenant, scim_id: str) -> HttpResponse:
    found = services.scim_group_get(tenant=tenant, scim_id=scim_id)
    agent = _user_agent(request)
    if request.method == "DELETE":
        services.scim_group_delete(tenant=tenant, group=found, user_agent=agent)
        return HttpResponse(status=204)
    if request.method == "PUT":
        body = _json_body(request, MAX_GROUP_BODY_BYTES)
        services.scim_group_replace(tenant=tenant, group=found, body=body, user_agent=agent)
    elif request.method == "PATCH":
        ops = operations(_json_body(request, MAX_GROUP_BODY_BYTES), PATCH_SCHEMA)
        services.scim_group_patch(tenant=tenant, group=found, ops=ops, user_agent=agent)
    wants_members = request.method != "GET" or _wants_members(request)
    fresh = _groups(tenant, wants_members).get(pk=found.pk)
    return scim_response(_project(request, GROUP_SCHEMA)(_group_json(fresh, request)))


# --- Roles (Okta's Entitlement Management: scim.roles) ---------------------------------------------------------


@scim_endpoint("GET")
def roles(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    """The assignable roles, as Okta reads them after /ResourceTypes: the same for every tenant."""
    start, count = _paging(request)
    found = [role_resource(value, request) for value in ASSIGNABLE]
    filter_text = _query_param(request, "filter")
    if filter_text:
        attribute, value = parse_eq_filter(filter_text, schema=ROLE_SCHEMA, attributes=ROLE_FILTERS)
        key = {"id": "id", "displayname": "displayName"}[attribute]
        found = [role for role in found if role[key].lower() == value.lower()]
    page = found[start - 1:start - 1 + count]
    return _list_response([_project(request, ROLE_SCHEMA)(role) for role in page], len(found), start)


@scim_endpoint("GET")
def role(request: HttpRequest, tenant: Tenant, role_id: str) -> HttpResponse:
    if role_id not in ASSIGNABLE:
        raise ScimError(404, f"Role {role_id[:64]} not found: the roles are {', '.join(ASSIGNABLE)}.")
    return scim_response(_project(request, ROLE_SCHEMA)(role_resource(role_id, request)))


# --- discovery (RFC 7644 section 4) ---------------------------------------------------------------------------


@scim_endpoint("GET")
def service_provider_config(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    return scim_response(discovery.service_provider_config(_base(request)))


def _one_or_list(items: list[dict[str, Any]], key: str | None, what: str) -> HttpResponse:
    if key is None:
        return _list_response(items, len(items), 1)
    for item in items:
        if item["id"] == key:
            return scim_response(item)
    raise ScimError(404, f"No {what} {key}.")


@scim_endpoint("GET")
def resource_types(request: HttpRequest, tenant: Tenant, name: str | None = None) -> HttpResponse:
    return _one_or_list(discovery.resource_types(_base(request)), name, "resource type")


@scim_endpoint("GET")
def schemas(request: HttpRequest, tenant: Tenant, urn: str | None = None) -> HttpResponse:
    return _one_or_list(discovery.schemas(_base(request)), urn, "schema")


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return error_response(ScimError(404, "No such SCIM endpoint."))
