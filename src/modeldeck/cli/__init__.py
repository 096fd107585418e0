"""The ``modeldeck`` command line: a thin Typer layer over the SDK client.

Every module here imports only the standard library, Typer and rich at import time, so
``modeldeck --help`` stays fast; the stores (SQLAlchemy) and data libraries load inside the
command that needs them.
"""
