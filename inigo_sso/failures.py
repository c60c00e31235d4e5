"""Every way a login can fail: a reason code (stored on the login event), an HTTP status, the words for the person
who meets it (title, what happened, what to do) and the cause and fix for support staff. The failure pages render
from here, and so does the README's troubleshooting table (`python manage.py failures_table --write`; a test fails
when the two drift). No failure of a login becomes a 500."""

from dataclasses import dataclass, replace

_START_AGAIN = "Go back to your Okta dashboard and click the Inigo tile again, or sign in from the Inigo login page."
_ASK_SUPPORT = "Ask your Okta administrator to contact Inigo support; they can see what happened."


@dataclass(frozen=True)
class Failure:
    status: int
    title: str
    explanation: str  # what happened, for the person on the page
    action: str  # what they can do
    fix: str = ""  # the cause and the fix, for support staff (README troubleshooting); every reason has one


FAILURES: dict[str, Failure] = {
    # Before the person reaches Okta.
    "issuer_missing": Failure(400, "This sign-in link is incomplete",
                              "The link did not say which Okta organisation it came from.", _START_AGAIN,
                              fix="The Okta tile's Initiate login URI lacks `?iss=`: the Inigo app in Okta must send it"
                                  " (\"Login initiated by: Either Okta or App\"), or use the per-tenant URI "
                                  "`/oidc/initiate/<slug>/`."),
    "issuer_malformed": Failure(400, "This sign-in link is not valid",
                                "The link names an Okta organisation in a form Inigo does not accept.",
                                _START_AGAIN,
                                fix="`iss` is not an https URL of an Okta org: a hand-made or truncated link. Start "
                                    "from the Okta tile."),
    "issuer_unknown": Failure(404, "Your organisation is not set up for Inigo",
                              "Inigo has no active organisation that signs in with this Okta org.",
                              "Ask your Okta administrator to ask Inigo support for a setup link, and to enter "
                              "the app's Okta domain, Client ID and Client Secret there. Never send a secret by "
                              "e-mail.",
                              fix="No active tenant has this Okta org as issuer: add the tenant and send a setup link "
                                  "(the customer enters the values; no secret travels by e-mail), or check its Okta "
                                  "domain (custom URL domains and `/oauth2/...` authorization servers must match what "
                                  "Okta's discovery document says)."),
    "issuer_mismatch": Failure(400, "This sign-in link does not match the organisation",
                               "The link came from a different Okta org than the one this organisation uses.",
                               _ASK_SUPPORT,
                               fix="The per-tenant initiate URI names a tenant whose issuer is not the link's `iss`: "
                                   "the customer's Okta app points at another tenant's slug. Check the slug in their "
                                   "Initiate login URI."),
    "tenant_unknown": Failure(404, "Organisation not found",
                              "Inigo has no organisation with this name.",
                              "Check the link, or sign in with your work email on the Inigo login page.",
                              fix="No tenant has this slug: a mistyped link, or the tenant was renamed or deleted."),
    "tenant_inactive": Failure(403, "Sign-in is switched off for your organisation",
                               "Single sign-on for this organisation is not active in Inigo.", _ASK_SUPPORT,
                               fix="The tenant is inactive in admin. Switch it on when the customer is ready."),
    "tenant_awaiting_setup": Failure(403, "Sign-in is not set up yet for your organisation",
                                     "Your organisation has an Inigo account, but its Okta connection has not "
                                     "been set up yet.",
                                     "Your Okta administrator finishes the setup with the link Inigo support sent "
                                     "them; ask them, or Inigo support, for a new link if it has expired.",
                                     fix="The tenant exists but has no Okta values yet: send the customer a "
                                         "setup link (admin button or `setup_link`), or enter the values."),
    "tenant_no_secret": Failure(502, "Sign-in is not fully set up for your organisation",
                                "Inigo does not hold a usable client secret for this organisation's Okta app.",
                                _ASK_SUPPORT,
                                fix="No secret stored, or it was encrypted with a key no longer in "
                                    "`SSO_ENCRYPTION_KEYS`: enter the secret again."),
    "target_link_invalid": Failure(400, "This sign-in link points outside Inigo",
                                   "The link asked Inigo to send you to another site after signing in, "
                                   "which Inigo never does.", _START_AGAIN,
                                   fix="`target_link_uri` named another site; Inigo only returns to its own paths. Fix "
                                       "the link that carries it."),
    "email_domain_unknown": Failure(404, "We don't recognise that email domain",
                                    "No organisation in Inigo signs in with this email domain.",
                                    "Check the address, or sign in from your Okta dashboard.",
                                    fix="No tenant holds the domain verified (a domain added on /org/domains/ "
                                        "routes once its DNS record is verified). Add it to the tenant's email "
                                        "domains, or sign in from the Okta dashboard."),
    # The browser comes back from Okta.
    "state_missing": Failure(400, "This sign-in has expired or was already used",
                             "Inigo could not match this response from Okta to a sign-in started in this browser. "
                             "It may have been used already, have taken more than 10 minutes, or come from "
                             "another browser.", _START_AGAIN,
                             fix="The browser came back to the callback twice, or in another browser, or without "
                                 "cookies: start again from the Okta dashboard."),
    "state_expired": Failure(400, "This sign-in has expired",
                             "More than 10 minutes passed between starting the sign-in and coming back from Okta.",
                             _START_AGAIN,
                             fix="More than 10 minutes between the start and the callback: start again from the Okta "
                                 "dashboard."),
    "callback_tenant_mismatch": Failure(400, "This sign-in came back to the wrong organisation",
                                        "The answer from Okta arrived at another organisation's sign-in address "
                                        "than the one this sign-in was started for, so Inigo did not use it.",
                                        _START_AGAIN,
                                        fix="An IdP mix-up (RFC 9700 4.4), or a person who started at one "
                                            "organisation and finished at another's Okta: nothing was sent to any "
                                            "token endpoint. Repeated events for one tenant are worth a look."),
    "callback_iss_mismatch": Failure(400, "This sign-in answer did not come from your organisation's Okta",
                                     "The answer named a different Okta org than the one this sign-in was sent "
                                     "to, or none where your Okta always names itself, so Inigo did not use it.",
                                     _START_AGAIN,
                                     fix="The authorization response's `iss` (RFC 9207) is not the tenant's issuer, "
                                         "or is missing although discovery promises it: check the tenant's Okta "
                                         "domain (custom URL domain or authorization server)."),
    "callback_legacy_url": Failure(400, "Your organisation's Okta app needs a new sign-in redirect URI",
                                   "Okta sent you back to Inigo's old shared sign-in address. Each organisation "
                                   "now has its own, and the old one no longer signs anyone in.",
                                   "Ask your Okta administrator to replace the Inigo app's Sign-in redirect URI "
                                   "(General tab, Login) with your organisation's own, which ends in /oidc/callback/ "
                                   "and your organisation's short name in Inigo (Inigo support can tell them), then "
                                   "click the Inigo tile again.",
                                   fix="The customer's Okta app still lists the shared /oidc/callback/: send them the "
                                       "tenant's own Sign-in redirect URI from its admin page."),
    "callback_malformed": Failure(400, "This sign-in response is not valid",
                                  "The response from Okta was missing its authorization code.", _START_AGAIN,
                                  fix="The callback had a state but no `code`: a truncated URL, or a proxy that drops "
                                      "the query. Start again."),
    "access_denied": Failure(403, "Okta did not let you into Inigo",
                             "Okta refused the sign-in.",
                             "Ask your Okta administrator to check your access to the Inigo app.",
                             fix="Okta refused the sign-in (a sign-on policy, MFA or the user cancelled): the "
                                 "customer's Okta administrator checks the app's sign-on policy."),
    "user_not_assigned": Failure(403, "You are not assigned to Inigo in Okta",
                                 "Okta says you are not assigned to the Inigo app: "
                                 "\u201cUser is not assigned to the client application.\u201d",
                                 "Ask your Okta administrator to assign you the Inigo app (directly or through "
                                 "a group), then click the Inigo tile on your Okta dashboard again.",
                                 fix="Okta's \u201cUser is not assigned to the client application.\u201d: the "
                                     "customer's Okta administrator assigns the Inigo app to the person or a group of "
                                     "theirs."),
    "provider_error": Failure(400, "Okta could not complete the sign-in",
                              "Okta returned an error instead of signing you in.", _START_AGAIN,
                              fix="Okta sent another OAuth error (RFC 6749 section 4.1.2.1); the login event's detail "
                                  "holds its code and description."),
    "user_inactive": Failure(403, "Your Inigo account is switched off",
                             "Okta signed you in, but Inigo support has deactivated your account in Inigo.",
                             "Ask your Okta administrator to contact Inigo support if you should have access.",
                             fix="Support staff switched the person off in admin (Users): reactivate them there if "
                                 "they should have access. Okta's `active: true` does not undo it."),
    "user_removed_in_okta": Failure(403, "Your access to Inigo was removed in Okta",
                                    "Your organisation's Okta administrator has removed your access to Inigo.",
                                    "Ask your Okta administrator to give you access to Inigo again.",
                                    fix="Okta's provisioning deactivated the person (SCIM `active: false` or "
                                        "DELETE): the customer's Okta admin reassigns the app; Okta's next "
                                        "`active: true` reactivates them."),
    # Talking to Okta.
    "provider_unreachable": Failure(502, "Okta cannot be reached",
                                    "Inigo could not reach your organisation's Okta to finish the sign-in.",
                                    "Wait a minute and try again. If it keeps happening, contact Inigo support.",
                                    fix="Inigo could not connect to the tenant's Okta, or its answer stalled or was "
                                        "cut off, within the timeouts; or the breaker of that Okta is open after "
                                        "repeated failures (the event's detail says so): check the Okta domain with "
                                        "`check_tenant`, which is sent even while the breaker is open."),
    "provider_address_refused": Failure(502, "Your organisation's Okta settings point inside our network",
                                        "Okta's settings name an address Inigo never contacts (a private or "
                                        "internal network), so the sign-in stopped.", _ASK_SUPPORT,
                                        fix="The Okta domain, or a URL in its discovery document, resolves to an "
                                            "internal address: check the domain with the customer; run "
                                            "`check_tenant`."),
    "provider_bad_response": Failure(502, "Okta sent an unexpected answer",
                                     "Inigo could not understand your organisation's Okta.", _ASK_SUPPORT,
                                     fix="Okta answered with something that is not a usable discovery document, key set"
                                         " or token response: run `check_tenant`; retry later if Okta is degraded."),
    "discovery_issuer_mismatch": Failure(502, "Your organisation's Okta settings don't match",
                                         "Okta reports a different issuer than the one Inigo has on file.",
                                         _ASK_SUPPORT,
                                         fix="Okta's discovery document names another issuer than the tenant's: use the"
                                             " issuer Okta states (custom URL domain or authorization server)."),
    "token_rejected": Failure(400, "Okta did not accept this sign-in",
                              "Okta refused to exchange the sign-in code; it may have expired or been used.",
                              _START_AGAIN,
                              fix="Okta refused the authorization code (invalid_grant): used twice, expired, or a clock"
                                  " far off. Start again; check NTP if it repeats."),
    "client_rejected": Failure(502, "Okta did not accept Inigo's credentials",
                               "The Client ID or Client Secret Inigo holds for your organisation was refused "
                               "by Okta.", _ASK_SUPPORT,
                               fix="Wrong Client ID or Client Secret: ask the customer for the current values and enter"
                                   " the secret again."),
}

