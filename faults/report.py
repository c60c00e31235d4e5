"""The figures of a scenario, read from its traffic record and the database, and the one table with its targets."""

import base64
import json
import re
import statistics
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from faults.scenarios import Scenario, Timing
from faults.traffic import Recorder, SignIn

BYSTANDER_P95_MS = 500


@dataclass
class Result:
    scenario: Scenario
    attempted: int = 0
    ok: int = 0
    right: Counter[str] = field(default_factory=Counter)  # failures with the right page, by reason
    wrong: Counter[str] = field(default_factory=Counter)  # other failures, by "status reason"
    fives: Counter[int] = field(default_factory=Counter)  # every 5xx answer, by status
    unexpected_5xx: int = 0  # 5xx that is not a right page (a 500, or a 503 outside the database scenario)
    cut: int = 0
    cut_retried_ok: int = 0
    lost: list[str] = field(default_factory=list)
    recovery: float | None = None  # seconds
    recovery_target: float | None = None
    later_failures: int = 0  # answers after the fault ended that were 5xx or cut
    bystander_ms: tuple[float, float] = (float("nan"), float("nan"))  # p50, p95
    notes: dict[str, str] = field(default_factory=dict)
    details: Counter[str] = field(default_factory=Counter)  # the failed login events' details, numbers blanked

    def misses(self) -> list[str]:
        out = []
        if self.fives[500] or self.unexpected_5xx:
            out.append(f"{self.unexpected_5xx} unexpected 5xx ({self.fives[500]} x 500)")
        if self.lost:
            out.append(f"{len(self.lost)} acknowledged writes lost")
        if self.wrong:
            out.append(f"{sum(self.wrong.values())} sign-ins failed without the right page")
        if self.cut_retried_ok < self.cut:
            out.append(f"{self.cut - self.cut_retried_ok} cut sign-ins whose retry failed")
        if self.recovery_target is not None and (self.recovery is None or self.recovery > self.recovery_target):
            out.append(f"recovery {_seconds(self.recovery)} > {self.recovery_target:g} s")
        if not self.scenario.provider and self.later_failures:
            out.append(f"{self.later_failures} requests failed after the fault ended")
        if self.scenario.provider and not self.bystander_ms[1] <= BYSTANDER_P95_MS:
            out.append(f"bystander p95 {self.bystander_ms[1]:.0f} ms > {BYSTANDER_P95_MS} ms")
        if self.attempted == 0:
            out.append("no sign-in was attempted")
        return out


def result(scenario: Scenario, record: Recorder, fault: tuple[float, float], timing: Timing, pg_url: str,
           since_event: int) -> Result:
    out = Result(scenario)
    faulted = [s for s in record.sign_ins if s.tenant == "faulted"]
    out.attempted, out.ok = len(faulted), sum(s.ok for s in faulted)
    for attempt in record.sign_ins:
        if attempt.cut and not scenario.kills:  # no answer in the browser's 30 s, where no worker was killed
            out.wrong[f"{attempt.tenant} no answer (retry {'ok' if attempt.retry_ok else 'failed'})"] += 1
        elif attempt.cut:
            out.cut += 1
            out.cut_retried_ok += bool(attempt.retry_ok)
        elif not attempt.ok and (attempt.status, attempt.reason) in scenario.right and attempt.tenant == "faulted":
            out.right[attempt.reason] += 1
        elif not attempt.ok and scenario.database_down and attempt.status == 503:
            # Either tenant's: the database is everyone's. The bystander's are named apart, since "sign-ins" and
            # "ok" count the tenant under fault only.
            out.right["503 database" if attempt.tenant == "faulted" else "503 database (bystander)"] += 1
        elif not attempt.ok:
            out.wrong[f"{attempt.tenant} {attempt.status} {attempt.reason or '-'}"] += 1
    for answer in record.answers:
        if answer.status >= 500:
            out.fives[answer.status] += 1
            out.unexpected_5xx += not _expected_5xx(scenario, answer.status, answer.reason, answer.kind)
        if answer.started >= fault[1] and (answer.status >= 500 or answer.status == 0):
            out.later_failures += 1
    out.recovery = recovery(scenario, faulted, fault)
    if scenario.provider:
        out.recovery_target = (timing.cooldown if scenario.trips_breaker else 0) + 1
    bystander = sorted(s.app_seconds * 1000 for s in record.sign_ins if s.tenant == "bystander" and s.ok)
    if bystander:
        out.bystander_ms = (statistics.median(bystander), percentile(bystander, 95))
    out.lost = lost_writes(pg_url, record)
    out.details = failure_details(pg_url, since_event)
    return out


