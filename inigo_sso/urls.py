from django.contrib import admin
from django.urls import include, path

from accounts import universal_logout, views
from accounts.oidc import views as oidc_views
from accounts.oidc.logout import SignOutView
from onboarding import views as onboarding_views

admin.site.site_header = "Inigo support"
admin.site.site_title = "Inigo support"
admin.site.index_title = "Customer single sign-on"
# The three lists support staff use are on the index and in the breadcrumbs; the sidebar's 300 px are the lists'.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("org/", include("console.urls")),
    path("login/", views.login_page, name="login"),
    path("api/me/", views.me, name="api_me"),
    path("healthz/", views.healthz, name="healthz"),
    path("oidc/initiate/", oidc_views.InitiateLoginView.as_view(), name="oidc_initiate"),
    path("oidc/initiate/<slug:slug>/", oidc_views.InitiateLoginView.as_view(), name="oidc_initiate_tenant"),
    path("oidc/authenticate/", oidc_views.AuthenticateView.as_view(), name="oidc_authentication_init"),
    path("oidc/switch/<slug:slug>/", oidc_views.SwitchView.as_view(), name="oidc_switch"),
    path("oidc/callback/<slug:slug>/", oidc_views.CallbackView.as_view(), name="oidc_authentication_callback"),
    path("oidc/callback/", oidc_views.LegacyCallbackView.as_view(), name="oidc_callback_legacy"),
    path("oidc/logout/", SignOutView.as_view(), name="oidc_logout"),
    path(
        "oidc/global-token-revocation/", universal_logout.global_token_revocation,
        name="oidc_global_token_revocation",
    ),
    path("setup/<str:token>/", onboarding_views.setup_page, name="setup_page"),
    path("admin/", admin.site.urls),
    path("scim/v2/", include("scim.urls")),
]

handler400 = "inigo_sso.errors.bad_request"
handler403 = "inigo_sso.errors.permission_denied"
handler404 = "inigo_sso.errors.page_not_found"
# An unreachable database is a 503 (inigo_sso.database_down), any other uncaught error the 500 page.
handler500 = "inigo_sso.database_down.server_error"
