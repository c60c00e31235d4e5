from django.contrib import admin
from django.urls import path
from mozilla_django_oidc.views import OIDCLogoutView

from accounts import views
from accounts.oidc import views as oidc_views

admin.site.site_header = "Inigo support"
admin.site.site_title = "Inigo support"
admin.site.index_title = "Customer single sign-on"
# The three lists support staff use are on the index and in the breadcrumbs; the sidebar's 300 px are the lists'.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_page, name="login"),
    path("api/me/", views.me, name="api_me"),
    path("healthz/", views.healthz, name="healthz"),
    path("oidc/initiate/", oidc_views.InitiateLoginView.as_view(), name="oidc_initiate"),
    path("oidc/initiate/<slug:slug>/", oidc_views.InitiateLoginView.as_view(), name="oidc_initiate_tenant"),
    path("oidc/authenticate/", oidc_views.AuthenticateView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc_views.CallbackView.as_view(), name="oidc_authentication_callback"),
    path("oidc/logout/", OIDCLogoutView.as_view(http_method_names=["post"]), name="oidc_logout"),
    path("admin/", admin.site.urls),
]

handler400 = "inigo_sso.errors.bad_request"
handler403 = "inigo_sso.errors.permission_denied"
handler404 = "inigo_sso.errors.page_not_found"
handler500 = "inigo_sso.errors.server_error"
