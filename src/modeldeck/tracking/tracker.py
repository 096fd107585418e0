"""The tracking service. Each public method is one transaction.

Who may write to a run is decided inside the transaction of the write, by the service's
:data:`RunGuard` (the team server's checks the caller's role and the run's owner, so a role
revoked between the request's arrival and its write does not let the write through). Without
a guard (the embedded store) the local user, who holds the store's files, owns every run.
Whatever the guard, a run's end is final, and an artifact path is write-once; params, tags and
metric batches are audited, one record per call.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from modeldeck.core import validation as check
from modeldeck.core.entities import Artifact, Dataset, Experiment, Metric, Run, RunStatus
from modeldeck.core.errors import Conflict, InvalidInput, NotFound
from modeldeck.core.filters import parse_filter, parse_order_by
from modeldeck.core.hashing import sha256_bytes
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import artifacts as artifact_rows
from modeldeck.storage.metadata import audit, idempotency
from modeldeck.storage.metadata import datasets as dataset_rows
from modeldeck.storage.metadata import experiments as experiment_rows
from modeldeck.storage.metadata import runs as run_rows
from modeldeck.storage.metadata.search import search_ids
from modeldeck.storage.objects.base import ObjectStore
from modeldeck.tracking.buffer import MetricRow
from modeldeck.tracking.environment import RunContext

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Connection

MAX_RESULTS_LIMIT = 50_000
AUDITED_KEYS = 100  # the keys of a params, tags or metrics write named in its audit record

# May ``actor`` write to a run of ``owner`` (None: create a new run)? Runs inside the write's
# transaction; raises PermissionDenied to refuse (and so roll the write back).
RunGuard = Callable[["Connection", str, "str | None"], None]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Page:
    runs: list[Run]
    next_offset: int | None


class Tracker:
    def __init__(
        self,
        db: Database,
        objects: ObjectStore,
        clock: Callable[[], int] = now_ms,
        actor: str = "unknown",
        guard: RunGuard | None = None,
    ) -> None:
        self.db = db
        self.actor = actor  # who acts when a call does not say
        self.guard = guard
        self.objects = objects
        self.clock = clock
        self._stored_documents: dict[bytes, str] = {}
        self._experiment_ids: dict[str, int] = {}

    # experiments ---------------------------------------------------------------------------

    def experiment(self, name: str, *, create: bool = True) -> Experiment:
        if not create:
            with self.db.read() as conn:
                return experiment_rows.find(conn, name)
        check.check_name(name, "experiment name")
        with self.db.write() as conn:
            return experiment_rows.get_or_create(conn, name, self.clock())

    def experiments(self) -> list[Experiment]:
        with self.db.read() as conn:
            return experiment_rows.list_all(conn)

    # runs ----------------------------------------------------------------------------------

    def create_run(
        self,
        *,
        experiment: str,
        user: str,
        context: RunContext,
        name: str | None = None,
        parent_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_id: str | None = None,
    ) -> Run:
        """A new RUNNING run; ``run_id`` (32 hex characters) may be chosen by a remote client, so
        that a retried create finds the run it made."""
        if name is not None:
            check.check_name(name, "run name")
        clean_tags = text_map(tags or {}, "tag", check.MAX_TAG_VALUE_LENGTH)
        run_id = uuid.uuid4().hex if run_id is None else check_run_id(run_id)
        env_digest = self._store_document(context.environment)
        diff_digest = None
        if context.git is not None and context.git.diff:
            diff_digest = self._store_document(context.git.diff)
        values: dict[str, Any] = {
            "id": run_id,
            "name": name or _friendly_name(),
            "status": RunStatus.RUNNING.value,
            "user": user,
            "start_time": self.clock(),
            "parent_id": parent_id,
            "source": context.source,
            "entry_point": context.entry_point,
            "git_commit": context.git.commit if context.git else None,
            "git_dirty": context.git.dirty if context.git else None,
            "git_diff_digest": diff_digest,
            "python_version": context.python_version,
            "environment_digest": env_digest,
            "host": context.host,
            "pid": context.pid,
        }
        with self.db.write() as conn:
            if self.guard is not None:
                self.guard(conn, user, None)
            values["experiment_id"] = self._experiment_id(conn, experiment)
            if parent_id is not None:
                run_rows.require(conn, parent_id)
            run_rows.insert(conn, values)
            if clean_tags:
                run_rows.set_tags(conn, run_id, clean_tags)
            audit.append(
                conn,
                actor=user,
                action="run.create",
                subject=f"runs:/{run_id}",
                at=values["start_time"],
                after={"experiment": experiment, "name": values["name"], "parent_id": parent_id},
            )
        # remembered once committed: a rolled-back create (unknown parent) must not leave the
        # id of an experiment row that never was
        self._experiment_ids[experiment] = values["experiment_id"]
        values["experiment_id"] = str(values["experiment_id"])
        return Run(
            status=RunStatus.RUNNING,
            tags=clean_tags,
            **{k: v for k, v in values.items() if k != "status"},
        )

    def end_run(
        self,
        run_id: str,
        status: RunStatus = RunStatus.FINISHED,
        metrics: Sequence[MetricRow] = (),
        actor: str | None = None,
    ) -> None:
        """Mark a run ended, storing its last queued metrics in the same transaction.

        An end is final: ending an ended run again with the same status changes nothing (a
        retry), with another status is a Conflict, and no
        run goes back to RUNNING."""
        with self.db.write() as conn:
            self._end(conn, run_id, RunStatus(status), metrics, actor)

    def ended_run(
        self,
        run_id: str,
        status: RunStatus = RunStatus.FINISHED,
        metrics: Sequence[MetricRow] = (),
        actor: str | None = None,
    ) -> Run:
        """:meth:`end_run`, answering with the run as that transaction left it (the server's
        reply: no second transaction to read it back)."""
        with self.db.write() as conn:
            self._end(conn, run_id, RunStatus(status), metrics, actor)
            return run_rows.get(conn, _run_id(run_id))

    def _end(
        self,
        conn: Connection,
        run_id: str,
        final: RunStatus,
        metrics: Sequence[MetricRow],
        actor: str | None,
    ) -> None:
        if final is RunStatus.RUNNING:
            raise InvalidInput(f"cannot end run {run_id} as RUNNING: a run's end is final")
        current = self._writable(conn, run_id, actor)
        if current is RunStatus.RUNNING:
            now = self.clock()
            run_rows.set_status(conn, run_id, final, now)
            self._audit(conn, actor, "run.end", run_id, {"status": final.value}, now)
        elif current is not final:
            raise Conflict(
                f"run {run_id} already ended as {current.value}; a run's end is final, so "
                f"it cannot become {final.value}"
            )
        # kept even when the run had ended: a resumed run's metrics arrive with its end
        self._insert_metrics(conn, metrics, actor, writable={_run_id(run_id)})

    def get_run(self, run_id: str) -> Run:
        with self.db.read() as conn:
            return run_rows.get(conn, _run_id(run_id))

    def children(self, run_id: str) -> list[str]:
        with self.db.read() as conn:
            return run_rows.children(conn, run_id)

    def log_params(self, run_id: str, values: Mapping[str, Any], actor: str | None = None) -> None:
        clean = text_map(values, "param", check.MAX_PARAM_VALUE_LENGTH)
        with self.db.write() as conn:
            self._writable(conn, run_id, actor)
            run_rows.log_params(conn, run_id, clean)
            if clean:
                self._audit(conn, actor, "run.params", run_id, _keys_of(clean))

    def set_tags(self, run_id: str, values: Mapping[str, Any], actor: str | None = None) -> None:
        clean = text_map(values, "tag", check.MAX_TAG_VALUE_LENGTH)
        with self.db.write() as conn:
            self._writable(conn, run_id, actor)
            run_rows.set_tags(conn, run_id, clean)
            if clean:
                self._audit(conn, actor, "run.tags", run_id, _keys_of(clean))

    def log_metrics(self, batch: Sequence[MetricRow], actor: str | None = None) -> None:
        """Store a batch of already validated metric values in one transaction."""
        if not batch:
            return
        with self.db.write() as conn:
            self._insert_metrics(conn, batch, actor)

    def log_metrics_once(
        self, batch: Sequence[MetricRow], key: str, actor: str, request: str | None = None
    ) -> bool:
        """Like :meth:`log_metrics`, unless ``actor`` already stored a batch under ``key``
        (a retried request): then nothing is stored and it returns False.

        ``request`` identifies what the caller sent (default: the batch itself); the same key
        with another request is a Conflict.
        """
        check.check_key(key, "idempotency key")
        digest = sha256_bytes((request or repr(sorted(batch))).encode())
        with self.db.write() as conn:
            if not idempotency.claim(conn, actor, key, digest, self.clock()):
                return False
            self._insert_metrics(conn, batch, actor)
        return True

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        with self.db.read() as conn:
            run_rows.require(conn, run_id)
            return run_rows.metric_history(conn, run_id, key)

    def metric_arrays(
        self, run_id: str, key: str, lo: float | None = None, hi: float | None = None
    ) -> tuple[Any, Any]:
        """A metric's steps and values as two float arrays, steps ``lo``..``hi`` inclusive:
        what a chart reads, without building a Metric per point (see storage ``series``)."""
        from modeldeck.storage.metadata import series

        with self.db.read() as conn:
            run_rows.require(conn, run_id)
            return series.history(conn, run_id, key, lo, hi)

    def family(self, run: Run, limit: int) -> tuple[Run | None, list[Run], int]:
        """A run's parent, its first ``limit`` children (loaded in one query) and how many
        children it has."""
        with self.db.read() as conn:
            all_children = run_rows.children(conn, run.id)
            child_ids = all_children[:limit]
            ids = [*([run.parent_id] if run.parent_id else []), *child_ids]
            loaded = {r.id: r for r in run_rows.load(conn, ids, with_inputs=False)}
        parent = loaded.get(run.parent_id) if run.parent_id else None
        return parent, [loaded[i] for i in child_ids if i in loaded], len(all_children)

    def search(
        self,
        experiments: str | Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        max_results: int = 1000,
        offset: int = 0,
    ) -> Page:
        if not 0 < max_results <= MAX_RESULTS_LIMIT:
            raise InvalidInput(f"max_results must be between 1 and {MAX_RESULTS_LIMIT}")
        where = parse_filter(filter)
        order = parse_order_by(order_by)
        names = [experiments] if isinstance(experiments, str) else list(experiments or [])
        with self.db.read() as conn:
            if names:
                ids = [int(experiment_rows.find(conn, n).id) for n in names]
            else:
                ids = [int(e.id) for e in experiment_rows.list_all(conn)]
            found = search_ids(conn, ids, where, order, max_results + 1, offset)
            more = len(found) > max_results
            runs = run_rows.load(conn, found[:max_results], with_inputs=False)
        return Page(runs, offset + max_results if more else None)

    def reap_dead_runs(self, host: str, is_alive: Callable[[int], bool]) -> list[str]:
        """Mark FAILED the RUNNING runs of ``host`` whose process is gone (a SIGKILL, a crash)."""
        with self.db.read() as conn:
            candidates = run_rows.running(conn, host)
        dead = [run_id for run_id, _, pid in candidates if pid is None or not is_alive(pid)]
        if dead:
            with self.db.write() as conn:
                for run_id in dead:
                    if run_rows.require(conn, run_id) is RunStatus.RUNNING:
                        run_rows.set_status(conn, run_id, RunStatus.FAILED, self.clock())
        return dead

    # datasets ------------------------------------------------------------------------------

    def log_dataset(
        self,
        run_id: str,
        data: pd.DataFrame | str | os.PathLike[str],
        *,
        name: str | None,
        context: str,
        store: bool = True,
        source: str | None = None,
        actor: str | None = None,
    ) -> Dataset:
        check.check_key(context, "dataset context")
        with self.db.read() as conn:
            run_rows.require(conn, run_id)
        values = describe_dataset(self.objects, data, name=name, store=store, source=source)
        return self.add_dataset(run_id, values, context, actor)

    def add_dataset(
        self, run_id: str, values: Mapping[str, Any], context: str, actor: str | None = None
    ) -> Dataset:
        """Record a described dataset (:func:`describe_dataset`) as an input of ``run_id``."""
        check.check_key(context, "dataset context")
        with self.db.write() as conn:
            self._writable(conn, run_id, actor)
            dataset = dataset_rows.get_or_create(conn, {**values, "created_at": self.clock()})
            dataset_rows.link(conn, run_id, dataset.id, context)
            change = {"dataset": dataset.name, "digest": dataset.digest, "context": context}
            self._audit(conn, actor, "dataset.log", run_id, change)
        return dataset

    def datasets(self, name_or_digest: str) -> list[Dataset]:
        with self.db.read() as conn:
            return dataset_rows.find(conn, name_or_digest)

    # artifacts -----------------------------------------------------------------------------

    def log_artifact(
        self,
        run_id: str,
        local_path: str | os.PathLike[str],
        name: str | None,
        actor: str | None = None,
    ) -> Artifact:
        path = Path(local_path)
        if not path.exists():
            raise InvalidInput(f"cannot log artifact: {path} does not exist")
        where = artifact_path(name or path.name)
        with self.db.read() as conn:
            run_rows.require(conn, run_id)
        info = self.objects.put_dir(path) if path.is_dir() else self.objects.put_file(path)
        artifact = Artifact(where, info.digest, info.size, is_dir=path.is_dir())
        self.add_artifact(run_id, artifact, actor)
        return artifact

    def log_bytes(self, run_id: str, data: bytes, name: str, actor: str | None = None) -> Artifact:
        where = artifact_path(name)
        with self.db.read() as conn:
            run_rows.require(conn, run_id)
        info = self.objects.put_bytes(data)
        artifact = Artifact(where, info.digest, info.size)
        self.add_artifact(run_id, artifact, actor)
        return artifact

    def artifacts(self, run_id: str) -> list[Artifact]:
        with self.db.read() as conn:
            run_rows.require(conn, run_id)
            return artifact_rows.list_for(conn, run_id)

    def artifact(self, run_id: str, path: str) -> tuple[Artifact, str | None]:
        """The artifact holding ``path``, and the path inside it when it is a directory."""
        return find_artifact(self.artifacts(run_id), run_id, path)

    def download_artifact(self, run_id: str, path: str, dest: Path) -> Path:
        """Copy an artifact (file or directory) to ``dest``, verifying every digest."""
        return fetch_artifact(self.objects, *self.artifact(run_id, path), run_id, dest)

    # internals -----------------------------------------------------------------------------

    def _insert_metrics(
        self,
        conn: Connection,
        batch: Sequence[MetricRow],
        actor: str | None,
        writable: frozenset[str] | set[str] = frozenset(),
    ) -> None:
        """Insert ``batch``, checked and audited per run it writes to (one record each);
        ``writable``: runs this transaction has already checked ``actor`` may write to."""
        if not batch:
            return
        keys: dict[str, set[str]] = {}
        counts: dict[str, int] = {}
        for row in batch:
            keys.setdefault(row[0], set()).add(row[1])
            counts[row[0]] = counts.get(row[0], 0) + 1
        for run_id in keys.keys() - writable:
            self._writable(conn, run_id, actor)
        run_rows.insert_metrics(conn, batch)
        now = self.clock()
        for run_id, names in keys.items():
            self._audit(conn, actor, "run.metrics", run_id, _keys_of(names, counts[run_id]), now)

    def add_artifact(self, run_id: str, artifact: Artifact, actor: str | None = None) -> None:
        """Record stored bytes (or a stored manifest) as an artifact of ``run_id``.

        A path is write-once: recording the same object there again changes nothing (a
        retry); another object is a Conflict, and the path keeps its first bytes."""
        with self.db.write() as conn:
            self._writable(conn, run_id, actor)
            now = self.clock()
            held = artifact_rows.put(conn, run_id, artifact, now)
            if held is not None:
                if (held.digest, held.size, held.is_dir) == (
                    artifact.digest,
                    artifact.size,
                    artifact.is_dir,
                ):
                    return
                raise Conflict(
                    f"run {run_id} already has an artifact at {artifact.path!r} (digest "
                    f"{held.digest[:12]}…); artifact paths are write-once: log it under "
                    "another name"
                )
            change = {"path": artifact.path, "digest": artifact.digest, "size": artifact.size}
            self._audit(conn, actor, "artifact.log", run_id, change, now)

    def _writable(self, conn: Connection, run_id: str, actor: str | None) -> RunStatus:
        """The status of ``run_id`` once the guard lets ``actor`` write to it (NotFound when
        there is no such run)."""
        if self.guard is None:
            return run_rows.require(conn, _run_id(run_id))
        status, owner = run_rows.require_owned(conn, _run_id(run_id))
        self.guard(conn, actor or self.actor, owner)
        return status

    def _audit(
        self,
        conn: Connection,
        actor: str | None,
        action: str,
        run_id: str,
        after: dict[str, Any],
        at: int | None = None,
    ) -> None:
        audit.append(
            conn,
            actor=actor or self.actor,
            action=action,
            subject=f"runs:/{run_id}",
            at=self.clock() if at is None else at,
            after=after,
        )

    def _experiment_id(self, conn: Connection, name: str) -> int:
        """Experiments are never deleted, so a name's id is remembered for the process (by the
        caller, after its transaction commits)."""
        known = self._experiment_ids.get(name)
        if known is None:
            check.check_name(name, "experiment name")
            known = int(experiment_rows.get_or_create(conn, name, self.clock()).id)
        return known

    def _store_document(self, data: bytes) -> str:
        digest = self._stored_documents.get(data)
        if digest is None:
            digest = self.objects.put_bytes(data).digest
            if len(self._stored_documents) < 64:
                self._stored_documents[data] = digest
        return digest


def _keys_of(keys: Iterable[str], count: int | None = None) -> dict[str, Any]:
    """What the audit record of a params, tags or metrics write says: how many values, and
    their keys (the first :data:`AUDITED_KEYS`, sorted)."""
    names = sorted(keys)
    out: dict[str, Any] = {"count": len(names) if count is None else count}
    out["keys"] = names[:AUDITED_KEYS]
    if len(names) > AUDITED_KEYS:
        out["more_keys"] = len(names) - AUDITED_KEYS
    return out


def find_artifact(
    artifacts: Sequence[Artifact], run_id: str, path: str
) -> tuple[Artifact, str | None]:
    """Of a run's ``artifacts``, the one holding ``path``, and the path inside it when it is a
    directory."""
    wanted = PurePosixPath(path.strip("/"))
    for artifact in artifacts:
        stored = PurePosixPath(artifact.path)
        if wanted == stored:
            return artifact, None
        if artifact.is_dir and stored in wanted.parents:
            return artifact, wanted.relative_to(stored).as_posix()
    raise NotFound(
        f"run {run_id} has no artifact {path!r}; `modeldeck artifacts list {run_id}` lists them"
    )


def fetch_artifact(
    objects: ObjectStore, artifact: Artifact, inner: str | None, run_id: str, dest: Path
) -> Path:
    """Copy ``artifact`` (or the file ``inner`` of a directory artifact) to ``dest``."""
    if not artifact.is_dir:
        return objects.get_file(artifact.digest, dest)
    if inner is None:
        return objects.get_dir(artifact.digest, dest)
    entry = objects.read_manifest(artifact.digest).entries.get(inner)
    if entry is None:
        raise NotFound(f"artifact {artifact.path!r} of run {run_id} has no file {inner!r}")
    return objects.get_file(entry.digest, dest)


def describe_dataset(
    objects: ObjectStore,
    data: pd.DataFrame | str | os.PathLike[str],
    *,
    name: str | None,
    store: bool = True,
    source: str | None = None,
) -> dict[str, Any]:
    """Digest, schema and profile of a frame or a file, storing its bytes when ``store``: the
    half of logging a dataset that needs no database (remote clients run it on their side)."""
    from modeldeck.tracking import datasets as describe

    object_digest = None
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if not path.is_file():
            raise InvalidInput(f"dataset path {path} is not a file")
        if store:
            info = objects.put_file(path)
            object_digest, digest = info.digest, info.digest
        else:
            from modeldeck.core.hashing import sha256_file

            digest = sha256_file(path)[0]
        desc = describe.describe_file(path, digest)
        default_name = path.stem
    else:
        desc = describe.describe_frame(data, source)
        default_name = "dataset"
        if store:
            with tempfile.TemporaryDirectory(prefix="modeldeck-") as tmp:
                target = Path(tmp) / "data.parquet"
                data.to_parquet(target, index=False)
                object_digest = objects.put_file(target).digest
    return {
        "name": check.check_name(name or default_name, "dataset name"),
        "digest": desc.digest,
        "source": source or desc.source,
        "num_rows": desc.num_rows,
        "schema": desc.schema,
        "profile": desc.profile,
        "object_digest": object_digest,
    }


def text_map(values: Mapping[str, Any], what: str, max_length: int) -> dict[str, str]:
    if not isinstance(values, Mapping):
        raise InvalidInput(
            f"{what}s must be a mapping of key to value, got {type(values).__name__}"
        )
    return {
        check.check_key(k, f"{what} key"): check.stringify(v, f"{what} {k!r}", max_length)
        for k, v in values.items()
    }


def check_run_id(run_id: str) -> str:
    if not _RUN_ID.fullmatch(run_id):
        raise InvalidInput(f"a new run's id is 32 lowercase hex characters, got {run_id!r}")
    return run_id


_RUN_ID = re.compile(r"[0-9a-f]{32}")


def _run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not run_id:
        raise InvalidInput(f"a run id must be a non-empty string, got {run_id!r}")
    return run_id


def artifact_path(name: str) -> str:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InvalidInput(f"artifact name {name!r} must be a relative path without '..'")
    return path.as_posix()


_ADJECTIVES = [
    "amber",
    "bold",
    "brisk",
    "calm",
    "clever",
    "eager",
    "fair",
    "gentle",
    "keen",
    "lucid",
    "merry",
    "nimble",
    "proud",
    "quiet",
    "swift",
    "vivid",
]
_NOUNS = [
    "badger",
    "crane",
    "dolphin",
    "falcon",
    "gecko",
    "heron",
    "ibis",
    "lynx",
    "marten",
    "otter",
    "panda",
    "quail",
    "raven",
    "seal",
    "tapir",
    "wren",
]


def _friendly_name() -> str:
    rng = random.Random()
    return f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{rng.randint(100, 999)}"
