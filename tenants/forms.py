"""The tenant form support staff fill in from what a customer sends: Okta domain, Client ID, Client Secret."""

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator

from tenants.issuers import IssuerError, refuse_private_host
from tenants.models import Tenant

# Help text under the client secret field: the page says whether a secret is stored, never what it is.
STORED_HELP = "A secret is stored. Leave empty to keep it; type a new one to replace it."
MISSING_HELP = (
    "No secret is stored, so every sign-in for this tenant fails. Paste the Client Secret from the customer's "
    "Okta app."
)
NEW_HELP = (
    "From the customer's Okta app (General tab, Client Credentials). Encrypted at rest and never shown again."
)
EMPTY_DOMAIN_MESSAGE = "Enter the customer's Okta domain, for example acme.okta.com."

MAX_RECHECK_MINUTES = 24 * 60  # a session lasts 12 hours: a longer period would never be due

_post_logout_field = Tenant._meta.get_field("post_logout_redirect_uri")


class TenantAdminForm(forms.ModelForm):
    # Write-only: the stored secret is never rendered, not even masked (render_value=False), and the browser
    # is told this is a new password so it does not autofill the support person's own admin password here
    # (which would then silently replace the customer's secret on save).
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    # Declared so a scheme-less address means https (Django 6's default), with the model's label and help.
    post_logout_redirect_uri = forms.URLField(
        label=_post_logout_field.verbose_name,
        help_text=_post_logout_field.help_text,
        required=False,
        max_length=_post_logout_field.max_length,
        assume_scheme="https",
    )

    class Meta:
        model = Tenant
        fields = [
            "name", "slug", "is_active", "okta_domain", "client_id", "client_secret", "email_domains",
            "post_logout_redirect_uri", "session_recheck_minutes",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # model_to_dict put the decrypted secret into the initial values; nothing reads it from there, and
        # without it "changed" means "a new secret was typed", which is what the admin log should record.
        self.initial.pop("client_secret", None)
        self.fields["okta_domain"].error_messages["required"] = EMPTY_DOMAIN_MESSAGE
        recheck = self.fields["session_recheck_minutes"]
        recheck.required = False  # empty means off
        recheck.max_value = MAX_RECHECK_MINUTES
        recheck.widget.attrs["max"] = MAX_RECHECK_MINUTES
        recheck.validators.append(MaxValueValidator(MAX_RECHECK_MINUTES))
        field = self.fields["client_secret"]
        if self.instance.pk is None:
            field.required = True
            field.help_text = NEW_HELP
        elif self.instance.has_client_secret:
            field.help_text = STORED_HELP
        else:
            field.help_text = MISSING_HELP

    def clean_session_recheck_minutes(self) -> int:
        return self.cleaned_data.get("session_recheck_minutes") or 0

    def clean_client_secret(self) -> str:
        secret = self.cleaned_data["client_secret"]
        if not secret and self.instance.pk is not None:
            return self.instance.client_secret  # left empty on edit: keep the stored secret
        return secret

    def _post_clean(self) -> None:
        # The model derives the issuer from okta_domain and refuses what is not one (Tenant.clean), with one
        # message per mistake. The checks below need that issuer, so they run after it, and only when it held.
        domain_failed = "okta_domain" in self.errors  # empty: the field's own check, which runs first
        super()._post_clean()
        if domain_failed:
            # The model then checks the value the instance had before (nothing, on add) and would repeat it.
            del self.errors["okta_domain"][1:]
            return
        if "okta_domain" in self.errors:
            return
        issuer = self.instance.issuer
        if "okta_domain" in self.changed_data:
            # Inigo fetches documents from the issuer server-side: it must not be pointed at our own network,
            # and a typo'd domain that resolves nowhere is caught here, in development as in production (the
            # local allow-list admits loopback providers). Only when the domain changes, so an old tenant whose
            # domain no longer resolves can still be switched off or edited.
            try:
                refuse_private_host(issuer)
            except IssuerError as exc:
                self.add_error("okta_domain", str(exc))
                return
        if "client_id" in self.errors:
            return
        # The database holds (issuer, client_id) unique; the model form cannot check it because `issuer` is not
        # a form field, so say it here rather than fail on save with an IntegrityError.
        other = (
            Tenant.objects.filter(issuer=issuer, client_id=self.instance.client_id)
            .exclude(pk=self.instance.pk)
            .only("name", "slug")
            .first()
        )
        if other is not None:
            self.add_error(
                "client_id",
                f"{other.name} ({other.slug}) already uses this Client ID with the Okta org {issuer}. Each install "
                "of the Inigo app in Okta has its own Client ID: check that you copied the one of this customer's "
                "app.",
            )
