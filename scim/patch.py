"""PATCH (RFC 7644 section 3.5.2) applied to a resource's JSON, so that a PATCH is checked exactly as a PUT of the
result is: one set of rules for what may be stored.

Supported: `add`, `replace` and `remove`; with no `path` and an object `value` (Okta's deactivation
`{"op": "replace", "value": {"active": false}}`); with a path `attr`, `attr.sub`, the filtered `emails[...]`
forms (Inigo keeps one email), and `roles[value eq "<role>"]` (scim.roles). Group member paths are handled in
services, where members are users.
"""

import copy
import re
from typing import Any

from scim.errors import ScimError
from scim.filters import parse_value_path

_FILTERED = re.compile(r"^(?P<attr>\w+)\[[^\]]*\](?:\.(?P<sub>\w+))?$")


def operations(body: dict[str, Any], patch_schema: str) -> list[dict[str, Any]]:
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or patch_schema not in schemas:
        raise ScimError(400, f"A PATCH body must name the schema {patch_schema}.", "invalidSyntax")
    ops = body.get("Operations", body.get("operations"))
    if not isinstance(ops, list) or not ops or len(ops) > 1000:
        raise ScimError(400, "Operations must be a non-empty list.", "invalidSyntax")
    checked = []
    for op in ops:
        if not isinstance(op, dict) or not isinstance(op.get("op"), str):
            raise ScimError(400, "Each operation must be an object with an op.", "invalidSyntax")
        name = op["op"].lower()
        if name not in ("add", "replace", "remove"):
            raise ScimError(400, f"Unknown PATCH op {op['op']!r}.", "invalidSyntax")
        path = op.get("path")
        if path is not None and (not isinstance(path, str) or not path.strip() or "\x00" in path):
            raise ScimError(400, "path must be a non-empty string.", "invalidPath")
        if name != "remove" and "value" not in op:
            raise ScimError(400, f"The op {name} needs a value.", "invalidValue")
        if name == "remove" and path is None:
            raise ScimError(400, "remove needs a path (RFC 7644 section 3.5.2.2).", "noTarget")
        checked.append({"op": name, "path": path.strip() if path else None, "value": op.get("value")})
    return checked


def strip_schema(path: str, schema: str) -> str:
    return path[len(schema) + 1:] if path.lower().startswith(schema.lower() + ":") else path


def apply_user_patch(resource: dict[str, Any], ops: list[dict[str, Any]], *, schema: str,
                     attributes: set[str]) -> dict[str, Any]:
    """The user resource after `ops`; `attributes` are the lower-cased top-level names that may be patched."""
    result = copy.deepcopy(resource)
    for op in ops:
        if op["path"] is None:
            if not isinstance(op["value"], dict):
                raise ScimError(400, "Without a path, the value must be an object.", "invalidValue")
            for key, value in op["value"].items():
                if not isinstance(key, str):
                    raise ScimError(400, "Attribute names must be strings.", "invalidPath")
                name = strip_schema(key, schema)
                if name.split(".")[0].lower() in attributes:
                    _set(result, name, value, op["op"])
                # other attributes (Okta's locale, title, ...) are not kept, as in a PUT
            continue
        _at_path(result, strip_schema(op["path"], schema), op, attributes)
    return result


def _key(resource: dict[str, Any], name: str) -> str:
    return next((key for key in resource if key.lower() == name.lower()), name)


def _set(resource: dict[str, Any], name: str, value: Any, op: str) -> None:
    head, _, sub = name.partition(".")
    key = _key(resource, head)
    if sub:
        parent = resource.get(key)
        if not isinstance(parent, dict):
            parent = {}
        parent[_key(parent, sub)] = value
        resource[key] = parent
    elif op == "add" and isinstance(value, list) and isinstance(resource.get(key), list):
        resource[key] = value + resource[key]  # added values first: a new primary email wins
    elif op == "add" and isinstance(value, dict) and isinstance(resource.get(key), dict):
        resource[key] = {**resource[key], **value}
    else:
        resource[key] = value


def _at_path(resource: dict[str, Any], path: str, op: dict[str, Any], attributes: set[str]) -> None:
    filtered = _FILTERED.match(path)
    if filtered:
        attr, sub = filtered["attr"], filtered["sub"]
        if attr.lower() == "roles" and "roles" in attributes:
            _at_role_path(resource, path, op)
            return
        if attr.lower() != "emails":
            raise ScimError(400, f"The path {path!r} is not supported.", "invalidPath")
        # One email is kept: a filtered emails path addresses it.
        key = _key(resource, "emails")
        if op["op"] == "remove":
            resource[key] = []
        elif sub:
            current = dict((resource.get(key) or [{}])[0]) if isinstance(resource.get(key), list) else {}
            current[sub] = op["value"]
            resource[key] = [current]
        else:
            resource[key] = [op["value"]]
        return
    if path.split(".")[0].lower() not in attributes:
        raise ScimError(400, f"The path {path!r} is not an attribute Inigo supports.", "invalidPath")
    if op["op"] == "remove":
        head, _, sub = path.partition(".")
        key = _key(resource, head)
        if sub and isinstance(resource.get(key), dict):
            resource[key].pop(_key(resource[key], sub), None)
        else:
            resource.pop(key, None)
        return
    _set(resource, path, op["value"], op["op"])


def _at_role_path(resource: dict[str, Any], path: str, op: dict[str, Any]) -> None:
    """`roles[value eq "<role>"]`: remove takes that role away (and is a success when the person does not hold it,
    as Okta may send it twice); replace puts `value` in its place, and needs the role there (RFC 7644 section
    3.5.2.3: no match is 400 `noTarget`); add puts `value` beside the others. scim.roles then checks every value."""
    wanted = parse_value_path(path, "roles")
    if wanted is None:
        raise ScimError(400, 'Only the filter roles[value eq "<role>"] is supported on roles.', "invalidPath")
    key = _key(resource, "roles")
    current = resource.get(key) if isinstance(resource.get(key), list) else []
    kept = [role for role in current if not (isinstance(role, dict) and str(role.get("value", "")).lower()
                                             == wanted.lower())]
    if op["op"] == "replace" and len(kept) == len(current):
        raise ScimError(400, f"The person holds no role {wanted[:64]!r} to replace.", "noTarget")
    if op["op"] == "remove":
        resource[key] = kept
        return
    added = op["value"] if isinstance(op["value"], list) else [op["value"]]
    resource[key] = (kept if op["op"] == "replace" else current) + added
