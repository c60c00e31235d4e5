from django.urls import path

from console import access, domains, events, people
from console.roles import roles_page

app_name = "console"

urlpatterns = [
    path("", access.console_home, name="home"),
    path("people/", people.people_list, name="people"),
    path("people/<str:scim_id>/", people.person_page, name="person"),
    path("events/", events.events_list, name="events"),
    path("domains/", domains.domains_page, name="domains"),
    path("roles/", roles_page, name="roles"),
]
