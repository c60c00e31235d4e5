"""A tenant's sign-in health, shown on support staff's panel (admin) and on the customer's console overview from
this one implementation: the last 30 days as a chart, this week's failure reasons, the last success and failure, the
last connection check, the last step of its setup, the last call from Okta's provisioning and its Okta's breaker.

The figures count sign-ins only (events of kind `signin`, accounts.events): a setup step, a sign-out or a change
made on the console is told on a line of its own, never as a sign-in. Reads only, with a fixed number of queries
whatever the number of events: every read of login events is a range of the (tenant, created_at) index
(loginevent_tenant_time, which covers the kind)."""

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.events import EventKind
from accounts.models import LoginEvent
from accounts.setup import STEP_WORDS
from inigo_sso.failures import FAILURES
from okta import breaker
from scim.models import ProvisioningToken
from tenants.models import ConnectionCheckResult, Tenant

DAYS = 30
WEEK = 7
TOP_REASONS = 5

_SIGNIN = Q(kind=EventKind.SIGNIN)
_SUCCESS = _SIGNIN & Q(outcome=LoginEvent.Outcome.SUCCESS)
_FAILURE = _SIGNIN & Q(outcome=LoginEvent.Outcome.FAILURE)


@dataclass(frozen=True)
class Day:
    day: date
    successes: int
    failures: int


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    title: str
    count: int


@dataclass
class TenantHealth:
    days: list[Day]
    top_reasons: list[ReasonCount]  # the TOP_REASONS most frequent of the week
    other_reasons: int  # reasons of the week's failures beyond top_reasons: the page says they exist
    other_reasons_tied: bool  # one of them failed as often as the last one shown (the cut fell within a tie)
    last_success: LoginEvent | None
    last_failure: LoginEvent | None
    last_check: ConnectionCheckResult | None
    last_setup_step: LoginEvent | None
    provisioning_token: ProvisioningToken | None  # its last_used_at: when Okta's provisioning last called
    breaker: "BreakerHealth | None" = None
    chart: dict[str, Any] = field(default_factory=dict)

    @property
    def last_setup_words(self) -> str:
        return STEP_WORDS.get(self.last_setup_step.reason, "") if self.last_setup_step else ""

    @property
    def last_failure_title(self) -> str:
        return _title(self.last_failure.reason) if self.last_failure else ""

    @property
    def successes(self) -> int:
        return sum(day.successes for day in self.days)

    @property
    def failures(self) -> int:
        return sum(day.failures for day in self.days)

    @property
    def week_failures(self) -> int:
        return sum(day.failures for day in self.days[-WEEK:])

    @property
    def week_successes(self) -> int:
        return sum(day.successes for day in self.days[-WEEK:])

    @property
    def week_failure_percent(self) -> int | None:
        attempts = self.week_successes + self.week_failures
        return round(100 * self.week_failures / attempts) if attempts else None


@dataclass(frozen=True)
class BreakerHealth:
    """The tenant's Okta was refused sign-ins (okta.breaker): since when, after how many failures, and whether the
    pause still runs. Once retry_at is past the breaker is half-open until a sign-in comes to try the Okta (the
    opening is kept up to a day): the pages then say the next sign-in is the test, not "for now"."""

    opened_at: datetime
    failures: int
    retry_at: datetime
    paused: bool  # still in its cool-down: sign-ins are refused without asking the Okta

    @classmethod
    def of(cls, reading: breaker.Reading) -> "BreakerHealth | None":
        if reading.opened_at is None:
            return None
        paused = breaker.state(reading, time.time()) is breaker.State.OPEN
        return cls(datetime.fromtimestamp(reading.opened_at, tz=UTC), reading.opened_failures,
                   datetime.fromtimestamp(reading.retry_at, tz=UTC), paused)


def breakers_open(tenants: list[Tenant]) -> dict[int, BreakerHealth]:
    """The open breakers of these tenants' Okta orgs, from one read of the shared cache."""
    issuers = {tenant.issuer for tenant in tenants if tenant.issuer}
    readings = breaker.read_many(sorted(issuers))
    opened = {issuer: BreakerHealth.of(reading) for issuer, reading in readings.items()}
    return {tenant.pk: health for tenant in tenants if (health := opened.get(tenant.issuer)) is not None}


