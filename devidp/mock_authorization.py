"""oidc-provider-mock's authorization endpoint lists the recent subjects (a deque) while another thread's sign-in
rewrites them: "deque mutated during iteration", a 500 now and then under concurrent sign-ins (the fault suite's
traffic met it). Every server of the mock here (devidp, the tests' provider, the bench's) sends that endpoint one
request at a time; its answers take a millisecond, so one at a time costs nothing."""

import threading
from collections.abc import Callable, Iterable
from typing import Any


class OneAuthorizationAtATime:
    """The mock's WSGI app, with /oauth2/authorize answered one request at a time."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/oauth2/authorize":
            return self.app(environ, start_response)
        with self._lock:
            return list(self.app(environ, start_response))  # the whole answer made inside the lock
