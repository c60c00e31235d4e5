"""A TCP proxy on loopback in front of the faulted tenant's provider, which injects the network's faults: the provider
itself (devidp) is not changed and has no switch. Only the suite's own process holds the proxy.

It carries one HTTP request per connection (it closes both sides after the answer, with `Connection: close` in the
answer), so that a fault applies to one request whatever the client's connection pool does. Every fault is bounded:
a connection stalled mid-body is closed when the fault is switched off or after HOLD_SECONDS, whichever comes first;
one that got no answer at all (a black hole, one timeout in 20) is held until the client gives up, or HOLD_SECONDS."""

import enum
import random
import socket
import struct
import threading
import time

HOLD_SECONDS = 30.0  # longer than any timeout of the app (connect 3 s + whole answer 8 s), and still bounded
SLOW_SECONDS = 2.0
ONE_IN = 20
MAX_HEAD = 64 * 1024


class Mode(enum.Enum):
    THROUGH = "through"  # no fault
    DOWN = "down"  # the port refuses connections
    ONE_TIMEOUT_IN_20 = "one timeout in 20"  # every 20th request gets no answer (a timeout)
    BLACK_HOLE = "black hole"  # accepts, reads the request, never answers
    STALL_MID_BODY = "stall mid-body"  # the head and half the body, then nothing
    RESET_AFTER_HEADERS = "reset after headers"  # the head, then a TCP reset
    SLOW = "slow"  # the answer, SLOW_SECONDS late
    GARBAGE = "garbage"  # a 200 whose body is random bytes


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.mode = Mode.THROUGH
        self.changed = threading.Event()  # set when the mode changes: held connections let go
        self.faulted: list[float] = []  # time.monotonic() of each request a fault was applied to
        self._counter = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._running = True
        self._listen()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, mode: Mode) -> None:
        with self._lock:
            self.mode, self._counter = mode, 0
            old, self.changed = self.changed, threading.Event()
        old.set()
        if mode is Mode.DOWN:
            self._close_listener()
        elif self._listener is None:
            self._listen()

    def close(self) -> None:
        self._running = False
        self.set(Mode.DOWN)
        self._thread.join(2)

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self._listener = listener

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def _accept(self) -> None:
        while self._running:
            listener = self._listener
            if listener is None:
                time.sleep(0.05)
                continue
            try:
                client, _ = listener.accept()
            except OSError:  # the accept's timeout, or the listener closed for DOWN
                continue
            with self._lock:
                mode, released = self.mode, self.changed
                self._counter += 1
                nth = self._counter
            threading.Thread(target=self._serve, args=(client, mode, nth, released), daemon=True).start()

    def _serve(self, client: socket.socket, mode: Mode, nth: int, released: threading.Event) -> None:
        client.settimeout(HOLD_SECONDS)
        try:
            request = _read_request(client)
            if mode is Mode.ONE_TIMEOUT_IN_20 and nth % ONE_IN == 0:
                self._note()  # held until the client gives up (its timeout), even after the fault is switched off
                client.recv(1)
                return
            if mode is Mode.BLACK_HOLE:
                # A request lost in a black hole is never answered, even once the provider is back: held until the
                # client gives up (its timeout), as ONE_TIMEOUT_IN_20 holds its own.
                self._note()
                client.recv(1)
                return
            if mode is Mode.GARBAGE:
                self._note()
                body = bytes(random.getrandbits(8) for _ in range(300))
                client.sendall(_head(b"HTTP/1.1 200 OK", len(body)) + body)
                return
            status_line, headers, body = _exchange(self.upstream_port, request)
            answer = _head(status_line, len(body), headers)
            if mode is Mode.SLOW:
                self._note()
                time.sleep(SLOW_SECONDS)
            elif mode is Mode.RESET_AFTER_HEADERS:
                self._note()
                client.sendall(answer)
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
                return
            elif mode is Mode.STALL_MID_BODY:
                self._note()
                client.sendall(answer + body[: len(body) // 2])
                released.wait(HOLD_SECONDS)
                return
            client.sendall(answer + body)
        except OSError:
            pass
        finally:
            client.close()

    def _note(self) -> None:
        with self._lock:
            self.faulted.append(time.monotonic())


def _read_request(client: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < MAX_HEAD:
        chunk = client.recv(16 * 1024)
        if not chunk:
            raise ConnectionError("the client closed before its request was whole")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = _content_length(head)
    while len(body) < length:
        chunk = client.recv(16 * 1024)
        if not chunk:
            break
        body += chunk
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return int(value.strip())
    return 0


def _exchange(port: int, request: bytes) -> tuple[bytes, list[bytes], bytes]:
    """The upstream's answer to `request`: its status line, its headers but the framing ones, its body."""
    with socket.create_connection(("127.0.0.1", port), timeout=HOLD_SECONDS) as upstream:
        upstream.sendall(request)
        data = b""
        while chunk := upstream.recv(64 * 1024):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    framing = (b"connection", b"content-length", b"transfer-encoding", b"keep-alive")
    headers = [line for line in lines if line.partition(b":")[0].strip().lower() not in framing]
    if any(line.lower().startswith(b"transfer-encoding: chunked") for line in lines):
        body = _unchunk(body)
    return status_line, headers, body


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, body = out + rest[:size], rest[size + 2:]
    return out


def _head(status_line: bytes, length: int, headers: list[bytes] | None = None) -> bytes:
    lines = [status_line, *(headers or [b"Content-Type: application/json"]), f"Content-Length: {length}".encode(),
             b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n"
