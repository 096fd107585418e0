"""The load generator of bench/serving.py (stdlib only), in a process of its own:

    python _serving_load.py PORT CONCURRENCY WARMUP_S DURATION_S REQUESTS_JSON [LATENCIES_OUT]

``CONCURRENCY`` callers, each on its own keep-alive HTTP/1.1 connection (asyncio, raw TCP),
send single-row ``POST /invocations`` back to back, cycling through the pre-encoded bodies from
different offsets. A request counts when it starts after the warm-up and ends before the
deadline. Cheap per request on purpose (no HTTP library, bytes encoded up front, the status
line and Content-Length parsed by hand), so that it does not starve a 2-core server.
Prints one JSON line: requests, errors (by status), latencies' percentiles, CPU it used; with
``LATENCIES_OUT``, also writes every latency (ns, JSON list) there, to pool several runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from typing import Any

now_ns = time.perf_counter_ns


def encode(port: int, body: str) -> bytes:
    payload = body.encode()
    head = (
        f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def caller(
    port: int,
    requests: list[bytes],
    offset: int,
    start_ns: int,
    end_ns: int,
    latencies: list[int],
    errors: Counter[str],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while True:
            t0 = now_ns()
            if t0 >= end_ns:
                return
            writer.write(requests[i % len(requests)])
            i += 1
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                errors[f"connection lost: {type(exc).__name__}"] += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            status = head[9:12]
            length = -1
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            if length < 0:
                raise RuntimeError(f"no Content-Length in {head[:300]!r}")
            body = await reader.readexactly(length)
            t1 = now_ns()
            if t0 < start_ns or t1 > end_ns:
                continue
            if status == b"200":
                latencies.append(t1 - t0)
            else:
                errors[f"{status.decode()} {body[:200].decode(errors='replace')}"] += 1
    finally:
        writer.close()


async def run(
    port: int, concurrency: int, warmup: float, duration: float, bodies: list[str]
) -> Any:
    requests = [encode(port, body) for body in bodies]
    latencies: list[int] = []
    errors: Counter[str] = Counter()
    begin = now_ns()
    start_ns = begin + int(warmup * 1e9)
    end_ns = start_ns + int(duration * 1e9)
    step = max(1, len(requests) // concurrency)
    await asyncio.gather(
        *(
            caller(port, requests, c * step, start_ns, end_ns, latencies, errors)
            for c in range(concurrency)
        )
    )
    return latencies, errors


def percentile(ordered: list[int], q: float) -> float:
    """Nearest-rank percentile of sorted nanoseconds, in milliseconds."""
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank] / 1e6


def main() -> None:
    port, concurrency = int(sys.argv[1]), int(sys.argv[2])
    warmup, duration = float(sys.argv[3]), float(sys.argv[4])
    with open(sys.argv[5]) as handle:
        bodies = json.load(handle)["bodies"]
    cpu0 = os.times()
    latencies, errors = asyncio.run(run(port, concurrency, warmup, duration, bodies))
    cpu1 = os.times()
    ordered = sorted(latencies)
    if len(sys.argv) > 6:
        with open(sys.argv[6], "w") as handle:
            json.dump(ordered, handle)
    print(
        json.dumps(
            {
                "concurrency": concurrency,
                "duration": duration,
                "requests": len(ordered),
                "rps": len(ordered) / duration,
                "p50_ms": percentile(ordered, 50),
                "p90_ms": percentile(ordered, 90),
                "p99_ms": percentile(ordered, 99),
                "max_ms": ordered[-1] / 1e6 if ordered else float("nan"),
                "errors": sum(errors.values()),
                "error_kinds": dict(errors.most_common(5)),
                # CPU seconds of this process over the warm-up and the measurement
                "client_cpu_s": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system),
            }
        )
    )


if __name__ == "__main__":
    main()