def last_event(pg_url: str) -> int:
    with psycopg.connect(pg_url) as connection:
        row = connection.execute("SELECT coalesce(max(id), 0) FROM accounts_loginevent").fetchone()
    return int(row[0]) if row else 0


def failure_details(pg_url: str, since_event: int) -> Counter[str]:
    """What the app recorded of the failed sign-ins after the login event `since_event` (reason and detail, with
    numbers and URLs blanked so that alike failures count together)."""
    with psycopg.connect(pg_url) as connection:
        rows = connection.execute("SELECT reason, detail FROM accounts_loginevent WHERE outcome = 'failure' AND "
                                  "id > %s", [since_event]).fetchall()
    return Counter(f"{reason}: {re.sub(r'http://[^ ]+|[0-9]+', '#', detail)[:110]}" for reason, detail in rows)


def _expected_5xx(scenario: Scenario, status: int, reason: str, kind: str) -> bool:
    if kind in ("start", "callback") and (status, reason) in scenario.right:
        return True
    return scenario.database_down and status == 503


def recovery(scenario: Scenario, faulted: list[SignIn], fault: tuple[float, float]) -> float | None:
    """Seconds from the fault's end until sign-ins succeed again: to the end of the first successful sign-in begun
    after it and after every failed one begun after it (a single success, then refusals again, is no recovery: a
    breaker whose probe's success does not close it lets one sign-in through and refuses the next). For a fault
    that hits some requests only, the longest such time after each failed sign-in too (it is the end of that
    fault). None: sign-ins still failed at the end of the scenario."""
    ends = [fault[1]]
    if scenario.intermittent:
        ends += [s.ended for s in faulted if not s.ok and fault[0] <= s.started <= fault[1]]
    longest = 0.0
    for end in ends:
        since = end
        if end == fault[1]:  # after the fault's end, every failure counts; during it, the fault goes on
            since = max([s.started for s in faulted if not s.ok and not s.cut and s.started >= end], default=end)
        after = [s.ended - end for s in faulted if s.ok and s.started >= since]
        if not after:
            return None
        longest = max(longest, min(after))
    return longest


def percentile(ordered: list[float], q: float) -> float:
    rank = max(1, round(q / 100 * len(ordered) + 0.4999))  # nearest rank, as bench/run.py
    return ordered[min(rank, len(ordered)) - 1]


