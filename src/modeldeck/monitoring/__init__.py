"""Monitoring: the prediction log, and what is computed from it (drift, quality, alerts)."""
