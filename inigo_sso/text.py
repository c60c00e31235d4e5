"""Text the database can store. PostgreSQL's text types refuse the NUL character (and a Python string holding a
lone surrogate, which JSON's \\ud800 escapes can produce, cannot even be encoded as UTF-8): such input would end
in a 500 at the first INSERT or WHERE. Requests carrying them are refused at the door (inigo_sso.middleware);
provider JSON, which arrives after the door, is cleaned where it is stored."""

import re

# NUL, and the surrogate code points (U+D800-U+DFFF) that have no UTF-8 encoding.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def is_storable(value: str) -> bool:
    return _UNSTORABLE.search(value) is None


def storable(value: str) -> str:
    """`value` without the characters PostgreSQL text refuses."""
    return _UNSTORABLE.sub("", value)
