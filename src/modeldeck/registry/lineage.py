"""Lineage, both ways: version → run → datasets → commit → parent runs, and dataset → versions."""

from __future__ import annotations

from dataclasses import dataclass, field

from modeldeck.core.entities import Dataset, Run, RunInput
from modeldeck.core.registry import ModelVersion
from modeldeck.registry.names import check_version
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import datasets as dataset_rows
from modeldeck.storage.metadata import registry as rows
from modeldeck.storage.metadata import runs as run_rows


@dataclass(frozen=True, slots=True)
class Lineage:
    version: ModelVersion
    run: Run | None
    parents: list[Run] = field(default_factory=list)  # nearest first
    inputs: list[RunInput] = field(default_factory=list)  # the run's, then its parents'
    replaces: list[ModelVersion] = field(default_factory=list)  # generations before, nearest first


@dataclass(frozen=True, slots=True)
class DatasetUse:
    dataset: Dataset
    run_id: str
    context: str
    versions: list[ModelVersion]


def lineage(db: Database, name: str, version: int) -> Lineage:
    number = check_version(version)
    with db.read() as conn:
        this = rows.get_version(conn, name, number)
        run = run_rows.get(conn, this.run_id) if this.run_id else None
        parents: list[Run] = []
        seen = {run.id} if run else set()
        parent_id = run.parent_id if run else None
        while parent_id and parent_id not in seen:
            seen.add(parent_id)
            parent = run_rows.get(conn, parent_id)
            parents.append(parent)
            parent_id = parent.parent_id
        inputs = [*(run.inputs if run else ()), *(i for p in parents for i in p.inputs)]
        replaces: list[ModelVersion] = []
        previous = this.replaces_version
        while previous is not None and len(replaces) < 1000:
            older = rows.get_version(conn, name, previous)
            replaces.append(older)
            previous = older.replaces_version
        return Lineage(this, run, parents, _unique(inputs), replaces)


def trained_on(db: Database, dataset: str) -> list[DatasetUse]:
    """Every model version whose run — or a run below it — used the dataset (name or digest)."""
    out = []
    with db.read() as conn:
        for found in dataset_rows.find(conn, dataset):
            for run_id, context in dataset_rows.runs_using(conn, found.id):
                family = [run_id]
                frontier = [run_id]
                while frontier and len(family) < 10_000:
                    kids = [k for parent in frontier for k in run_rows.children(conn, parent)]
                    family.extend(kids)
                    frontier = kids
                out.append(DatasetUse(found, run_id, context, rows.versions_of_runs(conn, family)))
    return out


def _unique(inputs: list[RunInput]) -> list[RunInput]:
    seen = set()
    out = []
    for item in inputs:
        key = (item.dataset.id, item.context)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
