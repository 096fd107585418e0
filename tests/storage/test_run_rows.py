"""How storage turns rows into runs."""

from __future__ import annotations


def test_run_columns_match_the_run_entity() -> None:
    """storage loads runs positionally: its column list must lead Run's fields in order."""
    import dataclasses

    from modeldeck.core.entities import Run
    from modeldeck.storage.metadata.runs import _RUN_FIELDS

    names = [f.name for f in dataclasses.fields(Run)]
    assert names[: len(_RUN_FIELDS)] == list(_RUN_FIELDS)
