"""The local identity provider of `make run` and the browser tests (devidp) re-authenticates as Okta does: its ID
tokens carry `auth_time`, a `prompt=login` / `max_age=0` request shows its sign-in page again and a new sign-in there
has a fresh `auth_time`; with its switch on, it ignores them as Okta does for some federated people, and Inigo ends
on the page that says so (accounts.oidc.reauth). Inigo in-process, devidp on loopback, a browser of plain HTTP."""

import time
from collections.abc import Iterator

import jwt
import pytest
import requests
from django.test import Client

from accounts.models import Role, User
from devidp import demo
from devidp.server import LocalIdentityProvider, serve_in_thread
from tenants.models import Tenant
from tests.conftest import Browser
from tests.oidc_provider import query_of
from tests.reauth_urls import PERSON_PAGE
from tests.test_reauth import signed_in_long_ago

pytestmark = pytest.mark.urls("tests.reauth_urls")
ADA, ALAN = demo.DEMO_PEOPLE[0], demo.DEMO_PEOPLE[2]


@pytest.fixture(scope="module")
def _local_okta() -> Iterator[LocalIdentityProvider]:
    with serve_in_thread(app_url="http://testserver") as identity_provider:
        yield identity_provider


@pytest.fixture
def local_okta(_local_okta: LocalIdentityProvider) -> Iterator[LocalIdentityProvider]:
    yield _local_okta
    _local_okta.reauthentication.ignore_reauth = False


@pytest.fixture
def demo_tenant(db: None, local_okta: LocalIdentityProvider) -> Tenant:
    return Tenant.objects.create(name=demo.TENANT_NAME, slug=demo.TENANT_SLUG, okta_domain=local_okta.issuer,
                                 client_id=demo.TENANT_CLIENT_ID, client_secret=demo.TENANT_CLIENT_SECRET)


def choose(at_okta: requests.Session, authorize_url: str, sub: str) -> str:
    """The provider's sign-in page, then a click on the person: where the provider sends the browser."""
    page = at_okta.get(authorize_url, allow_redirects=False, timeout=5)
    assert page.status_code == 200 and "Sign in to continue to Inigo" in page.text
    chosen = at_okta.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
    assert chosen.status_code == 302, chosen.text[:300]
    return chosen.headers["Location"]


class Person:
    """A browser: the Django test client for Inigo, a requests session (cookies) at the local provider."""

    def __init__(self, client: Client, issuer: str) -> None:
        self.inigo = Browser(client)
        self.at_okta = requests.Session()
        self.issuer = issuer

    def sign_in(self, sub: str) -> None:
        started = self.inigo.client.get(f"/oidc/initiate/{demo.TENANT_SLUG}/", {"iss": self.issuer})
        assert self.inigo.client.get(self.choose(started["Location"], sub)).status_code == 302

    def choose(self, authorize_url: str, sub: str) -> str:
        return choose(self.at_okta, authorize_url, sub)


@pytest.fixture
def ada(client, local_okta, demo_tenant) -> Person:
    person = Person(client, local_okta.issuer)
    person.sign_in(ADA.sub)
    return person


@pytest.fixture
def alan(local_okta, demo_tenant, ada) -> User:
    Person(Client(), local_okta.issuer).sign_in(ALAN.sub)
    return User.objects.get(sub=ALAN.sub)


def make_admin(ada: Person, alan: User):
    return ada.inigo.client.post(PERSON_PAGE.format(alan.pk), {"action": "role", "role": "admin"})


def test_its_id_tokens_carry_the_time_of_the_sign_in_on_its_page(local_okta, demo_tenant):
    before = int(time.time())
    authorize = (f"{local_okta.issuer}/oauth2/authorize?response_type=code&scope=openid&client_id=inigo-demo"
                 "&redirect_uri=http://testserver/cb&nonce=n-1&state=s-1")
    code = query_of(choose(requests.Session(), authorize, ADA.sub))["code"]
    tokens = requests.post(f"{local_okta.issuer}/oauth2/token", timeout=5, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "http://testserver/cb",
        "client_id": "inigo-demo", "client_secret": "x"}).json()

    assert before <= jwt.decode(tokens["id_token"], options={"verify_signature": False})["auth_time"] <= time.time()


def test_prompt_login_shows_its_page_again_and_the_change_then_goes_through(ada, alan):
    signed_in_long_ago(ada.inigo)
    to_okta = make_admin(ada, alan)
    assert query_of(to_okta["Location"])["prompt"] == "login"

    back = ada.inigo.client.get(ada.choose(to_okta["Location"], ADA.sub))  # the page again: a new sign-in

    assert (back.status_code, back["Location"]) == (302, PERSON_PAGE.format(alan.pk))
    assert User.objects.get(pk=alan.pk).role == Role.MEMBER
    assert make_admin(ada, alan).status_code == 302
    assert User.objects.get(pk=alan.pk).role == Role.ADMIN


def test_with_its_switch_on_it_ignores_prompt_login_and_inigo_does_not_loop(local_okta, ada, alan):
    local_okta.reauthentication.ignore_reauth = True
    signed_in_long_ago(ada.inigo)  # Inigo's view; the provider's own sign-in is made old below
    for sign_in in local_okta.reauthentication.sessions.values():
        sign_in.auth_time -= 3600
    to_okta = make_admin(ada, alan)

    at_once = ada.at_okta.get(to_okta["Location"], allow_redirects=False, timeout=5)  # no page: straight back
    assert at_once.status_code == 302
    stopped = ada.inigo.client.get(at_once.headers["Location"])

    assert stopped.status_code == 403 and b"Okta did not ask you to sign in again" in stopped.content
    assert make_admin(ada, alan).status_code == 403  # never sent round again
    assert User.objects.get(pk=alan.pk).role == Role.MEMBER
    assert ada.inigo.me().json()["email"] == ADA.email
