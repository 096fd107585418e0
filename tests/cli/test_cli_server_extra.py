"""`modeldeck server` without the [server] extra says what to install."""

from __future__ import annotations

import importlib.util


def test_server_without_the_extra_names_it(cli, monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a)
    )
    done = cli("server", "--port", "5999")
    assert done.exit_code == 1
    assert "pip install 'modeldeck[server]'" in done.stderr and "uvicorn missing" in done.stderr
