"""The app itself: version, help, import cost and how errors are shown."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
import sqlalchemy as sa

from modeldeck import __version__
from modeldeck.cli.main import explain

HEAVY = ("sqlalchemy", "alembic", "pandas", "numpy", "sklearn", "fastapi", "matplotlib", "scipy")


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout == f"modeldeck {__version__}\n"


def test_help_lists_the_command_groups(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for group in ("experiments", "runs", "artifacts", "db", "quickstart"):
        assert group in result.stdout


@pytest.mark.parametrize(
    "args", [["--help"], ["runs", "--help"], ["runs", "search", "--help"], ["--version"]]
)
def test_help_imports_no_heavy_library(args):
    code = (
        "import sys\n"
        "from modeldeck.cli.main import main\n"
        f"sys.argv = ['modeldeck', *{args!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = {HEAVY!r}\n"
        "print('LOADED:' + ','.join(sorted({m.split('.')[0] for m in sys.modules} & set(heavy))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "LOADED:\n" in done.stdout, done.stdout


def test_usage_error_exits_2(cli):
    result = cli("runs", "list", "--max", "0")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_unknown_command_exits_2(cli):
    assert cli("nope").exit_code == 2


def test_unreachable_database_gets_a_clear_message(cli, monkeypatch):
    monkeypatch.setenv("MODELDECK_TRACKING_URI", "postgresql+psycopg://bob:s3cret@127.0.0.1:1/md")
    result = cli("runs", "list")
    assert result.exit_code == 1, result.output
    assert "cannot use the metadata store postgresql+psycopg://bob:***@127.0.0.1:1/md" in (
        result.stderr
    )
    assert "s3cret" not in result.stderr
    assert "Traceback" not in result.output


def test_locked_database_is_explained():
    locked = sa.exc.OperationalError(
        "BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")
    )
    message = explain(locked)
    assert message is not None
    assert "locked by another process" in message


def test_bugs_are_not_disguised():
    assert explain(ValueError("a bug")) is None
    assert explain(sa.exc.IntegrityError("INSERT", {}, Exception("UNIQUE"))) is None


def test_file_errors_name_the_file():
    message = explain(PermissionError(13, "Permission denied", "/root/x"))
    assert message == "Permission denied: /root/x"
