from django.urls import path

from console import access, people
from console.roles import roles_page

app_name = "console"

urlpatterns = [
    path("", access.console_home, name="home"),
    path("people/", people.people_list, name="people"),
    path("people/<str:scim_id>/", people.person_page, name="person"),
    path("roles/", roles_page, name="roles"),
]
