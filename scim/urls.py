from django.urls import re_path

from scim import views

app_name = "scim"

# RFC 7644 section 3.2 endpoints; a trailing slash is accepted as clients differ.
urlpatterns = [
    re_path(r"^$", views.not_found, name="root"),
    re_path(r"^Users/?$", views.users, name="users"),
    re_path(r"^Users/(?P<scim_id>[^/]+)/?$", views.user, name="user"),
    re_path(r"^Groups/?$", views.groups, name="groups"),
    re_path(r"^Groups/(?P<scim_id>[^/]+)/?$", views.group, name="group"),
    re_path(r"^Roles/?$", views.roles, name="roles"),
    re_path(r"^Roles/(?P<role_id>[^/]+)/?$", views.role, name="role"),
    re_path(r"^ServiceProviderConfigs?/?$", views.service_provider_config, name="service_provider_config"),
    re_path(r"^ResourceTypes/?$", views.resource_types, name="resource_types"),
    re_path(r"^ResourceTypes/(?P<name>[^/]+)/?$", views.resource_types, name="resource_type"),
    re_path(r"^Schemas/?$", views.schemas, name="schemas"),
    re_path(r"^Schemas/(?P<urn>[^/]+)/?$", views.schemas, name="schema"),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