# A session ends (SPEC "Who stays signed in"): the notice on the login page, and the reason of the login event.
_SIGN_IN_AGAIN = "Sign in again from your Okta dashboard or the Inigo login page."
FAILURES.update({
    "session_user_inactive": Failure(401, "You were signed out: your Inigo account is switched off",
                                     "Inigo support has deactivated your account in Inigo, which ends every "
                                     "session.",
                                     "Ask your Okta administrator to contact Inigo support if you should have "
                                     "access.",
        fix="Support staff deactivated the user (admin, or code): their sessions ended at their next request. "
            "Reactivate them if that was a mistake."),
    "session_user_removed_in_okta": Failure(401, "You were signed out: your access was removed in Okta",
                                            "Your organisation's Okta administrator has removed your access to "
                                            "Inigo, which ends every session.",
                                            "Ask your Okta administrator to give you access to Inigo again.",
        fix="Okta's provisioning deactivated the user (SCIM `active: false` or DELETE): their sessions ended at "
            "their next request."),
    "session_tenant_inactive": Failure(401, "You were signed out: sign-in is switched off for your organisation",
                                       "Single sign-on for your organisation is no longer active in Inigo, "
                                       "which ends every session.", _ASK_SUPPORT,
        fix="The tenant was switched off: every session of its people ended at their next request."),
    "session_revoked": Failure(401, "You were signed out",
                               "Inigo support ended every session of your account.", _SIGN_IN_AGAIN,
        fix="Support staff used Sign out everywhere on this person."),
    "session_ended_by_admin": Failure(401, "You were signed out by your organisation's admin",
                                      "The owner or an admin of your organisation ended every session of your "
                                      "account (Sign out everywhere, in the Inigo console).", _SIGN_IN_AGAIN,
        fix="The customer's owner or an admin used Sign out everywhere on this person at /org/people/: the console "
            "event (`console_sign_out`) names who."),
    "session_ended_by_self": Failure(401, "You were signed out of all devices",
                                     "You chose “Sign out of all devices” on another device, which ends every "
                                     "other session of your account.", _SIGN_IN_AGAIN,
        fix="The person used “Sign out of all devices” on their home page (a lost laptop): the device they used "
            "stayed signed in, every other one is signed out."),
    "universal_logout": Failure(401, "You were signed out by your organisation's Okta",
                                "Your Okta administrator, or Okta itself, ended your sessions in every app "
                                "(Okta Universal Logout).", _SIGN_IN_AGAIN,
        fix="The customer's Okta called Universal Logout for this person (Clear User Sessions, or an Okta "
            "policy)."),
    "session_recheck_failed": Failure(401, "You were signed out: Okta no longer signs you in",
                                      "Inigo checked with your organisation's Okta that you are still signed in "
                                      "there, and Okta did not confirm it.", _SIGN_IN_AGAIN,
        fix="The tenant re-checks sessions with Okta (prompt=none) and Okta answered with an error or "
            "another person: the person signs in again."),
    "session_recheck_overdue": Failure(401, "Your session needs a check with Okta",
                                       "Inigo re-checks with your organisation's Okta that you are still signed "
                                       "in, and that check is overdue.", "Open any Inigo page to run it.",
        fix="A JSON request came while the session's re-check with Okta was overdue: any page navigation "
            "runs it."),
    # Not an ending anyone imposed: the person chose "Sign out and continue" (SPEC "Who may switch the signed-in
    # person"); no page shows these words, the sign-in it leads to goes on at once.
    "session_switched": Failure(401, "You were signed out to sign in to another organisation",
                                "You chose to sign out and continue to another organisation's sign-in.",
                                _SIGN_IN_AGAIN,
        fix="The person followed a sign-in link for another organisation while signed in, and chose \"Sign out "
            "and continue\" on the page that asked: nothing to fix. The event's detail names the organisation."),
    # Okta Universal Logout calls (POST /oidc/global-token-revocation/): the answers Okta reads, in order.
    "universal_logout_unauthorized": Failure(401, "Universal Logout refused",
                                             "The request's token is missing or failed a check.", _ASK_SUPPORT,
        fix="A Universal Logout call whose JWT failed a check (signature, typ, iss/sub, aud, lifetime or a "
            "replayed jti): nothing was changed."),
    "universal_logout_malformed": Failure(400, "Universal Logout refused",
                                          "The request's body does not name a person in a known format.",
                                          _ASK_SUPPORT,
        fix="A Universal Logout call whose body named no person in a known format (sub_id or subject, "
            "iss_sub or email)."),
    "universal_logout_unknown_user": Failure(404, "Universal Logout: no such person",
                                             "The organisation has no person matching the request.", _ASK_SUPPORT,
        fix="A Universal Logout call for a person this tenant does not have: nothing to end."),
    "universal_logout_rate_limited": Failure(429, "Universal Logout refused",
                                             "Too many refused calls came from this address.", _ASK_SUPPORT,
        fix="Too many refused Universal Logout calls from one address: check who is calling."),
})
SESSION_END_REASONS = (
    "session_user_inactive", "session_user_removed_in_okta", "session_tenant_inactive", "session_revoked",
    "universal_logout", "session_recheck_failed", "session_recheck_overdue", "session_ended_by_admin",
    "session_ended_by_self",
)

