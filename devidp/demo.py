"""The demo organisation and its people: what `make run` creates, shows and prints.

Kept free of heavy imports: the management command `ensure_demo_tenant` and `make run`'s banner read it too.
"""

import argparse
from dataclasses import dataclass
from urllib.parse import urlencode

DEFAULT_PORT = 9400
DEFAULT_ISSUER = f"http://127.0.0.1:{DEFAULT_PORT}"
DEFAULT_APP_URL = "http://127.0.0.1:8000"

TENANT_SLUG = "demo"
TENANT_NAME = "Demo Organisation"
TENANT_EMAIL_DOMAIN = "example.com"
# The local provider accepts any client ID and secret; these only have to be the same on both sides.
TENANT_CLIENT_ID = "inigo-demo"
TENANT_CLIENT_SECRET = "demo-client-secret-not-for-production"  # noqa: S105
# Except this one: its token requests are refused as Okta refuses a wrong Client ID or Secret (invalid_client,
# HTTP 401), so the setup page's "Okta refused the Client ID or Client Secret" can be seen locally.
REFUSED_CLIENT_ID = "wrong-client-id"
REFUSED_DESCRIPTION = "Invalid value for 'client_id' parameter."

# What Okta answers when a person who is not assigned to the app signs in (the seed's troubleshooting).
NOT_ASSIGNED_DESCRIPTION = "User is not assigned to the client application."


@dataclass(frozen=True)
class DemoPerson:
    sub: str
    given_name: str
    family_name: str
    email: str
    assigned: bool = True  # False: Okta refuses them with access_denied, "not assigned"

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def claims(self) -> dict[str, object]:
        # Okta sends the person's Okta username (usually their email) as preferred_username: what a SCIM userName
        # is matched against at the first sign-in (README, "Provisioning from Okta").
        return {"email": self.email, "email_verified": True, "given_name": self.given_name,
                "family_name": self.family_name, "name": self.name, "preferred_username": self.email}


DEMO_PEOPLE = (
    DemoPerson("00u-demo-ada", "Ada", "Lovelace", "ada@example.com"),
    DemoPerson("00u-demo-grace", "Grace", "Hopper", "grace@example.com"),
    DemoPerson("00u-demo-alan", "Alan", "Turing", "alan@example.com"),
    DemoPerson("00u-demo-uma", "Uma", "Unassigned", "unassigned@example.com", assigned=False),
)


def person_by_email(email: str) -> DemoPerson | None:
    return next((person for person in DEMO_PEOPLE if person.email == email.strip().lower()), None)


def person_by_sub(sub: str) -> DemoPerson | None:
    return next((person for person in DEMO_PEOPLE if person.sub == sub), None)


def tile_url(*, app_url: str, issuer: str) -> str:
    """Where the Okta tile sends the browser: the demo tenant's own "Initiate login URI" with the org's issuer."""
    return f"{app_url.rstrip('/')}/oidc/initiate/{TENANT_SLUG}/?{urlencode({'iss': issuer})}"


def redirect_uri(*, app_url: str) -> str:
    """The demo tenant's own Sign-in redirect URI, as its Okta app would list it."""
    return f"{app_url.rstrip('/')}/oidc/callback/{TENANT_SLUG}/"


def banner(*, app_url: str, issuer: str) -> str:
    people = "\n".join(
        f"      {person.email:<24} {person.name}" + ("" if person.assigned else "  (not assigned: Okta refuses)")
        for person in DEMO_PEOPLE
    )
    return f"""
  Inigo is running on {app_url}/ with a local identity provider that plays Okta.

    Click the tile:      {issuer}/dashboard   (IdP-initiated, like the Okta dashboard)
    Or type an email:    {app_url}/login/   (SP-initiated), e.g. {DEMO_PEOPLE[0].email}

    The demo tenant's Okta app values: tenant setting "{TENANT_SLUG}",
      Sign-in redirect URI {redirect_uri(app_url=app_url)}
      Initiate login URI   {app_url.rstrip('/')}/oidc/initiate/{TENANT_SLUG}/

    Demo people (no passwords; the first to sign in becomes the owner of "{TENANT_NAME}"):
{people}

  Stop with Ctrl-C. Without the local provider: make run LOCAL_IDP=0
"""


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Print what `make run` serves and how to sign in.")
    parser.add_argument("--app-url", default=DEFAULT_APP_URL)
    parser.add_argument("--issuer", default=DEFAULT_ISSUER)
    arguments = parser.parse_args()
    print(banner(app_url=arguments.app_url, issuer=arguments.issuer), flush=True)
