"""What follows an alert that fired: its webhook deliveries, the same wherever the monitor
runs (in the embedded client's process, or in the server's for a remote client, where they
go through an :class:`Outbox` and never hold up the request)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from modeldeck.core.monitoring import Alert, Monitor

EVENT = "alert.fired"
QUEUED = "queued"
log = logging.getLogger(__name__)


def payload(alert: Alert) -> dict[str, Any]:
    """The JSON body every webhook of the monitor receives for ``alert``."""
    return {
        "event": EVENT,
        "alert": {
            "id": alert.id,
            "model": alert.model,
            "rule": alert.rule,
            "action": alert.action,
            "value": alert.value,
            "fired_at": alert.fired_at,
            **{k: alert.detail.get(k) for k in ("version", "window_start", "window_end")},
        },
    }


def queued(monitor: Monitor) -> list[dict[str, Any]]:
    """The ``deliveries`` an alert records until its outbox has sent them."""
    return [{"url": hook["url"], "state": QUEUED} for hook in monitor.webhooks]


def deliver_alert(
    monitor: Monitor, alert: Alert, allowlist: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """POST ``alert`` to each webhook of ``monitor`` (signed, retried, to public addresses or
    the allowlisted hosts only); what each delivery did, as the alert's ``deliveries`` record
    it. Never raises on network trouble."""
    from modeldeck.monitoring.webhooks import deliver

    body = payload(alert)
    deliveries = []
    for hook in monitor.webhooks:
        sent = deliver(hook["url"], body, secret=hook.get("secret"), allowlist=allowlist)
        deliveries.append(
            {
                "url": sent.url,
                "state": "delivered" if sent.delivered else "refused" if sent.refused else "failed",
                "delivered": sent.delivered,
                "attempts": sent.attempts,
                "status": sent.status,
                "error": sent.error,
                "delivery_id": sent.delivery_id,
            }
        )
    return deliveries


class Outbox:
    """Deliveries waiting to be sent, by one daemon thread of this process (started on first
    use). Each job is a delivery with its own total deadline (see
    :func:`~modeldeck.monitoring.webhooks.deliver`), so one slow receiver delays the others
    by at most that. A full queue refuses new jobs rather than growing without bound; jobs
    still queued when the process ends are lost, and their alerts keep saying ``queued``."""

    def __init__(self, size: int = 10_000) -> None:
        self._jobs: queue.Queue[Callable[[], object]] = queue.Queue(maxsize=size)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], object]) -> bool:
        """Queue ``job``; False when the queue is full."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="modeldeck-webhooks", daemon=True
                )
                self._thread.start()
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            return False
        return True

    def join(self) -> None:
        """Wait until every queued job is done (tests, shutdown)."""
        self._jobs.join()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception:  # a broken store must not stop later deliveries
                log.exception("a webhook delivery could not be completed")
            finally:
                self._jobs.task_done()