# A change on the customer console asked for a recent Okta sign-in (SPEC "The customer console", recent sign-in;
# accounts.oidc.reauth). The person stays signed in whatever happens; the change was not made, and they make it again.
_CHANGE_NOT_MADE = "Your change was not made."
FAILURES.update({
    "reauth_stale": Failure(403, "Okta did not ask you to sign in again",
                            f"{_CHANGE_NOT_MADE} Changes here need an Okta sign-in from the last few minutes, and "
                            "Okta answered with your earlier sign-in instead of asking for your password again. "
                            "Inigo will not send you round again.",
                            "Sign out of Inigo and of Okta (or of your company's sign-in page), sign in again, "
                            "then make the change. If it keeps happening, ask your Okta administrator: some "
                            "sign-in policies skip the new sign-in.",
        fix="Okta answered prompt=login / max_age=0 with an auth_time older than SSO_RECENT_AUTH_SECONDS (or none): "
            "federated sign-ins (an IdP routing rule) can keep the upstream session. The person signs out of Okta and "
            "of their IdP and signs in again; the customer's Okta admin checks the IdP's \"force authentication\"."),
    "reauth_other_person": Failure(403, "You signed in to Okta as someone else",
                                   f"{_CHANGE_NOT_MADE} Inigo asked Okta to confirm that you are still at the "
                                   "keyboard, and Okta answered for another person. You are still signed in to "
                                   "Inigo as before.",
                                   "Go back, make the change again, and sign in to Okta as yourself.",
        fix="The re-authentication for a console change came back with another `sub` than the signed-in person's "
            "(another Okta account in the same browser): nothing was changed, the session was kept."),
})
# The outcomes of a re-authentication that are not refusals: the recent sign-in confirmed.
REAUTH_REASONS = ("reauth_ok", "reauth_stale", "reauth_other_person")

