"""Attacks on a real team server: one `modeldeck server` process (two workers) per backend,
SQLite and PostgreSQL where one answers, for the whole session, with the team of
:mod:`attack_support`. Refused tokens are audited in aggregate once a second there (ten
seconds by default), so a test can see a flood's count without waiting long."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from attack_support import Team, team_on
from postgres_support import postgres_database
from server_support import start_server


@pytest.fixture(scope="session", autouse=True)
def _audit_refusals_every_second() -> Iterator[None]:
    before = os.environ.get("MODELDECK_SERVER_REFUSAL_AUDIT_S")
    os.environ["MODELDECK_SERVER_REFUSAL_AUDIT_S"] = "1"
    yield
    if before is None:
        os.environ.pop("MODELDECK_SERVER_REFUSAL_AUDIT_S", None)
    else:
        os.environ["MODELDECK_SERVER_REFUSAL_AUDIT_S"] = before


@pytest.fixture(scope="session")
def sqlite_team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    tmp = tmp_path_factory.mktemp("attack-sqlite")
    for server in start_server(tmp, f"sqlite:///{tmp / 'home' / 'modeldeck.db'}", workers=2):
        team = team_on("sqlite", server)
        yield team
        team.close()


@pytest.fixture(scope="session")
def postgres_team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    """A database of its own (other tests truncate the session's shared one)."""
    with postgres_database("modeldeck_attack") as url:
        tmp: Path = tmp_path_factory.mktemp("attack-postgres")
        for server in start_server(tmp, url, workers=2):
            team = team_on("postgres", server)
            yield team
            team.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def team(request: pytest.FixtureRequest) -> Team:
    """The team on each backend's server (shared by every attack of the session: tests make
    their own names, so they never see each other's records)."""
    found: Team = request.getfixturevalue(f"{request.param}_team")
    return found
