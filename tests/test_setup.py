"""Customer self-service setup: support makes a one-time link, the customer's Okta administrator enters the Okta
domain, Client ID and Client Secret, Inigo proves them with the in-process provider (a client registered with a
secret of its own), and the first person to sign in becomes the owner."""

import io
import logging
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import LoginEvent, Role, User
from tenants.models import SetupLink, Tenant
from tenants.setup import setup_link_create, tenant_awaiting_create, token_digest
from tests.conftest import Browser, profile
from tests.oidc_provider import ProviderHarness

ORIGIN = "http://testserver"


def redirect_uri(slug: str) -> str:
    return f"{ORIGIN}/oidc/callback/{slug}/"


def link_of(output: str) -> str:
    return output.strip().splitlines()[-1]


def token_of(link: str) -> str:
    match = re.search(r"/setup/([^/]+)/$", link)
    assert match, link
    return match.group(1)


def new_link(slug: str = "newco", name: str = "NewCo", *extra: str) -> str:
    out = io.StringIO()
    call_command("setup_link", slug, "--name", name, *extra, stdout=out)
    return link_of(out.getvalue())


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def registered(db: None, provider: ProviderHarness) -> tuple[str, str]:
    """NewCo's Inigo app in the provider: a client with its own secret and NewCo's redirect URI."""
    return provider.register_client([redirect_uri("newco")])


def setup_post(client: Client, link: str, **values: str):
    return client.post(link, values)


# --- setup_link ---------------------------------------------------------------------------------------------------
def test_setup_link_creates_a_tenant_awaiting_setup_and_prints_the_path_last(db):
    link = new_link()

    tenant = Tenant.objects.get(slug="newco")
    assert (tenant.name, tenant.okta_domain, tenant.client_id, tenant.issuer) == ("NewCo", "", "", "")
    assert not tenant.is_active and tenant.is_awaiting_setup
    assert re.fullmatch(r"/setup/[A-Za-z0-9_-]{43}/", link)
    stored = SetupLink.objects.get(tenant=tenant)
    assert stored.token_digest == token_digest(token_of(link)) != token_of(link)
    assert timedelta(days=7) - (stored.expires_at - stored.created_at) < timedelta(seconds=1)
    assert stored.used_at is None
    assert LoginEvent.objects.get().reason == "setup_link_created"


@override_settings(SSO_PUBLIC_URL="https://sso.inigo.example")
def test_setup_link_prints_an_absolute_link_with_sso_public_url_and_takes_days(db):
    link = new_link("newco", "NewCo", "--days", "2")

    assert link.startswith("https://sso.inigo.example/setup/")
    stored = SetupLink.objects.get()
    assert timedelta(days=2) - (stored.expires_at - stored.created_at) < timedelta(seconds=1)


def test_setup_link_needs_a_name_for_a_new_tenant(db):
    with pytest.raises(CommandError, match="give its name"):
        call_command("setup_link", "newco", stdout=io.StringIO())
    assert not Tenant.objects.exists()


def test_a_new_link_replaces_the_old_one(client, db):
    old = new_link()
    new = link_of_existing("newco")

    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert SetupLink.objects.count() == 1


def link_of_existing(slug: str) -> str:
    out = io.StringIO()
    call_command("setup_link", slug, stdout=out)
    return link_of(out.getvalue())


# --- tenants awaiting setup -----------------------------------------------------------------------------------
def test_several_tenants_may_await_setup_but_none_of_them_active(db):
    tenant_awaiting_create(slug="one", name="One")
    tenant_awaiting_create(slug="two", name="Two")

    with pytest.raises(IntegrityError), transaction.atomic():
        Tenant.objects.filter(slug="one").update(is_active=True)
    with pytest.raises(IntegrityError), transaction.atomic():  # half a setup is no setup
        Tenant.objects.filter(slug="two").update(client_id="only-an-id")


