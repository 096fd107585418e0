"""Webhook delivery against a real HTTP receiver on 127.0.0.1 (a thread in this process).

Loopback is an internal address, which webhooks reach only when allowlisted: ``deliver`` here
allowlists 127.0.0.1 unless a test says otherwise, and the tests of the address checks run
with no allowlist."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from modeldeck._version import __version__
from modeldeck.core.errors import InvalidInput, PermissionDenied
from modeldeck.monitoring import webhooks
from modeldeck.monitoring.webhooks import (
    Delivery,
    allowed,
    backoff_delay,
    check_destination,
    check_url,
    encode_payload,
    internal,
    sign,
    verify,
)


def deliver(url: str, payload: Any, **options: Any) -> Delivery:
    options.setdefault("allowlist", ["127.0.0.1"])
    return webhooks.deliver(url, payload, **options)


PAYLOAD = {"rule": "drift_share > 0.3", "value": 0.42, "model": "churn", "version": 3}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next scripted (status, headers, body), then 200."""

    url: str = ""
    script: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.requests.append(Received(self.path, dict(self.headers.items()), body))
                status, headers, reply = state.script.pop(0) if state.script else (200, {}, b"")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # a short poll interval: shutdown() waits up to one interval
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/ml"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Recorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Constant(random.Random):
    """Jitter pinned to a fixed fraction, so backoff delays are predictable."""

    def __init__(self, fraction: float) -> None:
        super().__init__(0)
        self.fraction = fraction

    def random(self) -> float:
        return self.fraction


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


# --- delivery ------------------------------------------------------------------------------


def test_a_delivery_arrives_signed_and_verifiable(receiver: Receiver) -> None:
    before = int(time.time())
    result = deliver(receiver.url, PAYLOAD, secret="s3cret", sleep=Recorder())

    assert result.delivered and result.attempts == 1 and result.status == 200
    assert result.error is None and result.url == receiver.url and result.elapsed_ms >= 0
    [request] = receiver.requests
    assert request.path == "/hooks/ml"
    assert json.loads(request.body) == PAYLOAD
    assert request.body == encode_payload(PAYLOAD)  # compact, sorted, the same bytes each time
    assert b" " not in request.body.replace(b"drift_share > 0.3", b"")
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == f"modeldeck/{__version__}"
    assert headers["x-modeldeck-event"] == "alert.fired"
    assert headers["x-modeldeck-delivery"] == result.delivery_id
    timestamp = int(headers["x-modeldeck-timestamp"])
    assert before <= timestamp <= int(time.time())
    signature = headers["x-modeldeck-signature"]
    assert signature == sign("s3cret", request.body, timestamp)
    assert signature.startswith("sha256=") and len(signature) == len("sha256=") + 64

    # what a receiver does with the raw bytes and the header values as received
    stamp = headers["x-modeldeck-timestamp"]
    assert verify("s3cret", request.body, stamp, signature)
    assert not verify("s3cret", request.body.replace(b"0.42", b"0.05"), stamp, signature)
    assert not verify("other", request.body, stamp, signature)
    assert not verify("s3cret", request.body, timestamp + 1, signature)


def test_without_a_secret_nothing_is_signed_and_the_event_is_passed(receiver: Receiver) -> None:
    result = deliver(receiver.url, PAYLOAD, secret=None, event="alert.resolved")
    assert result.delivered
    headers = {k.lower(): v for k, v in receiver.requests[0].headers.items()}
    assert "x-modeldeck-signature" not in headers
    assert headers["x-modeldeck-event"] == "alert.resolved"


def test_5xx_is_retried_with_growing_backoff_and_the_same_delivery_id(
    receiver: Receiver,
) -> None:
    receiver.script = [(503, {}, b"busy"), (503, {}, b"busy")]
    sleep = Recorder()
    result = deliver(
        receiver.url, PAYLOAD, secret="k", backoff_s=0.5, sleep=sleep, rng=Constant(0.5)
    )

    assert result.delivered and result.attempts == 3 and result.status == 200
    assert len(receiver.requests) == 3
    ids = {r.headers["X-Modeldeck-Delivery"] for r in receiver.requests}
    assert ids == {result.delivery_id}
    assert sleep.delays == [0.25, 0.5]  # half of 0.5 * 2**0, half of 0.5 * 2**1
    for r in receiver.requests:  # each attempt is signed for its own timestamp
        assert verify(
            "k", r.body, r.headers["X-Modeldeck-Timestamp"], r.headers["X-Modeldeck-Signature"]
        )