# ID token and userinfo checks (OIDC Core 3.1.3.7, 5.3.2): the proof of identity did not hold.

# ID token and userinfo checks (OIDC Core 3.1.3.7, 5.3.2): the proof of identity did not hold. The person reads one
# page for all of them; support staff read each reason's own cause.
_INVALID_TOKEN = Failure(403, "Your sign-in could not be verified",
                         "The proof of identity Okta sent did not pass Inigo's checks, so you were not signed in.",
                         _START_AGAIN + " If it happens again, contact Inigo support.")
_NO_USABLE_JWT = ("Okta's token response lacks a usable ID token, or it is not a signed JWT: a proxy or a "
                  "non-Okta server answers at the tenant's token endpoint. Run `check_tenant`.")
_WRONG_CLIENT = ("The ID token was issued to another client or by another issuer: the tenant's Client ID or "
                 "Okta domain is not the customer's Inigo app. Compare them with the app's Sign On tab.")
_CLOCK = "A clock off by more than two minutes (this server's or the provider's): check NTP."
_KEYS = ("The signature did not verify with the tenant's published keys, even after fetching them again: "
         "the token was altered, or the Okta domain points at another org's keys.")
TOKEN_FIXES = {
    "id_token_missing": _NO_USABLE_JWT,
    "id_token_malformed": _NO_USABLE_JWT,
    "id_token_alg": "The ID token is not signed with RS256, the only algorithm Inigo accepts (an Okta app set "
                    "to HS256 or none). The customer signs ID tokens with RS256.",
    "id_token_signature": _KEYS,
    "id_token_unknown_kid": _KEYS,
    "id_token_iss": _WRONG_CLIENT,
    "id_token_aud": _WRONG_CLIENT,
    "id_token_azp": _WRONG_CLIENT,
    "id_token_expired": _CLOCK,
    "id_token_iat_future": _CLOCK,
    "id_token_missing_claim": "A required claim (sub, exp, iat, ...) is missing or unusable (a subject that is "
                              "empty, longer than 255 characters or holds NUL). Ask the customer what their "
                              "authorization server puts in ID tokens.",
    "id_token_nonce": "The nonce does not match this browser's sign-in: a replayed or mixed-up response. Start "
                      "again; report it if it repeats.",
    "userinfo_sub_mismatch": "Okta's userinfo names another person than the ID token (OIDC Core 5.3.2): its "
                             "claims are not used. Report it to the customer's Okta administrator.",
    "userinfo_invalid": "Okta's userinfo answer is not a JSON object. Run `check_tenant`; retry later.",
}
TOKEN_REASONS = tuple(TOKEN_FIXES)
FAILURES.update({reason: replace(_INVALID_TOKEN, fix=fix) for reason, fix in TOKEN_FIXES.items()})

