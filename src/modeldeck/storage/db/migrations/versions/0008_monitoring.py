"""monitoring: labels, model references, monitors, windows and alerts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 08:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "labels",
        sa.Column("request_id", sa.String(length=250), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("logged_at", sa.BigInteger(), nullable=False),
        sa.Column("logged_by", sa.String(length=250), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "row", name=op.f("pk_labels")),
    )
    op.create_table(
        "model_references",
        sa.Column("model", sa.String(length=250), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("dataset_name", sa.String(length=250), nullable=False),
        sa.Column("dataset_digest", sa.String(length=64), nullable=False),
        sa.Column("data_digest", sa.String(length=64), nullable=False),
        sa.Column("predictions_digest", sa.String(length=64), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("model", "version", name=op.f("pk_model_references")),
    )
    op.create_table(
        "monitors",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=250), nullable=False),
        sa.Column("deployment_id", sa.String(length=32), nullable=True),
        sa.Column("window", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.BigInteger(), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("cursor_end", sa.BigInteger(), nullable=True),
        sa.Column("cursor_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(length=250), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitors")),
        sa.UniqueConstraint("model", name=op.f("uq_monitors_model")),
    )
    op.create_table(
        "alerts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("monitor_id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=250), nullable=False),
        sa.Column("window_id", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(length=500), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("fired_at", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_alerts_monitor_id_monitors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("window_id", "rule", name=op.f("uq_alerts_window_id_rule")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_model_fired_at", ["model", "fired_at"], unique=False)

    op.create_table(
        "monitor_windows",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("monitor_id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=250), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("window_end", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("labeled", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_monitor_windows_monitor_id_monitors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_windows")),
        sa.UniqueConstraint(
            "monitor_id",
            "source",
            "window_start",
            name=op.f("uq_monitor_windows_monitor_id_source_window_start"),
        ),
    )
    with op.batch_alter_table("monitor_windows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_monitor_windows_model_window_end", ["model", "window_end"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("monitor_windows", schema=None) as batch_op:
        batch_op.drop_index("ix_monitor_windows_model_window_end")

    op.drop_table("monitor_windows")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_model_fired_at")

    op.drop_table("alerts")
    op.drop_table("monitors")
    op.drop_table("model_references")
    op.drop_table("labels")
