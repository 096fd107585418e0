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

Destinations: a webhook never reaches a loopback, private, link-local, shared, reserved or
multicast address, nor a cloud metadata endpoint (169.254.169.254, fd00:ec2::254), unless an
admin allowlisted its host (server setting ``webhook_hosts``: ``host`` or ``host:port``). The
check runs on the address the connection is actually made to: the host is resolved at connect
time, every address it resolves to is checked, and the socket is opened to that checked
address (TLS still verifies the certificate for the host name), so a name that resolves to a
public address when configured and to an internal one when sent (DNS rebinding) is refused
too. A literal internal address is refused already when the webhook is added. Proxies from
the environment are not used: they would make the check meaningless.

What a receiver answers is never repeated: a failed delivery records its status code and
reason, never the response body (the receiver may be a service the configurer cannot
otherwise read). Every delivery has a total deadline (``deadline_s``) over all its attempts
and waits.

httpx is imported inside the functions that send, so ``import modeldeck`` stays light.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import ipaddress
import json
import math
import random
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from modeldeck._version import __version__
from modeldeck.core.errors import InvalidInput, PermissionDenied

if TYPE_CHECKING:
    import httpx

SIGNATURE_HEADER = "X-Modeldeck-Signature"
TIMESTAMP_HEADER = "X-Modeldeck-Timestamp"
EVENT_HEADER = "X-Modeldeck-Event"
DELIVERY_HEADER = "X-Modeldeck-Delivery"
USER_AGENT = f"modeldeck/{__version__}"

METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
DEADLINE_S = 60.0  # one delivery, every attempt and wait included
ALLOW_HINT = "an admin can allow the host with `modeldeck server config set webhook_hosts HOST`"


