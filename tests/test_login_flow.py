from accounts.models import LoginEvent, Role, User
from tests.conftest import Browser, profile
from tests.oidc_provider import ProviderHarness


def test_it_signs_in_from_the_okta_tile_and_makes_the_first_user_owner(browser: Browser, provider: ProviderHarness, acme):
    response = browser.login(provider, "alice")

    assert response.status_code == 302
    assert response["Location"] == "/"
    me = browser.me().json()
    assert me == {"email": "alice@acme.test", "name": "Alice Tester", "tenant": "acme", "role": "owner"}
    user = User.objects.get()
    assert (user.tenant, user.issuer, user.sub) == (acme, provider.issuer, "alice")
    assert (user.first_name, user.last_name) == ("Alice", "Tester")
    assert LoginEvent.objects.get().reason == "ok"