def lost_writes(pg_url: str, record: Recorder) -> list[str]:
    """Acknowledged writes the database does not hold: a sign-in that set a session without its login event, a
    session in the database without its login event (a sign-in cut between the two: the person never saw it, but
    Inigo let them in with no record of it), a SCIM create answered 2xx without its person, a deactivation answered
    2xx of a person who is active, and a person whose SCIM-only attributes (familyName, active) are not what the
    last PATCH answered 2xx said of them (a write that read the person before a PATCH and wrote them back after)."""
    signed_in = Counter(s.sub for s in record.sign_ins if s.ok)
    created = {w.user_name.lower() for w in record.writes if w.op == "create" and 200 <= w.status < 300}
    deactivated = {w.user_name.lower() for w in record.writes if w.op == "deactivate" and 200 <= w.status < 300}
    last_patch: dict[str, dict] = {}
    for write in record.writes:
        if write.op in ("deactivate", "update") and 200 <= write.status < 300 and write.answer:
            name, modified = write.user_name.lower(), _modified(write.answer)
            if name not in last_patch or modified > _modified(last_patch[name]):
                last_patch[name] = write.answer
    with psycopg.connect(pg_url) as connection:
        events = dict(connection.execute(
            "SELECT u.sub, count(*) FROM accounts_loginevent e JOIN accounts_user u ON u.id = e.user_id "
            "WHERE e.outcome = 'success' AND u.sub = ANY(%s) GROUP BY u.sub", [list(signed_in)]).fetchall())
        people = {name: (active, family) for name, active, family in connection.execute(
            "SELECT lower(scim_user_name), is_active, last_name FROM accounts_user WHERE lower(scim_user_name) = "
            "ANY(%s)", [list(created | deactivated | last_patch.keys())]).fetchall()}
        sessions = Counter(_session_user(data) for (data,) in connection.execute(
            "SELECT session_data FROM django_session").fetchall())
        sessions.pop(None, None)  # sessions of nobody signed in (a sign-in's start)
        mine = {user for (user,) in connection.execute(  # this scenario's people (each scenario has its own)
            "SELECT id::text FROM accounts_user WHERE sub = ANY(%s)", [list({s.sub for s in record.sign_ins})])}
        sessions = Counter({user: n for user, n in sessions.items() if user in mine or user == "unreadable"})
        sign_in_events = dict(connection.execute(
            "SELECT user_id::text, count(*) FROM accounts_loginevent WHERE reason = 'ok' AND user_id::text = ANY(%s) "
            "GROUP BY user_id", [list(sessions)]).fetchall())
    lost = [f"{sub}: {count} sessions, {events.get(sub, 0)} login events" for sub, count in signed_in.items()
            if events.get(sub, 0) < count]
    lost += [f"user {user}: {count} sessions in the database, {sign_in_events.get(user, 0)} sign-in events"
             for user, count in sorted(sessions.items()) if sign_in_events.get(user, 0) < count]
    lost += [f"{name}: created (2xx), not in the database" for name in sorted(created - people.keys())]
    lost += [f"{name}: deactivated (2xx), active" for name in sorted(deactivated) if people.get(name, (None,))[0]
             is not False]
    for name, answer in sorted(last_patch.items()):
        wanted = (answer.get("active"), answer.get("name", {}).get("familyName", ""))
        if name in people and people[name] != wanted:
            lost.append(f"{name}: the last PATCH answered active={wanted[0]}, familyName {wanted[1]!r}; the database "
                        f"holds active={people[name][0]}, {people[name][1]!r}")
    return lost


def _modified(resource: dict) -> datetime:
    return datetime.fromisoformat(str(resource.get("meta", {}).get("lastModified") or "1970-01-01T00:00:00Z"))


def _session_user(data: str) -> str | None:
    """The user id signed in to a session row (Django's signed session data: the payload is read, not checked)."""
    payload = data.split(":", 1)[0]
    compressed = payload.startswith(".")
    raw = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload.lstrip(".")) % 4))
    try:
        decoded = json.loads(zlib.decompress(raw) if compressed else raw)
    except (ValueError, zlib.error):
        return "unreadable"
    user = decoded.get("_auth_user_id") if isinstance(decoded, dict) else None
    return str(user) if user is not None else None


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


COLUMNS = ("scenario", "sign-ins", "ok", "failed: right page", "failed: other", "5xx (500/502/503)",
           "cut (retry ok)", "writes lost", "recovery (target)", "bystander p50 / p95 ms (target)", "targets")


def table(results: list[Result]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for r in results:
        right = ", ".join(f"{n} {reason}" for reason, n in r.right.most_common()) or "0"
        wrong = ", ".join(f"{n} x {what}" for what, n in r.wrong.most_common(3)) or "0"
        target = f" (<= {r.recovery_target:g} s)" if r.recovery_target is not None else ""
        bystander = f"{r.bystander_ms[0]:.0f} / {r.bystander_ms[1]:.0f}"
        bystander += f" (<= {BYSTANDER_P95_MS})" if r.scenario.provider else ""
        cells = [r.scenario.name, str(r.attempted), str(r.ok), right, wrong,
                 f"{r.fives[500]}/{r.fives[502]}/{r.fives[503]}", f"{r.cut} ({r.cut_retried_ok})", str(len(r.lost)),
                 _seconds(r.recovery) + target, bystander, "met" if not r.misses() else "MISSED"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdicts(results: list[Result]) -> list[str]:
    out = []
    for r in results:
        misses = r.misses()
        out.append(f"{'met   ' if not misses else 'MISSED'} {r.scenario.name}: " + ("; ".join(misses) or
                   "0 x 500, 0 writes lost" + (", recovery and bystander p95 within target"
                                               if r.scenario.provider else "")))
        for what, n in r.wrong.most_common(5):
            out.append(f"         {n} x {what}")
        out += [f"         lost: {line}" for line in r.lost[:5]]
        if r.notes:
            out.append("         notes: " + "; ".join(f"{k} {v}" for k, v in r.notes.items()))
        out += [f"         {n} x {detail}" for detail, n in r.details.most_common(3)]
    return out
