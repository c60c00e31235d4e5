"""The tenant form support staff fill in from what a customer sends: Okta domain, Client ID, Client Secret."""

from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, RegexValidator
from django.utils.text import capfirst

from tenants.issuers import IssuerError, issuer_from_okta_domain, refuse_private_host
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
AWAITING_HELP = (
    "Or leave the Okta domain, Client ID and Client Secret empty: the tenant then awaits setup, and a setup link "
    "lets the customer's Okta administrator enter them."
)
EMPTY_DOMAIN_MESSAGE = "Enter the customer's Okta domain, for example acme.okta.com."
ISSUER_CHANGE_HELP = (
    "Another Okta org (another issuer) clears the stored Client Secret, which belongs to this one: type the new "
    "org's Client Secret below in the same save. The same org written another way (acme.okta.com, "
    "https://acme.okta.com/) keeps it."
)

MAX_RECHECK_MINUTES = 24 * 60  # a session lasts 12 hours: a longer period would never be due

_post_logout_field = Tenant._meta.get_field("post_logout_redirect_uri")


# Client IDs and secrets are printable ASCII without spaces (Okta's are letters, digits and -_.~); anything else
# is a paste gone wrong, refused before Okta is asked.
_PRINTABLE_ASCII = RegexValidator(r"^[\x21-\x7e]+$", "Paste the value exactly as Okta shows it: letters, digits "
                                  "and punctuation only, without spaces.")


class TenantAdminForm(forms.ModelForm):
    # Write-only: the stored secret is never rendered, not even masked (render_value=False), and the browser
    # is told this is a new password so it does not autofill the support person's own admin password here
    # (which would then silently replace the customer's secret on save).
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        max_length=500,
        # HTTP Basic sends it as Latin-1: a curly quote pasted from a document would fail every sign-in.
        validators=[_PRINTABLE_ASCII],
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    # Declared so a scheme-less address means https (Django 6's default), with the model's label and help.
    post_logout_redirect_uri = forms.URLField(
        label=capfirst(_post_logout_field.verbose_name),  # as the admin writes the labels it makes itself
        help_text=_post_logout_field.help_text,
        required=False,
        max_length=_post_logout_field.max_length,
        assume_scheme="https",
    )

    class Meta:
        model = Tenant
        fields = [
            "name", "slug", "is_active", "okta_domain", "client_id", "client_secret", "email_domains",
            "post_logout_redirect_uri", "session_recheck_minutes", "role_source",
        ]

    def clean_role_source(self) -> str:
        return self.cleaned_data.get("role_source") or self.instance.role_source

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # model_to_dict put the decrypted secret into the initial values; nothing reads it from there, and
        # without it "changed" means "a new secret was typed", which is what the admin log should record.
        self.initial.pop("client_secret", None)
        if "role_source" in self.fields:  # left out: as it is (a new tenant's: inigo)
            self.fields["role_source"].required = False
        recheck = self.fields["session_recheck_minutes"]
        recheck.required = False  # empty means off
        recheck.max_value = MAX_RECHECK_MINUTES
        recheck.widget.attrs["max"] = MAX_RECHECK_MINUTES
        recheck.validators.append(MaxValueValidator(MAX_RECHECK_MINUTES))
        # A new tenant, or one still awaiting setup, may be saved with none of the three Okta values (the customer
        # enters them on the setup page); one that has them cannot lose them here.
        self.may_await_setup = self.instance.pk is None or self.instance.is_awaiting_setup
        # The admin leaves out the fields its policy shows read-only to this person (support.tenant_admin).
        if domain := self.fields.get("okta_domain"):
            domain.error_messages["required"] = EMPTY_DOMAIN_MESSAGE
            domain.required = not self.may_await_setup
            if not self.may_await_setup:
                domain.help_text = f"{domain.help_text} {ISSUER_CHANGE_HELP}"
        if not self.may_await_setup and "client_id" in self.fields:
            self.fields["client_id"].required = True
        if field := self.fields.get("client_secret"):
            field.help_text = self._secret_help()

    def _secret_help(self) -> str:
        if self.instance.pk is None:
            return NEW_HELP + " " + AWAITING_HELP
        return STORED_HELP if self.instance.has_client_secret else MISSING_HELP

    def clean_session_recheck_minutes(self) -> int:
        return self.cleaned_data.get("session_recheck_minutes") or 0

    def clean_client_secret(self) -> str:
        secret = self.cleaned_data["client_secret"]
        if not secret and self.instance.pk is not None:
            return self.instance.client_secret  # left empty on edit: keep the stored secret
        return secret

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.may_await_setup:
            return cleaned
        okta_values = {name: cleaned.get(name) for name in ("okta_domain", "client_id", "client_secret")}
        if any(name in self.errors for name in okta_values):
            return cleaned
        if not any(okta_values.values()):
            cleaned["is_active"] = False  # awaiting setup: nothing to sign in with yet (a database constraint too)
            return cleaned
        for name, value in okta_values.items():
            if not value and name != "client_id":  # an empty Client ID next to a domain: Tenant.clean says it
                self.add_error(name, self.fields[name].error_messages["required"])
        return cleaned

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
        if "client_id" in self.errors or self.instance.is_awaiting_setup:
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


class SetupForm(forms.Form):
    """The customer's half of the setup page. The secret field is write-only, like the admin's: never rendered
    back, not even after a failed check."""

    okta_domain = forms.CharField(
        label="Okta domain", max_length=255,
        help_text="Your Okta organisation's address, for example acme.okta.com. A custom URL domain is entered by "
                  "Inigo support.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "acme.okta.com"}),
    )
    client_id = forms.CharField(
        label="Client ID", max_length=255, validators=[_PRINTABLE_ASCII],
        help_text="Inigo app in Okta, General tab, Client Credentials.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    client_secret = forms.CharField(
        label="Client Secret", max_length=500, validators=[_PRINTABLE_ASCII],
        help_text="Same place. Sent to Inigo once, encrypted at rest, never shown again.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.issuer = tenant.issuer
        if not tenant.is_awaiting_setup:
            # A new issuer would orphan every user: on a tenant already set up, the domain is shown, not changed.
            field = self.fields["okta_domain"]
            field.disabled = True
            field.required = False
            field.help_text = "Set when your organisation was set up; Inigo support can change it."
            self.initial["okta_domain"] = tenant.okta_domain
            self.fields["client_id"].help_text = (
                "The new values from the Inigo app in Okta. The current ones keep working until these pass."
            )

    def clean_okta_domain(self) -> str:
        domain = self.cleaned_data["okta_domain"]
        if not self.tenant.is_awaiting_setup:
            return self.tenant.okta_domain
        try:
            self.issuer = issuer_from_okta_domain(domain, allow_insecure=settings.SSO_ALLOW_INSECURE_ISSUERS)
            refuse_private_host(self.issuer)  # never fetch documents from inside our own network
        except IssuerError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return domain

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        client_id = cleaned.get("client_id")
        if client_id and "okta_domain" not in self.errors:
            other = Tenant.objects.filter(issuer=self.issuer, client_id=client_id).exclude(pk=self.tenant.pk)
            if other.exists():
                self.add_error(
                    "client_id",
                    "This Client ID belongs to another organisation's install of the Inigo app. Copy the Client "
                    "ID of the Inigo app you installed for this organisation.",
                )
        return cleaned
