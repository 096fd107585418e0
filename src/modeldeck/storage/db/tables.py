"""The metadata tables (SQLAlchemy Core). Changes here need an Alembic revision."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# An integer primary key that is SQLite's rowid there and a BIGINT identity elsewhere.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Millis = sa.BigInteger

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(250), nullable=False, unique=True),
    sa.Column("description", sa.Text),
    sa.Column("created_at", Millis, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("experiment_id", BigId, sa.ForeignKey("experiments.id"), nullable=False, index=False),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("user", sa.String(250), nullable=False),
    sa.Column("start_time", Millis, nullable=False),
    sa.Column("end_time", Millis),
    sa.Column("parent_id", sa.String(32), sa.ForeignKey("runs.id"), index=True),
    sa.Column("source", sa.Text),
    sa.Column("entry_point", sa.Text),
    sa.Column("git_commit", sa.String(64)),
    sa.Column("git_dirty", sa.Boolean),
    sa.Column("git_diff_digest", sa.String(64)),
    sa.Column("python_version", sa.String(64)),
    sa.Column("environment_digest", sa.String(64)),
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Index("ix_runs_experiment_start", "experiment_id", "start_time"),
    sa.Index("ix_runs_status", "status"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_params_key_value", "key", "value"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# The full history. NaN is kept as a flag because SQLite turns a NaN REAL into NULL.
metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", Millis, nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("is_nan", sa.Boolean, nullable=False),
    sa.Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

# One row per (run, key): the value at the highest step (then the latest timestamp), for search.
latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("is_nan", sa.Boolean, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", Millis, nullable=False),
    sa.Index("ix_latest_metrics_key_value", "key", "value"),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("source", sa.Text),
    sa.Column("num_rows", sa.BigInteger),
    sa.Column("schema", sa.JSON, nullable=False),
    sa.Column("profile", sa.JSON, nullable=False),
    sa.Column("object_digest", sa.String(64)),
    sa.Column("created_at", Millis, nullable=False),
    sa.UniqueConstraint("name", "digest"),
    sa.Index("ix_datasets_digest", "digest"),
)

run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("dataset_id", sa.String(32), sa.ForeignKey("datasets.id"), primary_key=True),
    sa.Column("context", sa.String(64), primary_key=True),
    sa.Index("ix_run_inputs_dataset", "dataset_id"),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("path", sa.String(1000), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("is_dir", sa.Boolean, nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.Index("ix_artifacts_digest", "digest"),
)

# --- registry and governance (revision 0002) ------------------------------------------------

registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(250), nullable=False, unique=True),
    sa.Column("project", sa.String(250), nullable=False, server_default="default"),
    sa.Column("description", sa.Text),
    # aliases that move only after passed gates and an approval; changed by admins, audited
    sa.Column("protected_aliases", sa.JSON, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.Column("created_at", Millis, nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("model_id", BigId, sa.ForeignKey("registered_models.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id")),
    sa.Column("artifact_path", sa.String(1000)),
    sa.Column("package_digest", sa.String(64), nullable=False),
    sa.Column("flavor", sa.String(64)),
    sa.Column("signature", sa.JSON),
    sa.Column("description", sa.Text),
    sa.Column("replaces_version", sa.Integer),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.UniqueConstraint("model_id", "version"),
    sa.Index("ix_model_versions_run", "run_id"),
)

model_tags = sa.Table(
    "model_tags",
    metadata,
    sa.Column("model_id", BigId, sa.ForeignKey("registered_models.id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

version_tags = sa.Table(
    "version_tags",
    metadata,
    sa.Column("version_id", BigId, sa.ForeignKey("model_versions.id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("model_id", BigId, sa.ForeignKey("registered_models.id"), primary_key=True),
    sa.Column("alias", sa.String(250), primary_key=True),
    sa.Column("version_id", BigId, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("set_by", sa.String(250), nullable=False),
    sa.Column("set_at", Millis, nullable=False),
)

# Every move of an alias, kept for ever: "which version was champion at 14:00" is one query.
alias_events = sa.Table(
    "alias_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("model_id", BigId, sa.ForeignKey("registered_models.id"), nullable=False),
    sa.Column("alias", sa.String(250), nullable=False),
    sa.Column("version", sa.Integer),  # NULL: the alias was removed
    sa.Column("previous_version", sa.Integer),
    sa.Column("actor", sa.String(250), nullable=False),
    sa.Column("at", Millis, nullable=False),
    sa.Index("ix_alias_events_model_alias_at", "model_id", "alias", "at"),
)

evaluations = sa.Table(
    "evaluations",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("version_id", BigId, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("dataset_id", sa.String(32), sa.ForeignKey("datasets.id")),
    sa.Column("dataset_digest", sa.String(64)),
    sa.Column("policy", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("plots", sa.JSON, nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("champion_version", sa.Integer),
    sa.Column("actor", sa.String(250), nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    # "client": posted by whoever ran it; "server": run by the server on a stored dataset
    sa.Column("origin", sa.String(16), nullable=False, server_default="client"),
    sa.Index("ix_evaluations_version_created", "version_id", "created_at"),
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("version_id", BigId, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("reviewer", sa.String(250), nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("evaluation_id", sa.String(32)),  # the evidence the decision was given on
    sa.Index("ix_approvals_version", "version_id"),
)

role_grants = sa.Table(
    "role_grants",
    metadata,
    sa.Column("project", sa.String(250), primary_key=True),
    sa.Column("user", sa.String(250), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("granted_by", sa.String(250), nullable=False),
    sa.Column("granted_at", Millis, nullable=False),
)

# Append-only and hash-chained. before/after are stored as the exact canonical JSON text that
# was hashed, so verification never depends on how a database re-serialises JSON.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", Millis, nullable=False),
    sa.Column("actor", sa.String(250), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(1000), nullable=False),
    sa.Column("before", sa.Text),
    sa.Column("after", sa.Text),
    # the chain: order, previous record's hash and own hash; empty until the record is sealed
    # (PostgreSQL appends without a lock and seals after commit: storage/metadata/audit.py)
    sa.Column("position", sa.BigInteger, nullable=True),
    sa.Column("prev_hash", sa.String(64), nullable=True),
    sa.Column("hash", sa.String(64), nullable=True),
    sa.Index("ix_audit_log_subject", "subject"),
    sa.Index("ix_audit_log_position", "position", unique=True),
)

model_cards = sa.Table(
    "model_cards",
    metadata,
    sa.Column("version_id", BigId, sa.ForeignKey("model_versions.id"), primary_key=True),
    sa.Column("sections", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("updated_by", sa.String(250), nullable=False),
    sa.Column("updated_at", Millis, nullable=False),
)

# --- identities for the team server (revision 0003) ------------------------------------------

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(250), primary_key=True),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("disabled_at", Millis),
)

# API tokens are shown once; only a sha256 of their secret part is kept. Tokens are random
# 256-bit values, so a plain hash is enough: there is nothing to brute-force.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("user", sa.String(250), sa.ForeignKey("users.name"), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("description", sa.String(250)),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("expires_at", Millis),
    sa.Column("revoked_at", Millis),
    sa.Column("last_used_at", Millis),
    # JSON {"runs": [...], "models": [...]}: what a limited token may touch (revision 0009);
    # NULL for an ordinary token, which acts with its user's roles everywhere
    sa.Column("scope", sa.Text),
    sa.Index("ix_api_tokens_user", "user"),
)

# Settings an admin changes on a running store (revision 0009): allowlists the server checks,
# such as webhook hosts on private networks and the loaders of `python`-flavor models. One JSON
# value per key; every change is audited.
server_config = sa.Table(
    "server_config",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_by", sa.String(250), nullable=False),
    sa.Column("updated_at", Millis, nullable=False),
)

# --- idempotent writes over HTTP (revision 0004) ----------------------------------------------

# A retried request carries the same Idempotency-Key: the key is claimed in the transaction of
# the write, so a batch that committed is never applied twice. ``request_digest`` tells a
# genuine retry from a key reused for a different request.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("user", sa.String(250), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("request_digest", sa.String(64), nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    # the answer a retry gets back (writes other than metric batches); NULL until it is known
    sa.Column("status", sa.Integer),
    sa.Column("response", sa.Text),
)

# --- serving and monitoring (revision 0007) ---------------------------------------------------

# One row per `modeldeck serve` process; the *_version columns move when an alias does.
deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("model", sa.String(250), nullable=False),
    sa.Column("reference", sa.String(1000), nullable=False),
    sa.Column("version", sa.Integer),
    sa.Column("started_by", sa.String(250), nullable=False),
    sa.Column("started_at", Millis, nullable=False),
    sa.Column("last_seen", Millis, nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("port", sa.Integer, nullable=False),
    sa.Column("workers", sa.Integer, nullable=False),
    sa.Column("canary_reference", sa.String(1000)),
    sa.Column("canary_version", sa.Integer),
    sa.Column("canary_share", sa.Float, nullable=False),
    sa.Column("shadow_reference", sa.String(1000)),
    sa.Column("shadow_version", sa.Integer),
    sa.Column("stopped_at", Millis),
    sa.Index("ix_deployments_model_started", "model", "started_at"),
)

# Every row a deployment predicted. (request_id, row, role) is unique so that a retried batch
# is stored once; monitoring reads windows by (model, version, time) or by deployment, and
# joins labels that arrive later by request_id. inputs/outputs are JSON text: read whole, never
# queried inside, and the same on both databases.
predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(250), nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("model", sa.String(250), nullable=False),
    sa.Column("version", sa.Integer),
    sa.Column("deployment_id", sa.String(32)),
    sa.Column("time", Millis, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("inputs", sa.Text, nullable=False),
    sa.Column("outputs", sa.Text, nullable=False),
    sa.UniqueConstraint("request_id", "row", "role"),
    sa.Index("ix_predictions_model_version_time", "model", "version", "time"),
    sa.Index("ix_predictions_deployment_time", "deployment_id", "time"),
)

# --- monitoring (revision 0008) ---------------------------------------------------------------

# Ground truth that arrives after the prediction, joined to the prediction log by
# (request_id, row). A label sent again replaces the earlier one (a correction).
labels = sa.Table(
    "labels",
    metadata,
    sa.Column("request_id", sa.String(250), primary_key=True),
    sa.Column("row", sa.Integer, primary_key=True),
    sa.Column("label", sa.Text, nullable=False),  # JSON: a number or a string
    sa.Column("logged_at", Millis, nullable=False),
    sa.Column("logged_by", sa.String(250), nullable=False),
)

# What a model version is compared against: its training data (a stored dataset), the
# model's own outputs on that data, and their profile. Captured once per version.
model_references = sa.Table(
    "model_references",
    metadata,
    sa.Column("model", sa.String(250), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("dataset_name", sa.String(250), nullable=False),
    sa.Column("dataset_digest", sa.String(64), nullable=False),
    sa.Column("data_digest", sa.String(64), nullable=False),  # object: parquet of the inputs
    sa.Column("predictions_digest", sa.String(64)),  # object: parquet of the outputs
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("profile", sa.Text, nullable=False),
    sa.Column("created_at", Millis, nullable=False),
)

# One monitor per model: its window, drift settings, alert rules, webhooks and retraining job
# (config, JSON), and how far the prediction log has been read (cursor_*).
monitors = sa.Table(
    "monitors",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("model", sa.String(250), nullable=False, unique=True),
    sa.Column("deployment_id", sa.String(32)),
    sa.Column("window", sa.String(32), nullable=False),
    sa.Column("origin", Millis, nullable=False),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("cursor_end", Millis),
    sa.Column("cursor_id", sa.BigInteger),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=False),
)

# A closed window: its flat metrics (what rules read) and the detail a report draws.
monitor_windows = sa.Table(
    "monitor_windows",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("monitor_id", sa.String(32), sa.ForeignKey("monitors.id"), nullable=False),
    sa.Column("model", sa.String(250), nullable=False),
    sa.Column("version", sa.Integer),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("window_start", Millis, nullable=False),
    sa.Column("window_end", Millis, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("labeled", sa.Integer, nullable=False),
    sa.Column("computed_at", Millis, nullable=False),
    sa.UniqueConstraint("monitor_id", "source", "window_start"),
    sa.Index("ix_monitor_windows_model_window_end", "model", "window_end"),
)

# A rule that fired on a window, once per (window, rule); detail holds webhook deliveries and
# what a retraining produced.
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("monitor_id", sa.String(32), sa.ForeignKey("monitors.id"), nullable=False),
    sa.Column("model", sa.String(250), nullable=False),
    sa.Column("window_id", sa.BigInteger, nullable=False),
    sa.Column("rule", sa.String(500), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("fired_at", Millis, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.UniqueConstraint("window_id", "rule"),
    sa.Index("ix_alerts_model_fired_at", "model", "fired_at"),
)
