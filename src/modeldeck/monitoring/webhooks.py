"""Delivering a fired alert to a webhook: signed, retried, never raising on network trouble.

What a receiver gets, per attempt::

    POST <url>
    Content-Type: application/json
    User-Agent: modeldeck/<version>
    X-Modeldeck-Event: alert.fired
    X-Modeldeck-Delivery: <uuid>           same on every retry: de-duplicate on it
    X-Modeldeck-Timestamp: <unix seconds>  fresh on every retry
    X-Modeldeck-Signature: sha256=<hex>    only when a secret is configured

    {"compact":"JSON","with":"sorted keys"}

The signature is HMAC-SHA256 over ``f"{timestamp}."`` followed by the raw body, the scheme
Stripe and Slack use: binding the timestamp stops a captured request from being replayed
later, and :func:`verify` rejects timestamps outside a tolerance. A receiver must verify the
raw bytes it received, before parsing them.

Retries: connection errors, timeouts, 429 and 5xx are retried with exponential backoff and
full jitter (AWS's "Exponential Backoff And Jitter": a uniform delay between 0 and
``min(max_backoff_s, backoff_s * 2**(n-1))``, which keeps many failing alerts from retrying
in lock step). A ``Retry-After`` header in seconds is honoured instead, capped at
``max_backoff_s``. Other responses (4xx, and 3xx: redirects are not followed, so a signed
body never lands on a host nobody configured) fail at once, as retrying cannot fix them.

httpx is imported inside the functions that send, so ``import modeldeck`` stays light.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from modeldeck._version import __version__
from modeldeck.core.errors import InvalidInput

if TYPE_CHECKING:
    import httpx

SIGNATURE_HEADER = "X-Modeldeck-Signature"
TIMESTAMP_HEADER = "X-Modeldeck-Timestamp"
EVENT_HEADER = "X-Modeldeck-Event"
DELIVERY_HEADER = "X-Modeldeck-Delivery"
USER_AGENT = f"modeldeck/{__version__}"

_ERROR_BODY_BYTES = 512  # enough of a failed response to tell why, never a whole page


@dataclass(frozen=True)
class Delivery:
    """How a delivery ended. ``status`` is the last HTTP status (``None`` when no response
    came back); ``error`` says why it failed (``None`` when delivered); ``elapsed_ms`` counts
    every attempt and the waits between them."""

    url: str
    delivered: bool
    attempts: int
    status: int | None
    error: str | None
    delivery_id: str
    elapsed_ms: float


def check_url(url: str) -> str:
    """Return ``url`` stripped if it can receive webhooks (absolute http or https, with a
    host), else raise :class:`InvalidInput`. Run when a webhook is configured, so mistakes
    surface to the person who made them, and again before sending, for stored values."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("a webhook URL is empty; give one like https://hooks.example.com/ml")
    url = url.strip()
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidInput(
            f"webhook URL {url!r} contains spaces or control characters; percent-encode them"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is what validates it
    except ValueError as e:
        raise InvalidInput(f"webhook URL {url!r} does not parse ({e})") from None
    if parts.scheme.lower() not in {"http", "https"}:
        got = f"{parts.scheme}://" if parts.scheme else "no scheme"
        raise InvalidInput(
            f"webhook URL {url!r} must start with http:// or https:// (got {got}), "
            f"e.g. https://hooks.example.com/ml"
        )
    if not parts.hostname:
        raise InvalidInput(
            f"webhook URL {url!r} has no host; write it in full, e.g. https://hooks.example.com/ml"
        )
    return url


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Modeldeck-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    body: bytes,
    timestamp: int | str,
    signature: str,
    *,
    tolerance_s: float = 300,
    now: float | None = None,
) -> bool:
    """For receivers: whether ``signature`` is ours for ``body`` at ``timestamp`` (header
    values may be passed as received), and ``timestamp`` is within ``tolerance_s`` of ``now``
    either way (clocks drift both ways; a stale one is a possible replay)."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_s:
        return False
    expected = sign(secret, body, ts).encode("ascii")
    # compare_digest is constant-time only over bytes it is given, so compare bytes.
    return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """The body sent for ``payload``: compact JSON with sorted keys, so the same alert is the
    same bytes, UTF-8. NaN and infinities are refused: they are not JSON."""
    try:
        text = json.dumps(
            dict(payload),
            separators=(",", ":"),
            sort_keys=True,
            ensure_ascii=False,
            allow_nan=False,
        )
    except (TypeError, ValueError) as e:
        raise InvalidInput(
            f"webhook payload is not JSON-serialisable ({e}); convert values to str, "
            f"int, float, bool, None, lists and dicts with str keys first"
        ) from None
    return text.encode("utf-8")


def backoff_delay(
    attempt: int, backoff_s: float, max_backoff_s: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): full jitter, uniform in
    ``[0, min(max_backoff_s, backoff_s * 2**(attempt-1))]``."""
    ceiling = min(max_backoff_s, backoff_s * 2.0 ** min(attempt - 1, 64))
    return ceiling * (rng or random).random()


