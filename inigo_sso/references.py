"""References for support: short codes a person reads off an error page and quotes to Inigo support.

A login event has its own (10 characters, stored, searchable in admin: Login events). A page without a login event
(404, an expired form, too many requests) shows one derived from the request id (8 characters), which the request's
log line carries too. The alphabet leaves out look-alikes (0/O, 1/I/L, U/V) so a reference survives being read
aloud or typed from a screenshot."""

import hashlib
import secrets

from django.utils.crypto import get_random_string

ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
EVENT_REFERENCE_LENGTH = 10  # 29**10, about 4e14: a clash among millions of events is rare (and drawn again)
REQUEST_REFERENCE_LENGTH = 8


def new_reference() -> str:
    return get_random_string(EVENT_REFERENCE_LENGTH, ALPHABET)


def new_references(count: int) -> list[str]:
    """`count` references, each as new_reference() draws one (every letter uniform over ALPHABET, from the secrets
    module), from one random number each rather than one per letter: 50,000 of them took 1.6 s one letter at a
    time. The digits of a number uniform below len(ALPHABET) ** length, in base len(ALPHABET), are independent and
    uniform."""
    references = []
    for _ in range(count):
        number = secrets.randbelow(len(ALPHABET) ** EVENT_REFERENCE_LENGTH)
        letters = []
        for _ in range(EVENT_REFERENCE_LENGTH):
            number, digit = divmod(number, len(ALPHABET))
            letters.append(ALPHABET[digit])
        references.append("".join(letters))
    return references


def reference_from_request_id(request_id: str) -> str:
    """The same request id always gives the same reference, so support can find the log line from the page."""
    number = int.from_bytes(hashlib.sha256(request_id.encode()).digest()[:8], "big")
    letters = []
    for _ in range(REQUEST_REFERENCE_LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        letters.append(ALPHABET[digit])
    return "".join(letters)
