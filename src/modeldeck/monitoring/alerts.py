"""What follows an alert that fired: its webhook deliveries, the same wherever the monitor
runs (in the embedded client's process, or in the server's for a remote client)."""

from __future__ import annotations

from typing import Any

from modeldeck.core.monitoring import Alert, Monitor

EVENT = "alert.fired"


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


def deliver_alert(monitor: Monitor, alert: Alert) -> list[dict[str, Any]]:
    """POST ``alert`` to each webhook of ``monitor`` (signed, retried); what each delivery did,
    as the alert's ``deliveries`` record it. Never raises on network trouble."""
    from modeldeck.monitoring.webhooks import deliver

    body = payload(alert)
    deliveries = []
    for hook in monitor.webhooks:
        sent = deliver(hook["url"], body, secret=hook.get("secret"))
        deliveries.append(
            {
                "url": sent.url,
                "delivered": sent.delivered,
                "attempts": sent.attempts,
                "status": sent.status,
                "error": sent.error,
                "delivery_id": sent.delivery_id,
            }
        )
    return deliveries