def test_retry_after_is_honoured_and_capped(receiver: Receiver) -> None:
    receiver.script = [
        (429, {"Retry-After": "2"}, b""),
        (503, {"Retry-After": "120"}, b""),
        (503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, b""),  # a date: our own backoff
    ]
    sleep = Recorder()
    result = deliver(
        receiver.url,
        PAYLOAD,
        secret=None,
        backoff_s=1.0,
        max_backoff_s=30.0,
        sleep=sleep,
        rng=Constant(1.0),
    )
    assert result.delivered and result.attempts == 4
    assert sleep.delays == [2.0, 30.0, 4.0]


def test_a_4xx_is_not_retried(receiver: Receiver) -> None:
    receiver.script = [(400, {}, b'{"detail": "unknown channel"}')]
    sleep = Recorder()
    result = deliver(receiver.url, PAYLOAD, secret="k", sleep=sleep)
    assert not result.delivered
    assert (result.attempts, result.status) == (1, 400)
    # the status says why; what the receiver wrote is never repeated
    assert result.error == "HTTP 400 Bad Request" and "unknown channel" not in result.error
    assert sleep.delays == [] and len(receiver.requests) == 1


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.script = [(302, {"Location": "http://elsewhere.example/"}, b"")]
    result = deliver(receiver.url, PAYLOAD, secret="k", sleep=Recorder())
    assert not result.delivered and result.attempts == 1 and result.status == 302
    assert result.error is not None and "redirect" in result.error
    assert "elsewhere.example" not in result.error  # where it points is the receiver's word


def test_5xx_until_attempts_run_out(receiver: Receiver) -> None:
    receiver.script = [(500, {}, b"boom")] * 3
    sleep = Recorder()
    result = deliver(receiver.url, PAYLOAD, secret="k", attempts=3, sleep=sleep)
    assert not result.delivered and (result.attempts, result.status) == (3, 500)
    assert result.error is not None and "500" in result.error and "boom" not in result.error
    assert len(sleep.delays) == 2


def test_connection_refused_is_reported_not_raised() -> None:
    sleep = Recorder()
    result = deliver(_closed_port_url(), PAYLOAD, secret="k", attempts=3, sleep=sleep)
    assert isinstance(result, Delivery)
    assert not result.delivered and result.attempts == 3 and result.status is None
    assert result.error is not None and "could not connect" in result.error
    assert len(sleep.delays) == 2


def test_a_timeout_is_retried() -> None:
    # A listening socket that never accepts: the TCP handshake completes, no answer comes.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        url = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
        result = deliver(url, PAYLOAD, secret=None, attempts=2, timeout_s=0.05, sleep=Recorder())
    assert not result.delivered and result.attempts == 2 and result.status is None
    assert result.error is not None and "timed out" in result.error


def test_a_given_client_is_used_and_left_open(receiver: Receiver) -> None:
    with httpx.Client() as client:
        assert deliver(receiver.url, PAYLOAD, secret=None, client=client).delivered
        assert not client.is_closed


def test_bad_arguments_raise() -> None:
    with pytest.raises(InvalidInput, match="at least 1"):
        deliver("https://example.com/h", PAYLOAD, secret=None, attempts=0)
    with pytest.raises(InvalidInput, match="not JSON-serialisable"):
        deliver("https://example.com/h", {"at": object()}, secret=None)
    with pytest.raises(InvalidInput, match="not JSON-serialisable"):
        deliver("https://example.com/h", {"value": float("nan")}, secret=None)
    with pytest.raises(InvalidInput, match="http:// or https://"):
        deliver("ftp://example.com/h", PAYLOAD, secret=None)


# --- verify, sign, backoff, urls -----------------------------------------------------------


def test_verify_rejects_stale_and_future_timestamps() -> None:
    body = encode_payload(PAYLOAD)
    signature = sign("k", body, 1_000_000)
    assert verify("k", body, 1_000_000, signature, now=1_000_000 + 300)
    assert not verify("k", body, 1_000_000, signature, now=1_000_000 + 301)
    assert not verify("k", body, 1_000_000, signature, now=1_000_000 - 301)
    assert verify("k", body, 1_000_000, signature, now=1_000_000 + 3600, tolerance_s=3600)
    assert not verify("k", body, 1_000_000, signature)  # now: far in 1970's future


