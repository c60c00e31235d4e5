"""cProfile of the callback, for the bench only (BENCH_PROFILE=<directory>): each worker profiles every callback
request and writes the accumulated statistics to <directory>/callback-<pid>.prof every 50 callbacks.

    BENCH_PROFILE=/tmp/prof python -m bench --workers 1 --tenants 1 --concurrency 1 --delays 0 --rounds 1
    python -c "import pstats; pstats.Stats('/tmp/prof/callback-<pid>.prof').sort_stats('cumulative').print_stats(60)"
"""

import cProfile
import os
import pstats
import threading
from collections.abc import Callable
from pathlib import Path

from django.http import HttpRequest, HttpResponse

_lock = threading.Lock()
_stats: pstats.Stats | None = None
_count = 0


class CallbackProfileMiddleware:
    """First in MIDDLEWARE when BENCH_PROFILE is set (bench/settings.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.directory = Path(os.environ["BENCH_PROFILE"])
        self.directory.mkdir(parents=True, exist_ok=True)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/oidc/callback/"):
            return self.get_response(request)
        profile = cProfile.Profile()
        response = profile.runcall(self.get_response, request)
        global _stats, _count
        with _lock:
            if _stats is None:
                _stats = pstats.Stats(profile)
            else:
                _stats.add(profile)
            _count += 1
            if _count % 50 == 0:
                _stats.dump_stats(self.directory / f"callback-{os.getpid()}.prof")
        return response
