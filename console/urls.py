from django.urls import path

from console import domains, events, overview, people, settings
from console.roles import roles_page

app_name = "console"

urlpatterns = [
    path("", overview.overview_page, name="home"),
    path("people/", people.people_list, name="people"),
    path("people/<str:scim_id>/", people.person_page, name="person"),
    path("events/", events.events_list, name="events"),
    path("settings/", settings.settings_page, name="settings"),
    path("domains/", domains.domains_page, name="domains"),
    path("roles/", roles_page, name="roles"),
]
