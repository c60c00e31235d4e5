"""A breaker per issuer: it opens on evidence that a tenant's Okta ties up threads, never on one slow answer.

One timeout among thousands of sign-ins costs that one sign-in. A provider that keeps failing would make every
sign-in of its tenant wait out the timeouts again, each holding a server thread; once the evidence is there, its
sign-ins are refused at once for a cool-down instead (the "Okta cannot be reached" page), and then one request goes
through as a probe.

The rule (settings.OIDC_BREAKER; README, "When a customer's Okta fails"):
- A window opens at an issuer's first failure and lasts `window_seconds`. In it every request to that issuer is
  counted, on every app server (the counters are in the shared cache), and so are its failures and the failures
  since the last success (the streak).
- The breaker opens when `consecutive_failures` failed in a row, or when at least `min_requests` were sent in the
  window and at least `failure_ratio` of them failed.
- Open, it refuses what would go out to that Okta for `cooldown_seconds`. Then one request, across all servers, is
  sent as a probe (half-open): its success closes the breaker and clears the counters, its failure opens it again.
- A failure is what ties up a thread: a timeout or a connection that fails (`provider_unreachable`). A provider that
  answers badly but fast is no stall and counts as an answer.
- A success costs no round trip to the cache while no failure is counted: the callback reads the breaker in the
  cache read it makes anyway (okta.provider.login_documents), and only a degraded issuer's successes are counted.
- Connection checks (okta.connection) never read, trip or close the breaker, and are sent while it is open: a check
  shows when Okta is back, and anyone holding a setup link could otherwise open it for another tenant on the same
  Okta org.

The decisions are pure functions of a `Reading` (trips, state); the functions below them store and read the counters.
"""

import enum
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from okta import http

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    window_seconds: float = 30
    cooldown_seconds: float = 30
    min_requests: int = 5
    failure_ratio: float = 0.5
    consecutive_failures: int = 3


def rule() -> Rule:
    return Rule(**settings.OIDC_BREAKER)


class State(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"  # refusing, until its cool-down is over
    HALF_OPEN = "half_open"  # the cool-down is over: the next request is the probe


@dataclass(frozen=True)
class Reading:
    """What the shared cache says of one issuer, read in one round trip."""

    issuer: str
    requests: int = 0  # sent in the window that began at its first failure
    failures: int = 0  # failed in that window
    streak: int = 0  # failed since the last success
    opened_at: float | None = None  # epoch seconds; None while closed
    opened_failures: int = 0  # the failures counted when it opened
    retry_at: float = 0.0  # epoch seconds: the end of the cool-down

    @property
    def degraded(self) -> bool:
        """A failure is counted or the breaker is open: a success must then be counted too."""
        return bool(self.failures or self.streak or self.opened_at is not None)


def trips(rule: Rule, *, requests: int, failures: int, streak: int) -> bool:
    """Whether these counts are evidence enough to open the breaker."""
    if streak >= rule.consecutive_failures:
        return True
    return requests >= rule.min_requests and failures >= rule.failure_ratio * requests


def state(reading: Reading, now: float) -> State:
    if reading.opened_at is None:
        return State.CLOSED
    return State.OPEN if now < reading.retry_at else State.HALF_OPEN


# --- the counters in the shared cache ------------------------------------------------------------------------------
_COUNTERS = ("requests", "failures", "streak")
OPENED_TTL = 24 * 60 * 60  # an open breaker nobody probes is forgotten after a day; the next request probes anyway


def _key(kind: str, issuer: str) -> str:
    return f"oidc:breaker-{kind}:v1:{hashlib.sha256(issuer.encode()).hexdigest()[:40]}"


def keys(issuer: str) -> list[str]:
    """The keys a reading needs, for a caller that reads them with others in one get_many."""
    return [_key(kind, issuer) for kind in (*_COUNTERS, "opened")]


def reading_from(issuer: str, cached: dict[str, Any]) -> Reading:
    """The reading in a get_many answer that asked for keys(issuer)."""
    counts = {kind: _int(cached.get(_key(kind, issuer))) for kind in _COUNTERS}
    opened = cached.get(_key("opened", issuer))
    if not isinstance(opened, dict):
        return Reading(issuer, **counts)
    return Reading(issuer, **counts, opened_at=float(opened["at"]), opened_failures=int(opened["failures"]),
                   retry_at=float(opened["retry_at"]))


def read(issuer: str) -> Reading:
    return reading_from(issuer, cache.get_many(keys(issuer)))


def read_many(issuers: list[str]) -> dict[str, Reading]:
    """The readings of several issuers (a page of tenants), in one round trip."""
    cached = cache.get_many([key for issuer in issuers for key in keys(issuer)])
    return {issuer: reading_from(issuer, cached) for issuer in issuers}


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def probe_claim(issuer: str) -> bool:
    """Whether this request is the one probe of a half-open breaker: the first to claim it, on any server. The claim
    lasts as long as a request can take, so a probe whose server died is followed by another."""
    return bool(cache.add(_key("probe", issuer), 1, http.request_seconds() + 1))


def probe_release(issuer: str) -> None:
    """The probe claimed was never sent (its slot was refused): the next request may probe at once."""
    cache.delete(_key("probe", issuer))


def failure_note(reading: Reading, *, probe: bool) -> None:
    """Count a failure of a request sent after `reading`; open the breaker when the counts trip it."""
    the_rule = rule()
    if probe:
        _open(reading.issuer, failures=reading.opened_failures + 1, the_rule=the_rule)
        return
    counts = {kind: _count(_key(kind, reading.issuer), the_rule.window_seconds) for kind in _COUNTERS}
    if trips(the_rule, **counts) and reading.opened_at is None:
        _open(reading.issuer, failures=counts["failures"], the_rule=the_rule)


def success_note(reading: Reading, *, probe: bool) -> None:
    """Count a success of a request sent after `reading`. Nothing to do, and no round trip, for a healthy issuer."""
    if probe:
        cache.delete_many([*keys(reading.issuer), _key("probe", reading.issuer)])
        logger.info("breaker closed for %s: the probe succeeded", reading.issuer)
        return
    if reading.degraded:
        _count(_key("requests", reading.issuer), rule().window_seconds)
        cache.delete(_key("streak", reading.issuer))


def _count(key: str, window: float) -> int:
    """Add one to a counter of the window (the window begins with the counter's first count)."""
    cache.add(key, 0, window)
    try:
        return _int(cache.incr(key))
    except ValueError:  # the window ended between add and incr: this count begins the next one
        cache.add(key, 1, window)
        return 1


def _open(issuer: str, *, failures: int, the_rule: Rule) -> None:
    now = time.time()
    cache.set(_key("opened", issuer), {"at": now, "failures": failures, "retry_at": now + the_rule.cooldown_seconds},
              OPENED_TTL)
    cache.delete(_key("probe", issuer))
    logger.warning("breaker opened for %s after %d failures; refusing its sign-ins for %d s", issuer, failures,
                   the_rule.cooldown_seconds)


def forget(issuer: str) -> None:
    """A tenant's values changed: what was counted for its issuer starts again."""
    cache.delete_many([*keys(issuer), _key("probe", issuer)])