@pytest.mark.parametrize(("path", "params", "method"), [
    ("/oidc/initiate/newco/", {}, "get"),
    ("/oidc/initiate/newco/", {"iss": "https://newco.okta.com"}, "get"),
    ("/oidc/authenticate/", {"tenant": "newco"}, "get"),
    ("/login/", {"email": "jane@newco.test"}, "post"),
])
def test_every_sign_in_path_says_an_awaiting_tenant_is_not_set_up_yet(client, db, path, params, method):
    tenant = tenant_awaiting_create(slug="newco", name="NewCo")
    Tenant.objects.filter(pk=tenant.pk).update(email_domains="newco.test")
    tenant.refresh_from_db()
    tenant.save()  # the email domain index

    response = getattr(client, method)(path, params)

    assert response.status_code == 403
    assert "Location" not in response
    assert "Sign-in is not set up yet for your organisation" in text(response)
    assert LoginEvent.objects.get().reason == "tenant_awaiting_setup"


def test_support_can_add_a_tenant_awaiting_setup_with_name_and_slug_only(db):
    from tests.test_admin_tenants import support_client

    support = support_client()
    response = support.post("/admin/tenants/tenant/add/", {
        "name": "NewCo", "slug": "newco", "is_active": "on", "okta_domain": "", "client_id": "", "client_secret": "",
        "email_domains": "", "post_logout_redirect_uri": "",
        "users-TOTAL_FORMS": "0", "users-INITIAL_FORMS": "0", "users-MIN_NUM_FORMS": "0", "users-MAX_NUM_FORMS": "0",
    })

    assert response.status_code == 302, text(response)[:3000]
    tenant = Tenant.objects.get(slug="newco")
    assert tenant.is_awaiting_setup and not tenant.is_active


def test_support_creates_a_setup_link_on_the_tenant_page_shown_once(db, provider, acme):
    from tests.test_admin_tenants import change_url, support_client

    support = support_client()
    page = text(support.get(change_url(acme)))
    assert "Create setup link" in page and "No setup link yet." in page

    response = support.post(f"/admin/tenants/tenant/{acme.pk}/setup-link/")

    shown = text(response)
    [token] = re.findall(r"http://testserver/setup/([A-Za-z0-9_-]{43})/", shown)
    assert 'data-copy="setup-link"' in shown and "Expires:" in shown and "not yet (single use)" in shown
    assert "no-store" in response["Cache-Control"]
    assert SetupLink.objects.get().token_digest == token_digest(token)
    later = text(support.get(change_url(acme)))
    assert token not in later and "not used yet, expires" in later
    assert support.get(f"/admin/tenants/tenant/{acme.pk}/setup-link/").status_code == 405


# --- the setup page: the whole path -------------------------------------------------------------------------------
def test_the_page_shows_the_values_for_the_okta_app(client, db):
    link = new_link()

    response = client.get(link)

    page = text(response)
    assert response.status_code == 200
    assert "Set up single sign-on for NewCo" in page
    for value in ("newco", redirect_uri("newco"), f"{ORIGIN}/oidc/initiate/newco/", f"{ORIGIN}/login/",
                  f"{ORIGIN}/oidc/global-token-revocation/", "openid email profile", "Authorization Code"):
        assert f">{value}</code>" in page, value
    assert response["Referrer-Policy"] == "strict-origin"  # the path (the token) is never a Referer
    assert "noindex" in response["X-Robots-Tag"] and '<meta name="robots" content="noindex, nofollow">' in page
    assert "no-store" in response["Cache-Control"]
    assert re.findall(r'(?:src|href)="(https?:)?//', page) == []  # nothing from another site
    assert '<script src="/static/js/copy.js" defer></script>' in page


