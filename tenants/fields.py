from typing import Any

from django.db import models

from tenants import crypto

# How a serialised secret is marked (dumpdata, loaddata): a Fernet token, not a secret to encrypt once more.
SERIALIZED_PREFIX = "fernet:"


class StoredSecret(str):
    """A secret as read from the database: its type tells the model that nobody typed or assigned it since, so it
    is still the secret of the issuer it was saved with (tenants.models.Tenant.save clears it when that issuer
    changes). Any value assigned in code or typed in a form is a plain str: a secret entered for the new issuer."""


class UndecryptableSecret(StoredSecret):
    """What a stored secret reads as when no configured key decrypts it: empty (no usable secret), but it keeps
    the ciphertext so that saving the tenant for another reason does not wipe a secret the right key could
    still read."""

    ciphertext: str

    def __new__(cls, ciphertext: str) -> "UndecryptableSecret":
        secret = super().__new__(cls, "")
        secret.ciphertext = ciphertext
        return secret


class EncryptedSecretField(models.TextField):
    """A text field whose value is a plaintext str in Python and a Fernet token in the database.

    An empty value means "no secret set" and is stored as the empty string. A value no configured key can
    decrypt reads as an empty UndecryptableSecret (logged), so the tenant shows as having no secret and sign-in
    refuses it, and is written back unchanged.
    """

    def get_lookup(self, lookup_name: str) -> Any:
        # A filter on the stored ciphertext (admin's `?client_secret__regex=^gAAAA[A-M]`, __contains, __gt) answers
        # yes or no about it, and a few hundred of them read it whole: only "is there a secret" may be asked.
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str:
        if not value:
            return ""
        plaintext = crypto.decrypt(value)
        return UndecryptableSecret(value) if plaintext is None else StoredSecret(plaintext)

    def value_to_string(self, obj: Any) -> str:
        # dumpdata and other serialisers get the ciphertext, never the plaintext; to_python reads it back.
        stored = self.get_prep_value(self.value_from_object(obj))
        return SERIALIZED_PREFIX + stored if stored else ""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith(SERIALIZED_PREFIX):
            ciphertext = value.removeprefix(SERIALIZED_PREFIX)
            plaintext = crypto.decrypt(ciphertext)
            return UndecryptableSecret(ciphertext) if plaintext is None else plaintext
        return super().to_python(value)

    def get_prep_value(self, value: Any) -> str:
        if isinstance(value, UndecryptableSecret):
            return value.ciphertext
        value = super().get_prep_value(value)
        if not value:
            return ""
        return crypto.encrypt(value)

    def deconstruct(self) -> tuple[Any, ...]:
        name, _path, args, kwargs = super().deconstruct()
        return name, "tenants.fields.EncryptedSecretField", args, kwargs
