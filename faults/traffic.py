"""The suite's traffic: people of two tenants signing in (the tenant under fault and a bystander on another
provider), `/api/me/` of people signed in, and Okta's SCIM writes; every request to an app server is recorded with
its status and times. Only to 127.0.0.1. Each loop is bounded in count and in time.

A sign-in is what a browser does: start at Inigo (`/oidc/authenticate/?tenant=`), post the provider's sign-in form,
come back to the callback, on the other app server (a load balancer without affinity). The browser's own step at
the provider goes straight to it, not through the fault proxy: the faults are those of Inigo's back channel."""

import contextlib
import itertools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from faults.cluster import HOST

TIMEOUT = 30  # seconds a browser waits for an answer: longer than any bound of the app's
MAX_ROUNDS = 5000  # per loop: a bound whatever the clock does
SCIM_AGENT = "Okta SCIM Client 1.0.0"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
_REASON = re.compile(r"<code>([a-z0-9_]+)</code>")


class Cut(Exception):
    """The connection to an app server broke before an answer (its worker was killed)."""


@dataclass(frozen=True)
class Tenant:
    name: str  # "faulted" or "bystander"
    slug: str
    issuer: str  # where Inigo reaches its provider (the proxy, for the tenant under fault)
    browser_port: int  # where the browser reaches the provider


@dataclass
class Answer:
    """One request to an app server. status 0: cut."""

    kind: str  # start, callback, me, scim
    tenant: str
    status: int
    started: float
    ended: float
    reason: str = ""


@dataclass
class SignIn:
    tenant: str
    sub: str
    started: float
    ended: float
    status: int  # the last answer's (0: cut)
    reason: str = ""  # the failure page's reason code
    app_seconds: float = 0.0  # in Inigo's two requests (start, callback), not at the provider
    session: bool = False  # the callback set a session: signed in
    retry_ok: bool | None = None  # for a cut sign-in: whether the person's retry succeeded

    @property
    def ok(self) -> bool:
        return self.session

    @property
    def cut(self) -> bool:
        return self.status == 0


@dataclass
class ScimWrite:
    user_name: str
    op: str  # create, deactivate, update
    status: int
    started: float
    ended: float
    answer: dict | None = None  # the resource a PATCH answered with (the person as that PATCH left them)


@dataclass
class Recorder:
    began: float = field(default_factory=time.monotonic)
    answers: list[Answer] = field(default_factory=list)
    sign_ins: list[SignIn] = field(default_factory=list)
    writes: list[ScimWrite] = field(default_factory=list)
    signed_in: list[tuple[str, requests.Session]] = field(default_factory=list)  # recent sessions, for /api/me/
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.monotonic() - self.began

    def add(self, what: list, item: object) -> None:
        with self.lock:
            what.append(item)