def test_verify_refuses_garbage() -> None:
    body = b"{}"
    assert not verify("k", body, "not-a-number", sign("k", body, 0), now=0)
    assert not verify("k", body, 0, "sha256=zz", now=0)
    assert not verify("k", body, 0, "sha256=ü", now=0)
    assert not verify("k", body, 0, "", now=0)


def test_sign_is_hmac_sha256_over_timestamp_dot_body() -> None:
    # echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
    assert sign("secret", b'{"a":1}', 1_700_000_000) == (
        "sha256=" + __import__("hmac").new(b"secret", b'1700000000.{"a":1}', "sha256").hexdigest()
    )


def test_backoff_is_full_jitter_under_a_growing_capped_ceiling() -> None:
    assert [backoff_delay(n, 0.5, 30.0, Constant(1.0)) for n in range(1, 9)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        30.0,
        30.0,
    ]
    assert backoff_delay(3, 0.5, 30.0, Constant(0.0)) == 0.0
    rng = random.Random(7)
    assert all(0 <= backoff_delay(4, 0.5, 30.0, rng) <= 4.0 for _ in range(200))
    assert backoff_delay(10_000, 0.5, 30.0, Constant(1.0)) == 30.0  # no overflow


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/ml", "http://127.0.0.1:8080/x?y=1", "HTTPS://Example.com"],
)
def test_check_url_accepts(url: str) -> None:
    assert check_url(f"  {url} ") == url


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("", "empty"),
        ("ftp://example.com/x", "http:// or https://"),
        ("example.com/hook", "no scheme"),
        ("file:///etc/passwd", "http:// or https://"),
        ("https:///path-only", "no host"),
        ("https://exa mple.com/", "spaces"),
        ("https://example.com:99999/", "does not parse"),
    ],
)
def test_check_url_refuses(url: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        check_url(url)


# --- destinations: internal addresses need the admin's allowlist ---------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fd00:ec2::254",
        "fe80::1",
        "::ffff:127.0.0.1",
    ],
)
def test_internal_addresses_are_refused_when_written_out(address: str) -> None:
    import ipaddress

    assert internal(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(PermissionDenied, match="internal address"):
        check_destination(f"http://{host}:8080/hook")
    result = webhooks.deliver(f"http://{host}:8080/hook", PAYLOAD, secret=None)
    assert not result.delivered and result.attempts == 0 and "internal" in (result.error or "")


def test_public_addresses_and_names_pass_the_check_when_added() -> None:
    import ipaddress

    assert not internal(ipaddress.ip_address("93.184.216.34"))
    assert not internal(ipaddress.ip_address("2606:4700::1111"))
    check_destination("https://93.184.216.34/hook")
    check_destination("http://localhost:9/hook")  # a name: checked on what it resolves to


def test_a_name_resolving_to_loopback_is_refused_at_connect_time(receiver: Receiver) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    url = f"http://localhost:{port}/hooks/ml"
    result = webhooks.deliver(url, PAYLOAD, secret="k", attempts=3, sleep=Recorder())
    assert not result.delivered and result.attempts == 1  # not retried: it cannot change
    assert result.error is not None and "resolves to an internal address" in result.error
    assert receiver.requests == []


def test_the_allowlist_names_hosts_and_ports(receiver: Receiver) -> None:
    port = int(receiver.url.split(":")[2].split("/")[0])
    assert allowed("localhost", port, ["localhost"])
    assert allowed("localhost", port, [f"localhost:{port}"])
    assert not allowed("localhost", port, [f"localhost:{port + 1}"])
    assert allowed("::1", 80, ["[::1]"]) and allowed("::1", 80, ["[::1]:80"])
    assert not allowed("evil.localhost", port, ["localhost"])
    url = f"http://localhost:{port}/hooks/ml"
    other = webhooks.deliver(url, PAYLOAD, secret=None, allowlist=[f"localhost:{port + 1}"])
    assert not other.delivered and receiver.requests == []
    sent = webhooks.deliver(url, PAYLOAD, secret=None, allowlist=[f"localhost:{port}"])
    assert sent.delivered and len(receiver.requests) == 1


def test_a_delivery_gives_up_at_its_deadline() -> None:
    with socket.socket() as s:  # accepts the connection, never answers
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        url = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
        started = time.monotonic()
        result = deliver(url, PAYLOAD, secret=None, attempts=50, timeout_s=5, deadline_s=0.3)
        took = time.monotonic() - started
    assert not result.delivered and took < 2.0
    assert result.error is not None and ("deadline" in result.error or "timed out" in result.error)
