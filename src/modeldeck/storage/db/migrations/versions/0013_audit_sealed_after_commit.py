"""audit records are sealed into the chain after their transaction commits

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 21:00:00

``position`` is a record's place in the hash chain. Records appended before this revision were
chained in ``seq`` order under a lock, so their position is their seq.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.BigInteger(), nullable=True))
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
    op.execute("UPDATE audit_log SET position = seq")
    op.create_index("ix_audit_log_position", "audit_log", ["position"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_audit_log_position", table_name="audit_log")
    unsealed = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM audit_log WHERE position IS NULL"))
        .scalar()
    )
    if unsealed:
        raise RuntimeError(
            f"{unsealed} audit records are not sealed yet; `modeldeck audit verify` seals "
            "them; then downgrade again"
        )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("position")