class Traffic:
    def __init__(self, ports: tuple[int, ...], tenants: dict[str, Tenant], scim_token: str) -> None:
        self.ports = ports
        self.tenants = tenants
        self.scim_token = scim_token
        self.record = Recorder()
        self._servers = itertools.count()

    # --- one request, one sign-in ------------------------------------------------------------------------------
    def _send(self, kind: str, tenant: str, method: str, server: int, path: str, session: requests.Session,
              **kwargs: object) -> requests.Response:
        began = self.record.now()
        try:
            response = session.request(method, f"http://127.0.0.1:{self.ports[server]}{path}",
                                        headers={"Host": HOST, **kwargs.pop("headers", {})}, allow_redirects=False,
                                        timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            self.record.add(self.record.answers, Answer(kind, tenant, 0, began, self.record.now(), type(exc).__name__))
            raise Cut(f"{method} {path.split('?')[0]}: {type(exc).__name__}") from exc
        reason = _reason(response)
        self.record.add(self.record.answers, Answer(kind, tenant, response.status_code, began, self.record.now(),
                                                    reason))
        return response

    def sign_in(self, tenant: Tenant, sub: str, *, retry_when_cut: bool = True,
                before_callback: Callable[[], object] | None = None) -> SignIn:
        """One sign-in; `before_callback` is called when the browser is back from the provider, just before it
        sends the callback (a scenario lines callbacks up with its own writes)."""
        first = next(self._servers) % len(self.ports)
        browser = requests.Session()
        attempt = SignIn(tenant.name, sub, self.record.now(), 0.0, 0)
        try:
            self._sign_in(tenant, sub, browser, attempt, first, before_callback)
        except Cut:
            attempt.status = 0
        attempt.ended = self.record.now()
        if attempt.cut and retry_when_cut:
            attempt.retry_ok = self.sign_in(tenant, sub, retry_when_cut=False).ok
        if retry_when_cut:
            self.record.add(self.record.sign_ins, attempt)
        if attempt.ok:
            with self.record.lock:
                self.record.signed_in[:] = [*self.record.signed_in[-19:], (tenant.name, browser)]
        return attempt

    def _sign_in(self, tenant: Tenant, sub: str, browser: requests.Session, attempt: SignIn, first: int,
                 before_callback: Callable[[], object] | None) -> None:
        began = time.monotonic()
        started = self._send("start", tenant.name, "GET", first, f"/oidc/authenticate/?tenant={tenant.slug}", browser)
        attempt.app_seconds = time.monotonic() - began
        attempt.status, attempt.reason = started.status_code, _reason(started)
        if started.status_code != 302:
            return
        back, why = self._authorize(tenant, started.headers["Location"], sub)
        if back is None:
            attempt.reason = f"provider_page_failed ({why})"
            return
        if before_callback is not None:
            before_callback()
        began = time.monotonic()
        finished = self._send("callback", tenant.name, "GET", (first + 1) % len(self.ports), back, browser)
        attempt.app_seconds += time.monotonic() - began
        attempt.status, attempt.reason = finished.status_code, _reason(finished)
        attempt.session = (finished.status_code == 302 and finished.headers.get("Location") == "/"
                           and "sessionid" in finished.cookies)

    def _authorize(self, tenant: Tenant, location: str, sub: str) -> tuple[str | None, str]:
        """The person chooses who they are on the provider's page: the callback's path and query, or None and what
        went wrong (the exception's name, or the provider's status and where it sent the browser)."""
        parts = urlsplit(location)
        began = time.monotonic()
        try:
            answer = requests.post(f"http://127.0.0.1:{tenant.browser_port}{parts.path}?{parts.query}",
                                   data={"sub": sub}, headers={"Host": parts.netloc}, allow_redirects=False,
                                   timeout=TIMEOUT)
        except requests.RequestException as exc:
            cause = exc.__context__ or exc.__cause__
            return None, f"{type(exc).__name__}: {type(cause).__name__ if cause else ''} after " \
                         f"{time.monotonic() - began:.1f} s"
        back = urlsplit(answer.headers.get("Location", ""))
        if answer.status_code == 302 and back.netloc == HOST:
            return f"{back.path}?{back.query}", ""
        return None, f"{answer.status_code} to {back.netloc or '-'}{back.path}"

    def me(self, n: int) -> None:
        """/api/me/ of one of the people signed in lately (the n-th, round the list)."""
        with self.record.lock:
            if not self.record.signed_in:
                return
            tenant, browser = self.record.signed_in[n % len(self.record.signed_in)]
        with contextlib.suppress(Cut):
            self._send("me", tenant, "GET", next(self._servers) % len(self.ports), "/api/me/", browser)

    def scim(self, method: str, path: str, body: dict, op: str, user_name: str) -> int:
        began, resource = self.record.now(), None
        try:
            answer = self._send("scim", "faulted", method, next(self._servers) % len(self.ports), f"/scim/v2{path}",
                                requests.Session(), json=body,
                                headers={"Authorization": f"Bearer {self.scim_token}", "User-Agent": SCIM_AGENT,
                                         "Content-Type": "application/scim+json"})
            status = answer.status_code
            if method == "PATCH" and 200 <= status < 300:
                with contextlib.suppress(ValueError):
                    resource = answer.json()
        except Cut:
            status = 0
        self.record.add(self.record.writes, ScimWrite(user_name, op, status, began, self.record.now(), resource))
        return status

    def scim_create(self, user_name: str, external_id: str = "") -> int:
        return self.scim("POST", "/Users", scim_user(user_name, external_id), "create", user_name)

    # --- the loops -----------------------------------------------------------------------------------------------
    def run(self, stop: threading.Event, prefix: str, *, faulted: int = 3,
            bystander: int = 2) -> list[threading.Thread]:
        """Start the loops (sign-ins of each tenant, /api/me/, SCIM creates) until `stop` is set."""
        loops: list[tuple[Callable[[int], None], float]] = []
        for name, count in (("faulted", faulted), ("bystander", bystander)):
            tenant = self.tenants[name]
            for loop in range(count):
                people = [f"{prefix}-{name}-{loop}-{n}@{tenant.slug}.test" for n in range(4)]
                loops.append((lambda n, t=tenant, p=people: self.sign_in(t, p[n % len(p)]) and None, 0.05))
        loops.append((self.me, 0.1))
        loops.append((lambda n: self.scim_create(f"{prefix}-scim-{n}@{self.tenants['faulted'].slug}.test")
                      and None, 0.2))
        threads = [threading.Thread(target=_loop, args=(stop, step, pause), daemon=True) for step, pause in loops]
        for thread in threads:
            thread.start()
        return threads


def _loop(stop: threading.Event, step: Callable[[int], None], pause: float) -> None:
    for n in range(MAX_ROUNDS):
        if stop.is_set():
            return
        step(n)
        stop.wait(pause)


def _reason(response: requests.Response) -> str:
    if response.status_code < 400:
        return ""
    if response.headers.get("Content-Type", "").startswith("application/json"):
        try:
            return str(response.json().get("reason") or response.json().get("error") or "")
        except ValueError:
            return ""
    match = _REASON.search(response.text[:20000])
    return match.group(1) if match else ""


def scim_user(user_name: str, external_id: str = "") -> dict:
    """The body of Okta's POST /Users on assignment."""
    local = user_name.split("@")[0]
    body = {"schemas": [USER_SCHEMA], "userName": user_name, "name": {"givenName": local, "familyName": "Fault"},
            "emails": [{"primary": True, "value": user_name, "type": "work"}], "displayName": f"{local} Fault",
            "active": True}
    if external_id:
        body["externalId"] = external_id
    return body


def deactivation(display_name: str) -> dict:
    """Okta's deactivation (RFC 7644 section 3.5.2.3 replace, no path), with a name of its own."""
    return {"schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "replace", "value": {"active": False, "displayName": display_name}}]}


def family_name_change(family_name: str) -> dict:
    """Okta's profile push of one attribute (RFC 7644 section 3.5.2.3 replace, with a path): no `active` in it."""
    return {"schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "replace", "path": "name.familyName", "value": family_name}]}