def deliver(
    url: str,
    payload: Mapping[str, Any],
    *,
    secret: str | None,
    event: str = "alert.fired",
    attempts: int = 5,
    backoff_s: float = 0.5,
    max_backoff_s: float = 30.0,
    timeout_s: float = 5.0,
    client: httpx.Client | None = None,
    sleep: Callable[[float], object] = time.sleep,
    rng: random.Random | None = None,
) -> Delivery:
    """POST ``payload`` to ``url`` as described in the module docstring, at most ``attempts``
    times. Bad arguments raise :class:`InvalidInput`; the network never raises, it is reported
    in the returned :class:`Delivery`. ``client`` is used as given (and not closed), else one
    is opened for this delivery; ``sleep`` and ``rng`` are there so tests need not wait."""
    url = check_url(url)
    if attempts < 1:
        raise InvalidInput(f"webhook attempts must be at least 1, got {attempts}")
    if not (backoff_s >= 0 and max_backoff_s >= 0 and timeout_s > 0):
        raise InvalidInput(
            "webhook backoff_s and max_backoff_s must be >= 0 and timeout_s > 0, got "
            f"{backoff_s}, {max_backoff_s}, {timeout_s}"
        )
    body = encode_payload(payload)

    import httpx

    delivery_id = str(uuid.uuid4())
    base_headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
    }
    started = time.monotonic()
    owned = client is None
    http = httpx.Client(follow_redirects=False) if client is None else client
    status: int | None = None
    error: str | None = None
    attempt = 0
    try:
        for attempt in range(1, attempts + 1):
            timestamp = int(time.time())
            headers = {**base_headers, TIMESTAMP_HEADER: str(timestamp)}
            if secret is not None:
                headers[SIGNATURE_HEADER] = sign(secret, body, timestamp)
            retry_after: float | None = None
            status = None
            try:
                with http.stream(
                    "POST",
                    url,
                    content=body,
                    headers=headers,
                    timeout=timeout_s,
                    follow_redirects=False,
                ) as response:
                    status = response.status_code
                    if 200 <= status < 300:
                        return _done(url, True, attempt, status, None, delivery_id, started)
                    error = _describe(response)
                    retry_after = _retry_after(response.headers.get("Retry-After"))
                retryable = status == 429 or status >= 500
            except httpx.TimeoutException as e:
                retryable = True
                error = f"timed out after {timeout_s:g} s ({type(e).__name__})"
            except httpx.TransportError as e:
                retryable = True
                error = f"could not connect: {type(e).__name__}: {e}"
            except (httpx.HTTPError, httpx.InvalidURL) as e:
                retryable = False
                error = f"{type(e).__name__}: {e}"
            if not retryable or attempt == attempts:
                break
            if retry_after is not None:
                delay = min(retry_after, max_backoff_s)
            else:
                delay = backoff_delay(attempt, backoff_s, max_backoff_s, rng)
            sleep(delay)
    finally:
        if owned:
            http.close()
    return _done(url, False, attempt, status, error, delivery_id, started)


def _done(
    url: str,
    delivered: bool,
    attempts: int,
    status: int | None,
    error: str | None,
    delivery_id: str,
    started: float,
) -> Delivery:
    elapsed_ms = (time.monotonic() - started) * 1000.0
    return Delivery(url, delivered, attempts, status, error, delivery_id, elapsed_ms)


def _describe(response: httpx.Response) -> str:
    """``HTTP 400 Bad Request: <start of the body>``, reading no more than needed."""
    text = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    if 300 <= response.status_code < 400:
        location = response.headers.get("Location", "?")
        return (
            f"{text}: redirected to {location}; webhooks do not follow redirects, "
            "configure the final URL"
        )
    import httpx

    chunk = b""
    try:
        for part in response.iter_bytes():
            chunk += part
            if len(chunk) >= _ERROR_BODY_BYTES:
                break
    except httpx.HTTPError:
        pass  # the status already says what failed; a body cut short must not turn it into a retry
    snippet = " ".join(chunk[:_ERROR_BODY_BYTES].decode("utf-8", "replace").split())
    return f"{text}: {snippet}" if snippet else text


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header; ``None`` when absent or not in seconds (an
    HTTP date falls back to our own backoff rather than trusting the receiver's clock)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
