"""Serving models: batch prediction over files, and (elsewhere) the prediction server."""
