"""``modeldeck db``: the metadata store's schema."""

from __future__ import annotations

import typer

from modeldeck.cli import render
from modeldeck.core.errors import StoreError

app = typer.Typer(help="Manage the metadata store's schema.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Migrate the configured store (MODELDECK_TRACKING_URI) to the latest schema."""
    from modeldeck.core.settings import Settings
    from modeldeck.storage.db.engine import Database
    from modeldeck.storage.db.migrate import HEAD, current_revision
    from modeldeck.storage.db.migrate import upgrade as migrate

    db = Database(Settings.load().tracking_uri)
    try:
        where = db.engine.url.render_as_string(hide_password=True)
        before = current_revision(db)
        if before != HEAD:
            try:
                migrate(db)
            except Exception as exc:
                if not type(exc).__module__.startswith("alembic"):
                    raise
                raise StoreError(f"cannot upgrade {where} from {before}: {exc}") from exc
        after = current_revision(db)
    finally:
        db.dispose()
    out = render.console()
    out.print(render.plain(f"Metadata store: {where}"))
    if before == after:
        out.print(render.plain(f"Schema revision {after}: already the latest.", "green"))
    else:
        out.print(render.plain(f"Schema revision {before or 'none'} → {after}", "green"))
