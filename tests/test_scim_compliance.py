"""An independent check: python-scim's scim2-tester, through its `scim2 test` command (scim2-cli), against the live
server with a tenant's token. Its checks and the failures that remain are listed in the README ("What the SCIM
compliance suite checks"); each remaining failure is named here with its reason, so any new failure fails this test.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scim_helpers import scim_for

# (check, words in its reason): failures that remain on purpose, each explained in the README.
KNOWN_FAILURES = [
    # POST /.search (RFC 7644 section 3.4.3): Okta never searches by POST; GET with filter is served.
    ("search_with_attributes", "No such SCIM endpoint"),
    # Inigo keeps one email, the primary one, and answers it as type "work", primary true: a random type or a
    # non-primary email does not come back as sent.
    ("check_add_attribute", "unexpected value for 'emails'"),
    ("check_replace_attribute", "unexpected value for 'emails'"),
    # externalId is the Okta user id, the sub its sign-ins carry: a PATCH does not remove it (one person, one user).
    ("check_remove_attribute", "did not remove attribute 'externalId'"),
    # `active` has no "unassigned" state here: removing it leaves the person as they are (Okta sends false).
    ("check_remove_attribute", "did not remove attribute 'active'"),
    # A member's `type` is "User", set by Inigo (members are users); the suite sends a random string.
    ("check_add_attribute", "unexpected value for 'members'"),
    ("check_replace_attribute", "unexpected value for 'members'"),
    # Each role comes back with its display name ("Admin"), set by Inigo (scim.roles); the suite sends none.
    ("check_add_attribute", "unexpected value for 'roles'"),
    ("check_replace_attribute", "unexpected value for 'roles'"),
    # The suite runs every resource type's CRUD checks, and each starts by creating one: Roles are Inigo's own,
    # read-only (Okta reads them and assigns them on users), so POST /Roles answers 405.
    *((check, "POST is not supported here") for check in (
        "object_creation", "object_query", "object_query_without_id", "object_query_with_attributes",
        "object_list_with_attributes", "search_with_attributes", "object_replacement", "object_deletion",
        "check_add_attribute", "check_remove_attribute", "check_replace_attribute",
    )),
]
_LINE = re.compile(r"^(SUCCESS|ERROR|CRITICAL|WARNING|SKIPPED|UNKNOWN) (\w+)$")


def scim2_command() -> str:
    found = shutil.which("scim2") or str(Path(sys.executable).parent / "scim2")
    if not Path(found).exists():
        pytest.fail("the scim2 command (scim2-cli, in the test extras of pyproject.toml) is not installed")
    return found


def results(output: str) -> list[tuple[str, str, str]]:
    lines = output.splitlines()
    found = []
    for number, line in enumerate(lines):
        match = _LINE.match(line.strip())
        if match:
            reason = lines[number + 1].strip() if number + 1 < len(lines) else ""
            found.append((match[1], match[2], reason))
    return found


@pytest.mark.django_db(transaction=True)
def test_scim2_tester_passes_but_for_the_known_failures(live_server, acme, capsys):
    token = scim_for(acme).authorization.removeprefix("Bearer ")
    # The token goes by environment, not on the command line where other users of the machine could read it.
    env = {**os.environ, "SCIM_CLI_HEADERS": f"Authorization: Bearer {token}"}
    run = subprocess.run([scim2_command(), "--url", f"{live_server.url}/scim/v2", "test", "-v"],
                         capture_output=True, text=True, env=env, timeout=600, check=False)
    checks = results(run.stdout)

    unexpected = [(status, name, reason) for status, name, reason in checks
                  if status != "SUCCESS" and not any(name == known and words in reason
                                                     for known, words in KNOWN_FAILURES)]
    passed = sum(status == "SUCCESS" for status, _name, _reason in checks)
    with capsys.disabled():
        # Worded so that no tool reading test output takes it for the suite's closing line.
        print(f"\nscim2-tester checks: {passed} of {len(checks)} succeed; the other {len(checks) - passed} "
              f"({len(checks) - passed - len(unexpected)} of them known, see README) do not")
    assert passed >= 50, run.stdout[-3000:] + run.stderr[-2000:]
    assert unexpected == [], unexpected
