"""The SCIM filters this service answers (RFC 7644 section 3.4.2.2), parsed strictly.

Okta sends exactly one form, `userName eq "..."`, and the Push Groups `members[value eq "..."]` path. A general
filter library (scim2-filter-parser) would accept the whole grammar, and everything it accepts would then have to
become a tenant-scoped, indexed query or a refusal anyway; so this module accepts `<attribute> eq "<string>"` for
the attributes each resource type lists, and answers 400 `invalidFilter` for anything else: nothing reaches the
database that an index does not serve.
"""

import json
import re

from inigo_sso.text import is_storable
from scim.errors import ScimError

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

# attrPath SP "eq" SP compValue, compValue a JSON string (RFC 7644 section 3.4.2.2, ABNF in figure 1).
_EQ = re.compile(r'^\s*(?P<attr>[A-Za-z][\w:.\-]*)\s+(?P<op>[A-Za-z]{2})\s+(?P<value>"(?:[^"\\]|\\.)*")\s*$')
# A valuePath of a multi-valued attribute (RFC 7644 section 3.5.2, "attrPath[valFilter]"): only `value eq "..."`.
_VALUE_PATH = re.compile(r'^\s*(?P<attr>\w+)\s*\[\s*value\s+eq\s+(?P<value>"(?:[^"\\]|\\.)*")\s*\]\s*$', re.IGNORECASE)
MAX_FILTER_LENGTH = 1000


def _string(literal: str) -> str:
    try:
        value = json.loads(literal)
    except ValueError as exc:
        raise ScimError(400, "The filter's value is not a valid JSON string.", "invalidFilter") from exc
    if not isinstance(value, str) or not is_storable(value):
        raise ScimError(400, "The filter's value is not a valid string.", "invalidFilter")
    return value


def _attribute(name: str, schema: str) -> str:
    # Attribute names are case-insensitive and may carry the schema URN (RFC 7644 section 3.10).
    prefix = schema.lower() + ":"
    name = name.lower()
    return name[len(prefix):] if name.startswith(prefix) else name


def parse_eq_filter(text: str, *, schema: str, attributes: set[str]) -> tuple[str, str]:
    """(attribute, value) of `<attribute> eq "<value>"`; `attributes` are the lower-cased names allowed."""
    if len(text) > MAX_FILTER_LENGTH or "\x00" in text:
        raise ScimError(400, "The filter is too long or holds a NUL character.", "invalidFilter")
    match = _EQ.match(text)
    if match is None:
        raise ScimError(400, 'Only filters of the form  attribute eq "value"  are supported.', "invalidFilter")
    if match["op"].lower() != "eq":
        raise ScimError(400, f"The operator {match['op']!r} is not supported; use eq.", "invalidFilter")
    attribute = _attribute(match["attr"], schema)
    if attribute not in attributes:
        raise ScimError(400, f"Filtering on {match['attr']!r} is not supported.", "invalidFilter")
    return attribute, _string(match["value"])


def parse_value_path(text: str, attribute: str) -> str | None:
    """The value of the path `<attribute>[value eq "<value>"]`, or None when the path is not of that form."""
    match = _VALUE_PATH.match(text)
    return _string(match["value"]) if match and match["attr"].lower() == attribute else None


def parse_member_path(text: str) -> str | None:
    """The user id of the path `members[value eq "<id>"]`, or None when the path is not of that form."""
    return parse_value_path(text, "members")
