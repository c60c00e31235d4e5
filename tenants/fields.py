from typing import Any

from django.db import models

from tenants import crypto


class EncryptedSecretField(models.TextField):
    """A text field whose value is a plaintext str in Python and a Fernet token in the database.

    An empty value means "no secret set" and is stored as the empty string. A value no configured key can
    decrypt reads as the empty string (logged), so the tenant shows as having no secret and sign-in refuses it.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str:
        if not value:
            return ""
        return crypto.decrypt(value) or ""

    def get_prep_value(self, value: Any) -> str:
        value = super().get_prep_value(value)
        if not value:
            return ""
        return crypto.encrypt(value)

    def deconstruct(self) -> tuple[Any, ...]:
        name, _path, args, kwargs = super().deconstruct()
        return name, "tenants.fields.EncryptedSecretField", args, kwargs
