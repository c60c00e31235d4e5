"""The local identity provider of `make run` (devidp): what a newcomer meets when they try it by hand. It refuses
the Client ID the README names (a wrong-credentials failure, seen locally), sends Okta's preferred_username, and
answers an https attempt in plain words. No database: the provider runs in a thread of its own."""

import socket
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
import requests
from oidc_provider_mock._storage import Storage

from devidp import demo
from devidp.server import LocalIdentityProvider, serve_in_thread

# The first bytes of a TLS ClientHello (a handshake record, TLS 1.0 framing): what a browser sends to https://.
CLIENT_HELLO = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 32


@pytest.fixture(scope="module")
def local_idp() -> Iterator[LocalIdentityProvider]:
    with serve_in_thread() as provider:
        yield provider


def redeem_a_code(provider: LocalIdentityProvider, **client: str) -> requests.Response:
    """What the setup page's check sends: a code that does not exist, with the client's credentials."""
    form = {"grant_type": "authorization_code", "code": "no-such-code", "redirect_uri": demo.DEFAULT_APP_URL + "/"}
    auth = (client.pop("basic_id"), "any-secret") if "basic_id" in client else None
    return requests.post(f"{provider.issuer}/oauth2/token", data={**form, **client}, auth=auth, timeout=5)


@pytest.mark.parametrize("credentials", [
    {"basic_id": demo.REFUSED_CLIENT_ID},
    {"client_id": demo.REFUSED_CLIENT_ID, "client_secret": "any-secret"},
], ids=["client_secret_basic", "client_secret_post"])
def test_it_refuses_the_refused_client_id_as_okta_refuses_wrong_credentials(local_idp, credentials):
    response = redeem_a_code(local_idp, **credentials)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_any_other_client_id_gets_as_far_as_the_code(local_idp):
    response = redeem_a_code(local_idp, client_id="anything-else", client_secret="any-secret")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"  # the credentials passed; only the code is unknown


def test_each_demo_person_has_an_okta_username():
    for person in demo.DEMO_PEOPLE:
        assert person.claims()["preferred_username"] == person.email


def test_an_https_attempt_is_answered_in_plain_words(local_idp):
    port = int(local_idp.issuer.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(CLIENT_HELLO)
        answer = connection.recv(4096).decode()

    assert answer.startswith("HTTP/1.1 400 ")
    assert f"speaks plain http, not https: use {local_idp.issuer}" in answer
    assert requests.get(f"{local_idp.issuer}/dashboard", timeout=5).status_code == 200  # and it still serves


class _SlowToRead:
    """The mock's recent subjects, read one by one with a pause between them: a reader meets every write another
    thread makes meanwhile, as it would now and then in a moment of bad luck."""

    def __init__(self, subjects: Iterable[str]) -> None:
        self.subjects = subjects

    def __iter__(self) -> Iterator[str]:
        for subject in self.subjects:
            time.sleep(0.002)
            yield subject


def test_concurrent_sign_ins_on_its_page_never_fail(local_idp, monkeypatch):
    """oidc-provider-mock's authorization endpoint reads its recent subjects while another sign-in rewrites them; the
    local provider lets one sign-in through at a time (devidp.mock_authorization), so no person meets a 500 there."""
    recent = Storage.get_recent_subjects
    monkeypatch.setattr(Storage, "get_recent_subjects", lambda storage: _SlowToRead(recent(storage)))
    query = urlencode({"client_id": "concurrent", "redirect_uri": demo.DEFAULT_APP_URL + "/", "response_type": "code",
                       "scope": "openid", "nonce": "n", "state": "s"})

    def sign_ins(k: int) -> list[int]:
        with requests.Session() as browser:
            return [browser.post(f"{local_idp.issuer}/oauth2/authorize?{query}", data={"sub": f"p{k}-{n}@idp.test"},
                                 allow_redirects=False, timeout=10).status_code for n in range(25)]

    with ThreadPoolExecutor(4) as pool:
        statuses = [status for answers in pool.map(sign_ins, range(4)) for status in answers]

    assert statuses == [302] * 100
