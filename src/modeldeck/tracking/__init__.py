"""Tracking: experiments, runs, their metrics, params, tags, datasets and artifacts."""
