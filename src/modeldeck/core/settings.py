"""Settings: built once from the environment (``MODELDECK_*``) > ``modeldeck.toml`` > defaults."""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from modeldeck.core.errors import InvalidInput

PROJECT_FILE = "modeldeck.toml"


@dataclass(frozen=True, slots=True)
class Settings:
    """Where modeldeck keeps its data and who is acting.

    Every field is documented in ``ENV`` below with the variable that sets it.
    """

    home: Path
    tracking_uri: str
    artifacts_uri: str
    user: str
    experiment: str = "Default"

    @property
    def is_embedded(self) -> bool:
        """True for the default SQLite store, which migrates itself."""
        return self.tracking_uri.startswith("sqlite:")

    @property
    def is_remote(self) -> bool:
        """True when the tracking URI names a modeldeck server (http:// or https://)."""
        return self.tracking_uri.startswith(("http://", "https://"))

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
        env = os.environ if env is None else env
        cwd = Path.cwd() if cwd is None else cwd
        project = _read_project_file(cwd / PROJECT_FILE)

        def pick(field: str) -> str | None:
            value = env.get(ENV[field][0]) or project.get(field)
            return str(value) if value else None

        home_text = pick("home")
        home = Path(home_text).expanduser() if home_text else cwd / ".modeldeck"
        if not home.is_absolute():
            home = cwd / home
        tracking_uri = pick("tracking_uri") or f"sqlite:///{home / 'modeldeck.db'}"
        if "://" not in tracking_uri and not tracking_uri.startswith("sqlite:"):
            raise InvalidInput(
                f"MODELDECK_TRACKING_URI {tracking_uri!r} is not a URI: use "
                "postgresql+psycopg://user@host/db, sqlite:///path/to/file.db or http://host:port"
            )
        artifacts = pick("artifacts_uri") or str(home / "objects")
        return cls(
            home=home,
            tracking_uri=tracking_uri,
            artifacts_uri=artifacts,
            user=pick("user") or _os_user(),
            experiment=pick("experiment") or "Default",
        )


ENV: dict[str, tuple[str, str]] = {
    "home": ("MODELDECK_HOME", "folder of the embedded store (default ./.modeldeck)"),
    "tracking_uri": (
        "MODELDECK_TRACKING_URI",
        "metadata store: sqlite:///…, postgresql+psycopg://…, or a modeldeck server "
        "http(s)://host:port with MODELDECK_TOKEN (default: SQLite in the home)",
    ),
    "artifacts_uri": ("MODELDECK_ARTIFACTS", "object store: a folder (default <home>/objects)"),
    "user": ("MODELDECK_USER", "who is acting (default: the OS user)"),
    "experiment": ("MODELDECK_EXPERIMENT", "experiment of runs started without one"),
}
assert set(ENV) == {f.name for f in fields(Settings)}


def _read_project_file(path: Path) -> dict[str, object]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path} is not valid TOML: {exc}") from exc
    section = data.get("modeldeck", {})
    if not isinstance(section, dict):
        raise InvalidInput(f"{path}: [modeldeck] must be a table")
    unknown = set(section) - set(ENV)
    if unknown:
        raise InvalidInput(
            f"{path}: unknown setting(s) {', '.join(sorted(unknown))} in [modeldeck]; "
            f"known: {', '.join(ENV)}"
        )
    return section


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
