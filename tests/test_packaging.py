"""Every file the package needs at run time goes into the wheel: the UI's templates and
static assets, the migration templates. (A missing glob breaks only installed copies, never
an editable checkout, so it needs a test of its own.)"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import modeldeck

PACKAGE = Path(modeldeck.__file__).parent
PYPROJECT = PACKAGE.parents[1] / "pyproject.toml"


def test_every_data_file_matches_a_package_data_pattern() -> None:
    patterns = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-data"][
        "modeldeck"
    ]
    data = [
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]
    assert any(name.startswith("ui/templates/") for name in data)
    missing = [name for name in data if not any(fnmatch.fnmatch(name, g) for g in patterns)]
    assert not missing, f"add these to [tool.setuptools.package-data] in pyproject.toml: {missing}"
