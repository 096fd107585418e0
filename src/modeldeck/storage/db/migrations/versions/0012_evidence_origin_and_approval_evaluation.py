"""where gate evidence came from, and the evaluation an approval was given on

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-07 13:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(length=16), nullable=False, server_default="client")
        )
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evaluation_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_column("evaluation_id")
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_column("origin")