# Not a login failure but told the same way: a burst refused by the rate limit (accounts.oidc.ratelimits). It has
# no login event: recording each refused request would let a flood write to the database.
FAILURES["rate_limited"] = Failure(
    429, "Too many sign-in attempts",
    "Inigo received too many sign-in requests from your network in a short time.",
    "Wait a minute, then click the Inigo tile on your Okta dashboard again.",
    fix="More than `SSO_RATE_LIMIT` sign-in requests from one client address (or a hundred times that for one "
        "tenant). Behind a proxy, check `DJANGO_NUM_PROXIES`, or every person shares the proxy's address.",
)

# Not a login failure either: PostgreSQL cannot be reached (inigo_sso.database_down answers every request with this,
# and /healthz/ says 503 meanwhile). No login event: there is nowhere to record it. Retry-After (RFC 9110 section
# 10.2.3) carries the same minute the words promise.
DATABASE_RETRY_AFTER_SECONDS = 60
FAILURES["database_unreachable"] = Failure(
    503, "Inigo is unavailable for a moment",
    "Inigo cannot reach its database just now, so it can neither sign you in nor show or change anything. "
    "Nothing was recorded.",
    "Try again in a minute. If it keeps happening, contact Inigo support.",
    fix="PostgreSQL refused or dropped the connection, or did not answer within the connect timeout (a restart, a "
        "failover, the host down, max_connections reached). Check the database and that `DATABASE_URL`'s host is "
        "reachable from the app servers; the log line `database unreachable` names the driver's error class and "
        "SQLSTATE. `/healthz/` answers 503 meanwhile.",
)


class LoginError(Exception):
    """A login stops here. `reason` is a key of FAILURES; `detail` is for support staff and logs, and must
    never carry a secret, code or token."""

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in FAILURES:
            raise ValueError(f"unknown login failure reason {reason!r}")
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

    @property
    def failure(self) -> Failure:
        return FAILURES[self.reason]