def test_from_setup_link_to_the_owners_home_page(client, browser: Browser, provider: ProviderHarness, registered):
    client_id, secret = registered
    link = new_link()

    refused = setup_post(client, link, okta_domain=provider.issuer, client_id=client_id, client_secret="wrong-secret")

    page = text(refused)
    assert refused.status_code == 400
    assert "Okta refused the Client ID or Client Secret" in page
    assert "Nothing was saved: Okta did not accept these credentials." in page
    assert "wrong-secret" not in page
    tenant = Tenant.objects.get(slug="newco")
    assert tenant.is_awaiting_setup and not tenant.is_active and not tenant.client_secret
    assert SetupLink.objects.get().used_at is None
    assert provider.token_requests[-1].form["redirect_uri"] == redirect_uri("newco")
    assert provider.token_requests[-1].form["code_verifier"]

    done = setup_post(client, link, okta_domain=provider.issuer, client_id=client_id, client_secret=secret)

    page = text(done)
    assert done.status_code == 200, page[:2000]
    assert "Single sign-on is set up for NewCo" in page and secret not in page
    assert 'href="/oidc/authenticate/?tenant=newco">Sign in to finish</a>' in page
    assert "Turn on provisioning from Okta" in page  # a first setup offers a SCIM token (tested below)
    tenant.refresh_from_db()
    assert (tenant.issuer, tenant.client_id, tenant.client_secret, tenant.is_active) == (
        provider.issuer, client_id, secret, True)
    assert SetupLink.objects.get().used_at is not None
    used = client.get(link)
    # Used up by this success: the page sends whoever opens it again on to sign in, not to support.
    assert used.status_code == 410 and "This organisation is set up: sign in" in text(used)
    assert 'href="/oidc/authenticate/?tenant=newco">Sign in to NewCo</a>' in text(used)
    assert "Ask Inigo support for a new setup link" not in text(used)
    assert setup_post(client, link, okta_domain=provider.issuer, client_id=client_id,
                      client_secret=secret).status_code == 410

    signed_in = browser.login(provider, "ada", claims=profile("ada", "newco.test"), path="/oidc/authenticate/",
                              params={"tenant": "newco"})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and "NewCo" in text(home)
    assert User.objects.get(sub="ada").role == Role.OWNER
    assert [event.reason for event in LoginEvent.objects.order_by("created_at", "pk")] == [
        "setup_link_created", "setup_checks_failed", "setup_completed", "ok"]
    assert LoginEvent.objects.get(reason="setup_checks_failed").detail == "failed checks: credentials"


# --- rotation on a working tenant ---------------------------------------------------------------------------------
@pytest.fixture
def working(provider: ProviderHarness, db) -> Tenant:
    client_id, secret = provider.register_client([redirect_uri("acme")])
    return Tenant.objects.create(name="Acme", slug="acme", okta_domain=provider.issuer, client_id=client_id,
                                 client_secret=secret, email_domains="acme.test")


def sign_in(provider: ProviderHarness, sub: str):
    browser = Browser(Client())
    response = browser.login(provider, sub)
    return response, browser


def test_rotation_keeps_the_old_secret_until_the_new_one_passes(client, provider: ProviderHarness, working):
    old_id, old_secret = working.client_id, working.client_secret
    new_id, new_secret = provider.register_client([redirect_uri("acme")])
    link = link_of_existing("acme")
    page = text(client.get(link))
    assert "Replace the Okta credentials of Acme" in page
    assert f'value="{working.okta_domain}"' in page and "disabled" in page

    failed = setup_post(client, link, okta_domain="https://elsewhere.example", client_id=new_id,
                        client_secret="not-the-new-secret")

    assert failed.status_code == 400 and "Okta refused the Client ID or Client Secret" in text(failed)
    working.refresh_from_db()
    assert (working.client_id, working.client_secret) == (old_id, old_secret)
    response, _ = sign_in(provider, "ada")
    assert response.status_code == 302 and response["Location"] == "/"
    assert provider.token_requests[-1].authorization.startswith("Basic ")

    passed = setup_post(client, link, okta_domain="https://elsewhere.example", client_id=new_id,
                        client_secret=new_secret)

    assert passed.status_code == 200 and "The new credentials are in use for Acme" in text(passed)
    working.refresh_from_db()
    assert (working.client_id, working.client_secret, working.issuer) == (new_id, new_secret, provider.issuer)
    response, _ = sign_in(provider, "grace")
    assert response.status_code == 302 and response["Location"] == "/"
    assert User.objects.get(sub="grace").tenant == working


