"""Pydantic request and response schemas of the HTTP API (``/api/v1``).

Kept apart from the core entities: a schema is what travels, an entity what the services pass
around. Conversions from entities live here too (``RunOut.of``), so the routes stay thin.
"""