def tenant_health(*, tenant: Tenant, now: datetime | None = None) -> TenantHealth:
    """Five queries: the 30 days of sign-ins grouped by day, outcome and reason; the last success; the last failure;
    the last setup step; the last connection check. And one read of the shared cache, for the breaker."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    first_day = today - timedelta(days=DAYS - 1)
    start = timezone.make_aware(datetime.combine(first_day, datetime.min.time()))
    rows = (
        LoginEvent.objects.filter(_SIGNIN, tenant=tenant, created_at__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values("day", "outcome", "reason")
        .annotate(count=Count("*"))  # COUNT(*): the index holds every column read
        .order_by()
    )
    successes: dict[date, int] = {}
    failures: dict[date, int] = {}
    week_reasons: dict[str, int] = {}
    week_start = today - timedelta(days=WEEK - 1)
    for row in rows:
        day = row["day"]
        if row["outcome"] == LoginEvent.Outcome.SUCCESS:
            successes[day] = successes.get(day, 0) + row["count"]
            continue
        failures[day] = failures.get(day, 0) + row["count"]
        if day >= week_start:
            week_reasons[row["reason"]] = week_reasons.get(row["reason"], 0) + row["count"]
    days = [
        Day(day, successes.get(day, 0), failures.get(day, 0))
        for day in (first_day + timedelta(days=offset) for offset in range(DAYS))
    ]
    ranked = sorted(week_reasons.items(), key=lambda item: (-item[1], item[0]))
    top, rest = ranked[:TOP_REASONS], ranked[TOP_REASONS:]
    events = LoginEvent.objects.filter(tenant=tenant).order_by("-created_at")
    health = TenantHealth(
        days=days,
        top_reasons=[ReasonCount(reason, _title(reason), count) for reason, count in top],
        other_reasons=len(rest),
        other_reasons_tied=bool(rest) and rest[0][1] == top[-1][1],
        last_success=events.filter(_SUCCESS).first(),
        last_failure=events.filter(_FAILURE).first(),
        last_check=ConnectionCheckResult.objects.filter(tenant=tenant).order_by("-checked_at").first(),
        last_setup_step=events.filter(kind=EventKind.SETUP).first(),
        # Okta's provisioning (SCIM) notes its calls on the tenant's token, a throttled write (scim.tokens).
        provisioning_token=ProvisioningToken.objects.filter(tenant=tenant).only(
            "tenant_id", "issued_at", "last_used_at").first(),
    )
    health.breaker = breakers_open([tenant]).get(tenant.pk)
    health.chart = daily_chart(days)
    return health


def _title(reason: str) -> str:
    failure = FAILURES.get(reason)
    return failure.title if failure else reason


# --- the chart: an SVG drawn here, in the page (no script, no external asset) ----------------------------------
CHART_WIDTH = 720
CHART_HEIGHT = 180
PLOT_LEFT = 40
PLOT_RIGHT = 24  # room for the last day's label, centred under the last bar
PLOT_TOP = 10
PLOT_BOTTOM = 150  # the x axis; day labels below it


def daily_chart(days: list[Day]) -> dict[str, Any]:
    """Stacked bars per day, successes below failures, on a scale rounded up to a readable number."""
    peak = max((day.successes + day.failures for day in days), default=0)
    top = _nice_ceiling(peak)
    plot_height = PLOT_BOTTOM - PLOT_TOP
    slot = (CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT) / max(len(days), 1)
    bar_width = max(slot * 0.7, 1)
    bars = []
    for index, day in enumerate(days):
        x = PLOT_LEFT + index * slot + (slot - bar_width) / 2
        ok_height = plot_height * day.successes / top
        failed_height = plot_height * day.failures / top
        bars.append({
            "x": round(x, 1), "width": round(bar_width, 1),
            "ok_y": round(PLOT_BOTTOM - ok_height, 1), "ok_height": round(ok_height, 1),
            "failed_y": round(PLOT_BOTTOM - ok_height - failed_height, 1), "failed_height": round(failed_height, 1),
            "day": day,
            "label_x": round(x + bar_width / 2, 1),
            # A date under every 7th bar, counted back from today, so today is always labelled.
            "labelled": (len(days) - 1 - index) % 7 == 0,
        })
    gridlines = [
        {"y": round(PLOT_BOTTOM - plot_height * fraction, 1), "value": round(top * fraction)}
        for fraction in (0, 0.5, 1)
    ]
    return {
        "width": CHART_WIDTH, "height": CHART_HEIGHT, "left": PLOT_LEFT, "right": CHART_WIDTH - PLOT_RIGHT,
        "bottom": PLOT_BOTTOM,
        "label_y": PLOT_BOTTOM + 18, "bars": bars, "gridlines": gridlines,
    }


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 3, 4, 5, 6 or 8 times a power of ten that holds `value` (at least 4, so a quiet day
    is a small bar): a round top line, and a half-way line that is a whole number."""
    value = max(value, 4)
    magnitude = 1
    while True:
        for step in (1, 2, 3, 4, 5, 6, 8):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


# --- the tenants list: a few numbers per row, for the whole page at once ----------------------------------------
@dataclass(frozen=True)
class RowHealth:
    successes: int = 0
    failures: int = 0
    last_failure: datetime | None = None


def tenants_week_health(*, tenant_ids: list[int], now: datetime | None = None) -> dict[int, RowHealth]:
    """Sign-ins and failures of the last 7 days, and the last failure in them, for a page of tenants: one grouped
    query over the (tenant, created_at) index."""
    if not tenant_ids:
        return {}
    since = (now or timezone.now()) - timedelta(days=WEEK)
    rows = (
        LoginEvent.objects.filter(_SIGNIN, tenant_id__in=tenant_ids, created_at__gte=since)
        .values("tenant_id")
        .annotate(
            successes=Count("created_at", filter=_SUCCESS),  # a column the index holds
            failures=Count("created_at", filter=_FAILURE),
            last_failure=Max("created_at", filter=_FAILURE),
        )
        .order_by()
    )
    return {
        row["tenant_id"]: RowHealth(row["successes"], row["failures"], row["last_failure"]) for row in rows
    }