@dataclass(frozen=True)
class Delivery:
    """How a delivery ended. ``status`` is the last HTTP status (``None`` when no response
    came back); ``error`` says why it failed (``None`` when delivered); ``elapsed_ms`` counts
    every attempt and the waits between them; ``refused`` says the destination was an
    internal address, so nothing was sent."""

    url: str
    delivered: bool
    attempts: int
    status: int | None
    error: str | None
    delivery_id: str
    elapsed_ms: float
    refused: bool = False


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


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def internal(address: IPAddress) -> bool:
    """Whether ``address`` is one a webhook may not reach without an admin's allowlist:
    anything not globally routable (loopback, private, link-local, shared, reserved,
    unspecified), multicast, and the metadata endpoints; IPv4 inside IPv6 is unwrapped."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            return internal(inner)
    return address in METADATA or address.is_multicast or not address.is_global


def allowed(host: str, port: int | None, allowlist: Sequence[str]) -> bool:
    """Whether ``host`` (and ``port``) is named by an entry of the allowlist
    (``host`` for any port, ``host:port`` for one, ``[v6]`` or ``[v6]:port``)."""
    name = host.strip("[]").lower().rstrip(".")
    for entry in allowlist:
        text = entry.strip().lower()
        wanted_port: int | None = None
        if text.startswith("["):
            addr, _, rest = text[1:].partition("]")
            if rest.startswith(":") and rest[1:].isdigit():
                wanted_port = int(rest[1:])
            text = addr
        elif text.count(":") == 1:
            text, _, digits = text.partition(":")
            wanted_port = int(digits) if digits.isdigit() else -1
        if text.rstrip(".") == name and (wanted_port is None or wanted_port == port):
            return True
    return False


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def check_destination(url: str, allowlist: Sequence[str] = ()) -> None:
    """Refuse (PermissionDenied) a URL whose host is an internal address written out, unless
    allowlisted. Names are not resolved here (what they resolve to may change): every
    connection checks the address it resolved to then."""
    parts = urlsplit(check_url(url))
    host = parts.hostname or ""
    if allowed(host, _port(parts.scheme, parts.port), allowlist):
        return
    literal = _literal(host)
    if literal is not None and internal(literal):
        raise PermissionDenied(
            f"webhook URL {url!r} points at an internal address (loopback, private, "
            f"link-local or metadata); webhooks go to public addresses only; {ALLOW_HINT}"
        )


def _port(scheme: str, port: int | None) -> int:
    return port if port is not None else (443 if scheme.lower() == "https" else 80)


class BlockedAddress(OSError):
    """A webhook host resolved to an internal address at connect time."""


def resolve_public(host: str, port: int) -> str:
    """The address to connect to for ``host``: resolved now, refused (BlockedAddress) when
    any address it resolves to is internal."""
    literal = _literal(host)
    if literal is not None:
        found = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as failed:
            raise OSError(f"cannot resolve {host}: {failed.strerror or failed}") from None
        found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not found:
        raise OSError(f"cannot resolve {host}")
    if any(internal(a) for a in found):
        raise BlockedAddress(
            f"refused: {host} resolves to an internal address; webhooks go to public "
            f"addresses only; {ALLOW_HINT}"
        )
    return str(found[0])


def guarded_client(allowlist: Sequence[str] = ()) -> httpx.Client:
    """An httpx client that connects only to public addresses (or allowlisted hosts),
    checked on the resolved address of every connection, with no proxies and no redirects."""
    import httpcore
    import httpx

    class Backend(httpcore.SyncBackend):
        def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Any = None,
        ) -> httpcore.NetworkStream:
            try:
                target = host if allowed(host, port, allowlist) else resolve_public(host, port)
            except OSError as failed:  # BlockedAddress included: reported, never connected
                raise httpcore.ConnectError(str(failed)) from failed
            return super().connect_tcp(target, port, timeout, local_address, socket_options)

    class Transport(httpx.HTTPTransport):
        def __init__(self) -> None:
            super().__init__(trust_env=False)
            self._pool = httpcore.ConnectionPool(
                ssl_context=httpx.create_ssl_context(trust_env=False),
                network_backend=Backend(),
            )

    return httpx.Client(transport=Transport(), follow_redirects=False, trust_env=False)


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
    deadline_s: float = DEADLINE_S,
    allowlist: Sequence[str] = (),
    client: httpx.Client | None = None,
    sleep: Callable[[float], object] = time.sleep,
    rng: random.Random | None = None,
) -> Delivery:
    """POST ``payload`` to ``url`` as described in the module docstring, at most ``attempts``
    times and within ``deadline_s`` in all. Bad arguments raise :class:`InvalidInput`; the
    network never raises, it is reported in the returned :class:`Delivery`, and so is an
    internal address. ``client`` is used as given (and not closed: tests pass one), else a
    :func:`guarded_client` over ``allowlist`` is opened for this delivery; ``sleep`` and
    ``rng`` are there so tests need not wait."""
    url = check_url(url)
    if attempts < 1:
        raise InvalidInput(f"webhook attempts must be at least 1, got {attempts}")
    if not (backoff_s >= 0 and max_backoff_s >= 0 and timeout_s > 0 and deadline_s > 0):
        raise InvalidInput(
            "webhook backoff_s and max_backoff_s must be >= 0, timeout_s and deadline_s > 0, got "
            f"{backoff_s}, {max_backoff_s}, {timeout_s}, {deadline_s}"
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
    if client is None:
        try:
            check_destination(url, allowlist)
        except PermissionDenied as refused:
            done = _done(url, False, 0, None, str(refused), delivery_id, started)
            return dataclasses.replace(done, refused=True)
    owned = client is None
    http = guarded_client(allowlist) if client is None else client
    status: int | None = None
    error: str | None = None
    attempt = 0
    blocked: str | None = None
    try:
        for number in range(1, attempts + 1):
            left = deadline_s - (time.monotonic() - started)
            if left <= 0:
                error = f"{error + '; ' if error else ''}gave up at the {deadline_s:g} s deadline"
                break
            attempt = number
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
                    timeout=min(timeout_s, left),
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
                error = f"timed out after {min(timeout_s, left):g} s ({type(e).__name__})"
            except httpx.TransportError as e:
                blocked = _blocked(e)
                retryable = blocked is None
                error = blocked or f"could not connect ({type(e).__name__})"
            except (httpx.HTTPError, httpx.InvalidURL) as e:
                retryable = False
                error = f"{type(e).__name__}: {e}"
            if not retryable or attempt == attempts:
                break
            if retry_after is not None:
                delay = min(retry_after, max_backoff_s)
            else:
                delay = backoff_delay(attempt, backoff_s, max_backoff_s, rng)
            sleep(max(0.0, min(delay, deadline_s - (time.monotonic() - started))))
    finally:
        if owned:
            http.close()
    done = _done(url, False, attempt, status, error, delivery_id, started)
    return dataclasses.replace(done, refused=blocked is not None)


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
    """``HTTP 400 Bad Request``: the status and its standard reason, never what the receiver
    wrote (its body, its own reason text or where it redirects to)."""
    from http import HTTPStatus

    try:
        reason = HTTPStatus(response.status_code).phrase
    except ValueError:
        reason = ""
    text = f"HTTP {response.status_code} {reason}".rstrip()
    if 300 <= response.status_code < 400:
        return f"{text}: redirected; webhooks do not follow redirects, configure the final URL"
    return text


def _blocked(error: BaseException) -> str | None:
    """The refusal message when ``error`` came from an internal address, else None."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, BlockedAddress):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return None


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
