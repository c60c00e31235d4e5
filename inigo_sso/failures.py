"""Every way a login can fail: a reason code (stored on the login event), an HTTP status and words for the
person who meets it. No failure of a login becomes a 500."""

from dataclasses import dataclass

_START_AGAIN = "Go back to your Okta dashboard and click the Inigo tile again, or sign in from the Inigo login page."
_ASK_SUPPORT = "Ask your Okta administrator to contact Inigo support; they can see what happened."


@dataclass(frozen=True)
class Failure:
    status: int
    title: str
    explanation: str
    action: str


FAILURES: dict[str, Failure] = {
    # Before the person reaches Okta.
    "issuer_missing": Failure(400, "This sign-in link is incomplete",
                              "The link did not say which Okta organisation it came from.", _START_AGAIN),
    "issuer_malformed": Failure(400, "This sign-in link is not valid",
                                "The link names an Okta organisation in a form Inigo does not accept.",
                                _START_AGAIN),
    "issuer_unknown": Failure(404, "Your organisation is not set up for Inigo",
                              "Inigo has no active organisation that signs in with this Okta org.",
                              "Ask your Okta administrator to send Inigo support the app's Okta domain, "
                              "Client ID and Client Secret."),
    "issuer_mismatch": Failure(400, "This sign-in link does not match the organisation",
                               "The link came from a different Okta org than the one this organisation uses.",
                               _ASK_SUPPORT),
    "tenant_unknown": Failure(404, "Organisation not found",
                              "Inigo has no organisation with this name.",
                              "Check the link, or sign in with your work email on the Inigo login page."),
    "tenant_inactive": Failure(403, "Sign-in is switched off for your organisation",
                               "Single sign-on for this organisation is not active in Inigo.", _ASK_SUPPORT),
    "tenant_awaiting_setup": Failure(403, "Sign-in is not set up yet for your organisation",
                                     "Your organisation has an Inigo account, but its Okta connection has not "
                                     "been set up yet.",
                                     "Your Okta administrator finishes the setup with the link Inigo support sent "
                                     "them; ask them, or Inigo support, for a new link if it has expired."),
    "tenant_no_secret": Failure(502, "Sign-in is not fully set up for your organisation",
                                "Inigo does not hold a usable client secret for this organisation's Okta app.",
                                _ASK_SUPPORT),
    "target_link_invalid": Failure(400, "This sign-in link points outside Inigo",
                                   "The link asked Inigo to send you to another site after signing in, "
                                   "which Inigo never does.", _START_AGAIN),
    "email_domain_unknown": Failure(404, "We don't recognise that email domain",
                                    "No organisation in Inigo signs in with this email domain.",
                                    "Check the address, or sign in from your Okta dashboard."),
    # The browser comes back from Okta.
    "state_missing": Failure(400, "This sign-in has expired or was already used",
                             "Inigo could not match this response from Okta to a sign-in started in this browser. "
                             "It may have been used already, have taken more than 10 minutes, or come from "
                             "another browser.", _START_AGAIN),
    "state_expired": Failure(400, "This sign-in has expired",
                             "More than 10 minutes passed between starting the sign-in and coming back from Okta.",
                             _START_AGAIN),
    "callback_tenant_mismatch": Failure(400, "This sign-in came back to the wrong organisation",
                                        "The answer from Okta arrived at another organisation's sign-in address "
                                        "than the one this sign-in was started for, so Inigo did not use it.",
                                        _START_AGAIN),
    "callback_iss_mismatch": Failure(400, "This sign-in answer did not come from your organisation's Okta",
                                     "The answer named a different Okta org than the one this sign-in was sent "
                                     "to, or none where your Okta always names itself, so Inigo did not use it.",
                                     _START_AGAIN),
    "callback_legacy_url": Failure(400, "Your organisation's Okta app needs a new sign-in redirect URI",
                                   "Okta sent you back to Inigo's old shared sign-in address. Each organisation "
                                   "now has its own, and the old one no longer signs anyone in.",
                                   "Ask your Okta administrator to set the Inigo app's Sign-in redirect URI to "
                                   "https://<inigo host>/oidc/callback/<your organisation's Inigo slug>/ "
                                   "(General tab, Login), then click the Inigo tile again."),
    "callback_malformed": Failure(400, "This sign-in response is not valid",
                                  "The response from Okta was missing its authorization code.", _START_AGAIN),
    "access_denied": Failure(403, "Okta did not let you into Inigo",
                             "Okta refused the sign-in.",
                             "Ask your Okta administrator to check your access to the Inigo app."),
    "user_not_assigned": Failure(403, "You are not assigned to Inigo in Okta",
                                 "Okta says you are not assigned to the Inigo app: "
                                 "\u201cUser is not assigned to the client application.\u201d",
                                 "Ask your Okta administrator to assign you the Inigo app (directly or through "
                                 "a group), then click the Inigo tile on your Okta dashboard again."),
    "provider_error": Failure(400, "Okta could not complete the sign-in",
                              "Okta returned an error instead of signing you in.", _START_AGAIN),
    "user_inactive": Failure(403, "Your Inigo account is switched off",
                             "Okta signed you in, but your account in Inigo has been deactivated.",
                             "Ask the owner of your organisation in Inigo, or Inigo support, to reactivate it."),
    # Talking to Okta.
    "provider_unreachable": Failure(502, "Okta cannot be reached",
                                    "Inigo could not reach your organisation's Okta to finish the sign-in.",
                                    "Wait a minute and try again. If it keeps happening, contact Inigo support."),
    "provider_address_refused": Failure(502, "Your organisation's Okta settings point inside our network",
                                        "Okta's settings name an address Inigo never contacts (a private or "
                                        "internal network), so the sign-in stopped.", _ASK_SUPPORT),
    "provider_bad_response": Failure(502, "Okta sent an unexpected answer",
                                     "Inigo could not understand your organisation's Okta.", _ASK_SUPPORT),
    "discovery_issuer_mismatch": Failure(502, "Your organisation's Okta settings don't match",
                                         "Okta reports a different issuer than the one Inigo has on file.",
                                         _ASK_SUPPORT),
    "token_rejected": Failure(400, "Okta did not accept this sign-in",
                              "Okta refused to exchange the sign-in code; it may have expired or been used.",
                              _START_AGAIN),
    "client_rejected": Failure(502, "Okta did not accept Inigo's credentials",
                               "The Client ID or Client Secret Inigo holds for your organisation was refused "
                               "by Okta.", _ASK_SUPPORT),
}

# ID token and userinfo checks (OIDC Core 3.1.3.7, 5.3.2): the proof of identity did not hold.
_INVALID_TOKEN = Failure(403, "Your sign-in could not be verified",
                         "The proof of identity Okta sent did not pass Inigo's checks, so you were not signed in.",
                         _START_AGAIN + " If it happens again, contact Inigo support.")
TOKEN_REASONS = (
    "id_token_missing", "id_token_malformed", "id_token_alg", "id_token_signature", "id_token_unknown_kid",
    "id_token_iss", "id_token_aud", "id_token_azp", "id_token_expired", "id_token_iat_future",
    "id_token_missing_claim", "id_token_nonce", "userinfo_sub_mismatch", "userinfo_invalid",
)
FAILURES.update(dict.fromkeys(TOKEN_REASONS, _INVALID_TOKEN))


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
