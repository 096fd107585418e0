"""Alembic environment: modeldeck passes its own connection; there is no alembic.ini."""

from alembic import context

from modeldeck.storage.db.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
