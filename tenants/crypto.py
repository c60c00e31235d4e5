"""Encryption at rest for client secrets: MultiFernet over SSO_ENCRYPTION_KEYS.

The first key encrypts; every key decrypts, so a new key can be put first and the old ones kept until
`reencrypt_secrets` has rewritten every secret under the new key.
"""

import logging
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

logger = logging.getLogger(__name__)


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "SSO_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64-encoded bytes)."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.SSO_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str | None:
    """The plaintext, or None when no configured key decrypts it (the key was removed too early)."""
    try:
        return fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        logger.error("A stored client secret cannot be decrypted with any key in SSO_ENCRYPTION_KEYS.")
        return None


def reencrypt(ciphertext: str) -> str:
    """The same secret under the first key (MultiFernet.rotate)."""
    return fernet().rotate(ciphertext.encode()).decode()


def _clear_cache(*, setting: str, **kwargs: object) -> None:
    if setting == "SSO_ENCRYPTION_KEYS":
        _fernet.cache_clear()


setting_changed.connect(_clear_cache)