def test_rotation_leaves_a_tenant_support_switched_off_switched_off(client, provider, working):
    Tenant.objects.filter(pk=working.pk).update(is_active=False)
    new_id, new_secret = provider.register_client([redirect_uri("acme")])
    link = link_of_existing("acme")

    done = setup_post(client, link, client_id=new_id, client_secret=new_secret)

    assert done.status_code == 200 and "Sign-in is switched off" in text(done)
    working.refresh_from_db()
    assert working.client_id == new_id and not working.is_active


# --- links that do not work ---------------------------------------------------------------------------------------
def test_unknown_tampered_used_replaced_and_expired_links(client, db):
    tenant = tenant_awaiting_create(slug="newco", name="NewCo")
    replaced = setup_link_create(tenant=tenant).token
    current = setup_link_create(tenant=tenant).token
    cases = {
        "/setup/" + "A" * 43 + "/": 404,
        f"/setup/{current[:-1]}/": 404,
        f"/setup/{current}x/": 404,
        f"/setup/{replaced}/": 404,
        "/setup/" + "é" * 300 + "/": 404,
    }
    for path, status in cases.items():
        response = client.get(path)
        assert response.status_code == status, path
        assert "Ask Inigo support for a new setup link" in text(response)
    # NUL in the path is refused for every page before any view (inigo_sso.middleware).
    assert client.get("/setup/%00/").status_code == 400
    SetupLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = client.get(f"/setup/{current}/")
    assert expired.status_code == 410 and "This setup link has expired" in text(expired)
    assert expired["Referrer-Policy"] == "strict-origin"


def test_only_get_and_post(client, db):
    link = new_link()
    assert client.put(link).status_code == 405
    assert client.delete(link).status_code == 405


# --- hostile input: the form's error, nothing saved, nothing contacted -------------------------------------------
HOSTILE = [
    {"okta_domain": "acme.okta.com\x00", "client_id": "id", "client_secret": "s"},
    {"okta_domain": "a" * 10_000, "client_id": "id", "client_secret": "s"},
    {"okta_domain": "acme.okta.com", "client_id": "x" * 10_000, "client_secret": "s"},
    {"okta_domain": "acme.okta.com", "client_id": "id", "client_secret": "s" * 10_000},
    {"okta_domain": "\u0430cme.okta.com", "client_id": "id", "client_secret": "s"},  # Cyrillic a
    {"okta_domain": "acme.okta.com", "client_id": "0oa-clïent", "client_secret": "s"},
    {"okta_domain": "acme.okta.com", "client_id": "0oa client", "client_secret": "s"},
    {"okta_domain": "acme.okta.com", "client_id": "id", "client_secret": "sécret\x00"},
    {"okta_domain": "javascript:alert(1)", "client_id": "id", "client_secret": "s"},
    {"okta_domain": "https://acme.okta.com/app/page?x=1", "client_id": "id", "client_secret": "s"},
    {"okta_domain": "", "client_id": "", "client_secret": ""},
    {},
]


@pytest.mark.parametrize("values", HOSTILE)
def test_hostile_values_get_the_forms_error_and_contact_nothing(client, provider, db, public_dns, values):
    link = new_link()

    response = client.post(link, values)

    assert response.status_code == 400
    if any("\x00" in value for value in values.values()):  # refused for every form before any view reads it
        assert "held a character Inigo does not accept" in text(response)
    else:
        assert "Nothing was saved. Check the fields marked below." in text(response)
    secret = values.get("client_secret", "")
    assert len(secret) < 3 or secret not in text(response)  # the other fields come back (escaped), never it
    tenant = Tenant.objects.get(slug="newco")
    assert tenant.is_awaiting_setup and not tenant.is_active
    assert sum(provider.hits.values()) == 0
    assert SetupLink.objects.get().used_at is None


@override_settings(SSO_ALLOWED_INTERNAL_NETWORKS=[])
@pytest.mark.parametrize("domain", ["http://127.0.0.1:{port}", "http://[::1]:{port}", "http://10.0.0.1",
                                    "http://169.254.169.254", "http://localhost:{port}"])
