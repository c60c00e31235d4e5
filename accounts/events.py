"""The kind of each event a tenant's people and its setup leave (accounts.models.LoginEvent.kind).

Figures about sign-ins (support's health panel, the tenants list, "last successful sign-in") count only events of
kind `signin`. Every reason is listed here by name: a new reason has no kind until someone gives it one, and
recording it fails loudly in the tests (tests/test_event_kinds.py walks every reason of inigo_sso.failures) instead
of reaching the sign-in figures unnoticed.
"""

from django.db import models

from inigo_sso.failures import REAUTH_REASONS, SESSION_END_REASONS, TOKEN_REASONS


class EventKind(models.TextChoices):
    SIGNIN = "signin", "Sign-in"
    SESSION = "session", "Session"  # a session ended, whatever the reason, and Universal Logout calls
    SETUP = "setup", "Setup"  # setup links and connection checks of candidate values
    PROVISIONING = "provisioning", "Provisioning"  # Okta's SCIM calls (scim.models.ProvisioningEvent)
    CONSOLE = "console", "Console"  # changes made by a customer's admins


SETUP_REASONS = ("setup_link_created", "setup_checks_failed", "setup_completed")

# Email domains, verified (accounts.email_domains): on /org/domains/ and in support staff's admin.
DOMAIN_REASONS = ("domain_added", "domain_verified", "domain_removed")

# Roles (accounts.roles): a person's role changed (kind `console`, or `provisioning` when Okta's push changed it: see
# kind_of's caller), a pushed group mapped to a role, the tenant's role_source switched.
ROLE_REASONS = ("role_changed", "group_role_changed", "role_source_changed")

# Changes made by a tenant's owner and admins on /org/ (SPEC "The customer console"), and the recent Okta sign-in
# they ask for first (accounts.oidc.reauth): who did it is in the detail; never counted as a sign-in. The settings'
# changes have words of their own here (the events page and admin show them).
CONSOLE_WORDS = {
    "console_credentials_rotated": "New Client ID and Client Secret saved",
    "console_credentials_refused": "New Client ID and Client Secret failed the connection check; nothing was saved",
    "console_scim_token_issued": "New SCIM token issued; the previous one stopped working",
}
CONSOLE_REASONS = ("console_sign_out", *ROLE_REASONS, *REAUTH_REASONS, *DOMAIN_REASONS, *CONSOLE_WORDS)

# Every outcome of a sign-in attempt: from the start (/oidc/initiate/, /login/, /oidc/authenticate/) to the session.
SIGNIN_REASONS = (
    "ok",
    "issuer_missing", "issuer_malformed", "issuer_unknown", "issuer_mismatch", "tenant_unknown", "tenant_inactive",
    "tenant_awaiting_setup", "tenant_no_secret", "target_link_invalid", "email_domain_unknown",
    "state_missing", "state_expired", "callback_tenant_mismatch", "callback_iss_mismatch", "callback_legacy_url",
    "callback_malformed", "access_denied", "user_not_assigned", "provider_error", "user_inactive",
    "user_removed_in_okta",
    "provider_unreachable", "provider_address_refused", "provider_bad_response", "discovery_issuer_mismatch",
    "token_rejected", "client_rejected",
    *TOKEN_REASONS,
    # Refusals that have words on a page but are never recorded (a flood must not write to the database; a
    # database that is down cannot): a sign-in attempt, should their page ever record one.
    "rate_limited", "database_unreachable",
)

SESSION_REASONS = (
    *SESSION_END_REASONS, "session_switched",
    "universal_logout_unauthorized", "universal_logout_malformed", "universal_logout_unknown_user",
    "universal_logout_rate_limited",
)

_KINDS: dict[str, EventKind] = {
    **{reason: EventKind.SIGNIN for reason in SIGNIN_REASONS},
    **{reason: EventKind.SESSION for reason in SESSION_REASONS},
    **{reason: EventKind.SETUP for reason in SETUP_REASONS},
    **{reason: EventKind.CONSOLE for reason in CONSOLE_REASONS},
}


def kind_of(reason: str) -> EventKind:
    try:
        return _KINDS[reason]
    except KeyError:
        raise ValueError(f"the event reason {reason!r} has no kind: add it to accounts.events") from None
