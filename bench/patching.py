"""Code the bench patches into a running app server on its first request, once per process."""

import threading
from collections.abc import Callable
from functools import wraps


def once(function: Callable[[], None]) -> Callable[[], None]:
    """`function`, run by the first of the server's threads to call it and by no other, later or concurrent."""
    lock = threading.Lock()
    done = False

    @wraps(function)
    def run() -> None:
        nonlocal done
        if done:
            return
        with lock:
            if not done:
                function()
                done = True

    return run