def test_an_internal_address_is_refused_before_anything_is_contacted(client, provider, db, domain):
    link = new_link()
    port = provider.issuer.rsplit(":", 1)[1]

    response = client.post(link, {"okta_domain": domain.format(port=port), "client_id": "id", "client_secret": "s"})

    assert response.status_code == 400
    assert "an internal address" in text(response)
    assert sum(provider.hits.values()) == 0
    assert Tenant.objects.get(slug="newco").is_awaiting_setup


class Checked(Exception):
    """The connection check was reached (raised by the stand-in for it)."""


@pytest.fixture
def check_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    from tenants import credentials

    def connection_check(candidate, **kwargs):
        raise Checked(candidate.issuer)

    monkeypatch.setattr(credentials, "connection_check", connection_check)


@override_settings(SSO_ALLOW_INSECURE_ISSUERS=False)
@pytest.mark.parametrize("domain", ["login.acme.example", "https://sso.acme.example/oauth2/default", "okta.com",
                                    "acme.okta.com.evil.example"])
def test_a_custom_url_domain_is_refused_and_left_to_support(client, db, public_dns, check_reached, domain):
    link = new_link()

    response = client.post(link, {"okta_domain": domain, "client_id": "id", "client_secret": "s"})

    assert response.status_code == 400  # before the connection check: nothing is fetched from it
    assert "Custom URL domains are entered by Inigo support" in text(response)
    assert Tenant.objects.get(slug="newco").is_awaiting_setup
    assert LoginEvent.objects.get(reason="setup_checks_failed").detail == "refused fields: okta_domain"


@override_settings(SSO_ALLOW_INSECURE_ISSUERS=False)
def test_an_okta_domain_goes_on_to_the_connection_check(client, db, public_dns, check_reached):
    link = new_link()

    with pytest.raises(Checked, match=r"^https://acme\.okta\.com$"):
        client.post(link, {"okta_domain": "acme.okta.com", "client_id": "id", "client_secret": "s"})


def test_a_client_id_another_tenant_uses_is_refused(client, provider, acme):
    link = new_link()

    response = client.post(link, {"okta_domain": provider.issuer, "client_id": acme.client_id, "client_secret": "s"})

    assert response.status_code == 400 and "belongs to another organisation" in text(response)
    assert provider.hits["/oauth2/token"] == 0


def test_an_unreachable_okta_is_a_failed_check_not_a_500(client, db):
    from tests.test_connection_check import closed_port

    link = new_link()

    response = client.post(link, {"okta_domain": f"http://127.0.0.1:{closed_port()}", "client_id": "id",
                                  "client_secret": "s"})

    page = text(response)
    assert response.status_code == 400
    assert "Inigo cannot reach Okta" in page and "Not checked: an earlier step failed." in page
    assert Tenant.objects.get(slug="newco").is_awaiting_setup
    assert LoginEvent.objects.get(reason="setup_checks_failed").detail == "failed checks: discovery"


# --- no token or secret in logs or the database -------------------------------------------------------------------
def test_neither_token_nor_secret_reaches_the_logs(client, provider, registered, caplog):
    client_id, secret = registered
    caplog.set_level(logging.DEBUG)
    link = new_link()
    token = token_of(link)

    client.get(link)
    client.post(link, {"okta_domain": provider.issuer, "client_id": client_id, "client_secret": "wrong"})
    Client(enforce_csrf_checks=True).post(link, {"client_secret": secret})  # Django logs CSRF refusals with the path
    client.post(link, {"okta_domain": provider.issuer, "client_id": client_id, "client_secret": secret})

    # The console handler's filter (settings.LOGGING) rewrites each record as it is emitted, before pytest's
    # capture reads it; run it once more in case a record reached capture first.
    from inigo_sso.logs import RedactSetupTokensFilter

    for record in caplog.records:
        RedactSetupTokensFilter().filter(record)
    ours = [record for record in caplog.records  # not the in-process provider's own debug lines
            if record.name.split(".")[0] in ("inigo", "accounts", "okta", "tenants", "django", "support")]
    lines = "\n".join(record.getMessage() + " " + str(getattr(record, "path", "")) for record in ours)
    assert "Forbidden (CSRF" in lines  # Django's own line with the path was there to redact
    assert token not in lines and secret not in lines and "wrong" not in lines.replace("wrong secret", "")
    assert "/setup/[redacted]/" in lines
    stored = SetupLink.objects.values_list("token_digest", flat=True).get()
    assert stored == token_digest(token)


def test_the_gunicorn_access_log_redacts_the_token():
    import importlib.util
    from datetime import timedelta as elapsed
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location("gunicorn_conf", "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    logger = conf.RedactingLogger(SimpleNamespace(
        errorlog="-", loglevel="info", accesslog=None, access_log_format=conf.access_log_format, syslog=False,
        capture_output=False, logconfig=None, logconfig_dict={}, logconfig_json=None,
        disable_redirect_access_to_syslog=True, user=0, group=0, umask=0, syslog_addr="", syslog_prefix=None,
        syslog_facility="user", statsd_host=None,
    ))
    token = "T" * 43
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/setup/{token}/", "PATH_INFO": f"/setup/{token}/",
               "SERVER_PROTOCOL": "HTTP/1.1", "QUERY_STRING": "", "HTTP_REFERER": f"http://x/setup/{token}/"}
    atoms = logger.atoms(SimpleNamespace(status="200 OK", sent=10, headers=[]), SimpleNamespace(headers=[]),
                         environ, elapsed(seconds=0))

    from gunicorn.glogging import SafeAtoms

    line = conf.access_log_format % SafeAtoms(atoms)
    assert token not in line and "/setup/[redacted]/" in line
    assert token not in atoms["r"] and token not in atoms["f"]


# --- rate limit ---------------------------------------------------------------------------------------------------
@override_settings(SSO_RATE_LIMIT="3/m")
def test_the_page_is_rate_limited_per_client_ip(client, db):
    link = new_link()
    statuses = [client.get(link).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert "Too many attempts" in text(client.get(link))


def test_the_form_is_protected_by_djangos_csrf_check(provider, registered):
    client_id, secret = registered
    link = new_link()
    browser = Client(enforce_csrf_checks=True)
    page = text(browser.get(link))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    values = {"okta_domain": provider.issuer, "client_id": client_id, "client_secret": secret}

    assert browser.post(link, values).status_code == 403  # no token: refused, nothing checked
    assert provider.hits["/oauth2/token"] == 0
    done = browser.post(link, {**values, "csrfmiddlewaretoken": token}, HTTP_ORIGIN=ORIGIN)
    assert done.status_code == 200 and Tenant.objects.get(slug="newco").is_active


@pytest.mark.parametrize(("raw", "expected"), [
    ("", ""), ("https://sso.inigo.example", "https://sso.inigo.example"),
    ("https://sso.inigo.example/", "https://sso.inigo.example"), ("HTTP://127.0.0.1:8000", "http://127.0.0.1:8000"),
])
def test_sso_public_url_is_an_origin(monkeypatch, raw, expected):
    from inigo_sso.env import env_origin

    monkeypatch.setenv("SSO_PUBLIC_URL", raw)
    assert env_origin("SSO_PUBLIC_URL") == expected


@pytest.mark.parametrize("raw", ["sso.inigo.example", "ftp://x", "https://x/path", "https://x?q", "https://u@x"])
def test_sso_public_url_refuses_what_is_not_an_origin(monkeypatch, raw):
    from django.core.exceptions import ImproperlyConfigured

    from inigo_sso.env import env_origin

    monkeypatch.setenv("SSO_PUBLIC_URL", raw)
    with pytest.raises(ImproperlyConfigured, match="must be an origin"):
        env_origin("SSO_PUBLIC_URL")


def test_a_first_setup_offers_provisioning_with_a_token_shown_once(client, provider, registered):
    from scim.models import ProvisioningToken
    from scim.tokens import tenant_for_token

    client_id, secret = registered
    done = setup_post(client, new_link(), okta_domain=provider.issuer, client_id=client_id, client_secret=secret)

    token = done.context["provisioning"]["token"]
    assert token in text(done) and "http://testserver/scim/v2/" in text(done)
    assert tenant_for_token(token).slug == "newco"
    stored = ProvisioningToken.objects.get(tenant__slug="newco")
    assert token not in stored.digest  # only its digest is kept
    assert "no-store" in done["Cache-Control"] or "no-cache" in done["Cache-Control"]
    # A rotation on a tenant that already provisions keeps its token: a new one would stop Okta's calls.
    rotated = setup_post(client, link_of_existing("newco"), okta_domain=provider.issuer, client_id=client_id,
                         client_secret=secret)
    assert rotated.status_code == 200 and rotated.context["provisioning"] is None
    assert ProvisioningToken.objects.get(tenant__slug="newco").digest == stored.digest


# --- checks are bounded: ten failures an hour, and a busy server says so -------------------------------------------
def test_ten_failed_checks_an_hour_then_the_page_says_when_to_try_again(client, db):
    from tenants.check_limits import FAILED_CHECKS_PER_HOUR
    from tests.test_connection_check import closed_port

    link = new_link()
    values = {"okta_domain": f"http://127.0.0.1:{closed_port()}", "client_id": "id", "client_secret": "s"}
    statuses = [client.post(link, values).status_code for _ in range(FAILED_CHECKS_PER_HOUR)]

    limited = client.post(link, {**values, "okta_domain": "http://127.0.0.1:1"})

    assert statuses == [400] * FAILED_CHECKS_PER_HOUR
    assert limited.status_code == 429
    page = " ".join(text(limited).split())
    assert "too many failed checks" in page and "in 60 minutes" in page
    # The eleventh was not sent: only the ten checks that ran are recorded.
    assert LoginEvent.objects.filter(reason="setup_checks_failed").count() == FAILED_CHECKS_PER_HOUR
    assert Tenant.objects.get(slug="newco").is_awaiting_setup


@override_settings(OIDC_MAX_CHECKS_PER_PROCESS=1)
def test_a_busy_server_says_try_again_and_counts_no_failed_check(client, provider, registered):
    from okta.provider import check_slot

    client_id, secret = registered
    link = new_link()
    with check_slot(requests=1):  # every check slot of this server is taken
        busy = client.post(link, {"okta_domain": provider.issuer, "client_id": client_id, "client_secret": secret})

    page = " ".join(text(busy).split())
    assert busy.status_code == 503
    assert "nothing says your values are wrong" in page and "Send the form again in" in page
    assert "cannot reach" not in page
    assert provider.hits["/.well-known/openid-configuration"] == 0
    assert not LoginEvent.objects.filter(reason="setup_checks_failed").exists()


def test_a_failed_setup_attempt_on_a_working_tenant_leaves_its_last_check_green(client, provider, working):
    from activity.health import tenant_health
    from tenants.models import ConnectionCheckResult
    from tenants.services import connection_check_record, tenant_connection_check

    connection_check_record(tenant=working, report=tenant_connection_check(working, origin=ORIGIN))
    new_id, _new_secret = provider.register_client([redirect_uri("acme")])

    failed = setup_post(client, link_of_existing("acme"), okta_domain=working.okta_domain, client_id=new_id,
                        client_secret="not-the-new-secret")

    assert failed.status_code == 400
    health = tenant_health(tenant=working)
    assert health.last_check.ok and ConnectionCheckResult.objects.count() == 1  # the saved values' check
    assert health.last_setup_words == "A setup attempt failed its checks"  # the attempt: a setup event
    assert (health.successes, health.failures) == (0, 0)  # and no sign-in


def test_a_passing_setup_is_the_tenants_last_check(client, provider, registered):
    from activity.health import tenant_health

    client_id, secret = registered
    done = setup_post(client, new_link(), okta_domain=provider.issuer, client_id=client_id, client_secret=secret)

    assert done.status_code == 200
    health = tenant_health(tenant=Tenant.objects.get(slug="newco"))
    assert health.last_check.ok and health.last_setup_words == "Setup completed"
    assert health.last_success is None and health.successes == 0
