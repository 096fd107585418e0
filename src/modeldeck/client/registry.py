"""The registry half of the local client: versions, reviews, promotion, lineage, audit, roles."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeck.core.errors import InvalidInput
from modeldeck.core.governance import Approval, AuditRecord, ChainCheck, Role, TokenScope
from modeldeck.core.refs import AliasRef, ModelSource, VersionRef, parse_model_uri
from modeldeck.core.registry import AliasEvent, Evaluation, ModelVersion, RegisteredModel

if TYPE_CHECKING:
    import pandas as pd

    from modeldeck.core.settings import Settings
    from modeldeck.governance.cards import ModelCard
    from modeldeck.governance.tokens import IssuedToken, TokenInfo
    from modeldeck.models.predictor import Predictor
    from modeldeck.registry.export import Bundle
    from modeldeck.registry.lineage import DatasetUse, Lineage
    from modeldeck.registry.reviews import Reviews
    from modeldeck.registry.service import Registry
    from modeldeck.tracking.port import TrackingPort
    from modeldeck.tracking.tracker import Tracker
    from modeldeck.validation.policy import Policy


class RegistryMethods:
    """Mixed into LocalClient, which provides ``settings``, ``tracker`` and ``store`` (the
    tracking service over the stores, whose database the registry shares)."""

    settings: Settings

    if TYPE_CHECKING:

        @property
        def tracker(self) -> TrackingPort: ...

        @property
        def store(self) -> Tracker: ...

        def flush(self) -> None: ...

        def load_model(self, uri: str, *, allow_pickle: bool = False) -> Predictor: ...

    @cached_property
    def registry(self) -> Registry:
        from modeldeck.registry.service import Registry

        return Registry(self.store.db, self.store.objects, self.store.clock)

    @cached_property
    def reviews(self) -> Reviews:
        from modeldeck.registry.reviews import Reviews

        return Reviews(self.store.db, self.store.objects, self.store.clock)

    # versions ---------------------------------------------------------------------------------

    def register_model(
        self,
        source: str,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        replaces: int | None = None,
    ) -> ModelVersion:
        """Register the model package at ``runs:/<run id>/<path>`` as a new version of ``name``."""
        from modeldeck.registry.service import package_from_run

        return self.registry.register(
            name,
            package_from_run(self.tracker, source),
            self.settings.user,
            description=description,
            tags=tags,
            replaces=replaces,
        )

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self.registry.version(name, version)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.registry.model(name)

    def search_models(self, name_like: str | None = None) -> list[RegisteredModel]:
        return self.registry.models(name_like)

    def model_versions(self, name: str) -> list[ModelVersion]:
        return self.registry.versions(name)

    def resolve_model_version(self, uri: str) -> ModelVersion:
        ref = parse_model_uri(uri)
        if isinstance(ref, VersionRef):
            return self.registry.version(ref.name, ref.version)
        if isinstance(ref, AliasRef):
            return self.registry.by_alias(ref.name, ref.alias)
        raise InvalidInput(
            f"{uri} is not a registry reference (models:/name/3, models:/name@alias)"
        )

    def resolve_model_uri(self, uri: str) -> ModelSource:
        version = self.resolve_model_version(uri)
        return ModelSource(version.run_id, version.artifact_path, version.package_digest)

    def export_model(self, uri: str, out: str | os.PathLike[str], *, force: bool = False) -> Bundle:
        """Write a deployment bundle of a registered version (``churn@champion``, ``churn/3``
        or ``models:/…``) into the folder ``out``: package, requirements, Dockerfile."""
        from modeldeck.registry.export import export_bundle, registry_uri

        version = self.resolve_model_version(registry_uri(uri))
        return export_bundle(
            version,
            self.store.objects,
            out,
            exported_by=self.settings.user,
            now_ms=self.store.clock(),
            force=force,
        )

    def set_model_description(self, name: str, version: int, text: str) -> None:
        self.registry.set_description(name, version, text, self.settings.user)

    def set_model_version_tags(self, name: str, version: int, tags: Mapping[str, Any]) -> None:
        self.registry.set_tags(name, version, tags, self.settings.user)

    def set_protected_aliases(self, name: str, aliases: list[str]) -> None:
        self.registry.set_protected_aliases(name, aliases, self.settings.user)

    # reviews and aliases -----------------------------------------------------------------------

    def record_evaluation(self, name: str, version: int, **evidence: Any) -> Evaluation:
        return self.reviews.record_evaluation(name, version, actor=self.settings.user, **evidence)

    def evaluate_model(
        self,
        name: str,
        version: int,
        data: pd.DataFrame | str | os.PathLike[str],
        *,
        policy: Policy | str | os.PathLike[str] | None = None,
    ) -> Evaluation:
        """Run the validation gates of ``name`` on ``version`` and store the evidence.

        ``data`` holds the features and the policy's label (a DataFrame, or a parquet/CSV
        file); ``policy`` is a Policy, a policy file, or None to find modeldeck.toml/.yaml from
        the working folder up. The current champion, when there is one, is the baseline.
        """
        from modeldeck.models.signature import compatibility
        from modeldeck.validation.evaluate import evaluate
        from modeldeck.validation.plots import plots
        from modeldeck.validation.policy import Policy, load_policy

        chosen = policy if isinstance(policy, Policy) else load_policy(Path(policy or "."), name)
        frame = read_frame(data)
        candidate = self.load_model(f"models:/{name}/{version}")
        champion_version = self.get_registered_model(name).aliases.get("champion")
        champion = None
        if champion_version is not None and champion_version != int(version):
            champion = self.load_model(f"models:/{name}/{champion_version}")
        else:
            champion_version = None
        result = evaluate(
            candidate,
            frame,
            chosen,
            champion=champion,
            signature_compatibility=compatibility,
            name=f"{name} version {version}",
        )
        return self.record_evaluation(
            name,
            int(version),
            result=result.to_dict(),
            policy=chosen.to_dict(),
            passed=result.passed,
            plots=plots(candidate, frame, chosen),
            dataset_digest=result.dataset_digest,
            champion_version=champion_version,
        )

    def evaluations(self, name: str, version: int) -> list[Evaluation]:
        return self.reviews.evaluations(name, version)

    def approve(
        self, name: str, version: int, comment: str | None = None, evaluation: str | None = None
    ) -> Approval:
        """Approve ``version`` on the evaluation ``evaluation`` (default: its latest)."""
        return self.reviews.approve(name, version, self.settings.user, comment, evaluation)

    def reject(
        self, name: str, version: int, comment: str | None = None, evaluation: str | None = None
    ) -> Approval:
        return self.reviews.reject(name, version, self.settings.user, comment, evaluation)

    def decisions(self, name: str, version: int) -> list[Approval]:
        return self.reviews.decisions(name, version)

    def promotion_blockers(self, name: str, version: int) -> list[str]:
        return self.reviews.blockers(name, version)

    def promote(self, name: str, version: int, alias: str = "champion") -> AliasEvent | None:
        """Point ``alias`` at ``version``; a protected alias needs passed gates and approval."""
        return self.reviews.move_alias(name, version, alias, self.settings.user)

    def remove_alias(self, name: str, alias: str) -> None:
        self.reviews.remove_alias(name, alias, self.settings.user)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        return self.registry.alias_history(name, alias)

    def version_at(self, name: str, alias: str, when: dt.datetime | str | int) -> int | None:
        """Which version ``alias`` pointed at, at ``when`` (datetime, ISO text or epoch ms)."""
        return self.registry.alias_at(name, alias, to_millis(when))

    # lineage, audit, roles ----------------------------------------------------------------------

    def lineage(self, name: str, version: int) -> Lineage:
        from modeldeck.registry.lineage import lineage

        return lineage(self.store.db, name, version)

    def trained_on(self, dataset: str) -> list[DatasetUse]:
        from modeldeck.registry.lineage import trained_on

        return trained_on(self.store.db, dataset)

    def audit_log(
        self,
        subject: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        from modeldeck.governance import auditing

        return auditing.log(self.store.db, subject=subject, actor=actor, action=action, limit=limit)

    def verify_audit(self) -> ChainCheck:
        from modeldeck.governance import auditing

        return auditing.verify(self.store.db)

    def grant(self, user: str, role: Role | str, project: str = "default") -> None:
        from modeldeck.governance import access

        chosen = role if isinstance(role, Role) else Role.parse(role)
        access.grant(self.store.db, self.store.clock, project, user, chosen, self.settings.user)

    def revoke(self, user: str, project: str = "default") -> None:
        from modeldeck.governance import access

        access.revoke(self.store.db, self.store.clock, project, user, self.settings.user)

    def roles(self, project: str = "default") -> dict[str, Role]:
        from modeldeck.storage.metadata import roles as role_rows

        with self.store.db.read() as conn:
            return role_rows.grants(conn, project)

    # users and API tokens (for a shared store) --------------------------------------------------

    def add_user(self, name: str) -> None:
        from modeldeck.governance import tokens

        tokens.add_user(self.store.db, self.store.clock, name, self.settings.user)

    def set_user_disabled(self, name: str, disabled: bool = True) -> None:
        from modeldeck.governance import tokens

        tokens.set_disabled(self.store.db, self.store.clock, name, self.settings.user, disabled)

    def list_users(self) -> list[Any]:
        from modeldeck.storage.metadata import tokens as token_rows

        with self.store.db.read() as conn:
            return token_rows.list_users(conn)

    def create_token(
        self,
        user: str | None = None,
        *,
        expires_in_days: float | None = 90,
        description: str | None = None,
        scope: TokenScope | None = None,
    ) -> IssuedToken:
        """A new API token (for yourself, or for anyone as an admin); its secret is shown once.
        A ``scope`` limits it to some runs and models, and it must then expire within a day."""
        from modeldeck.governance import tokens

        return tokens.create_token(
            self.store.db,
            self.store.clock,
            user or self.settings.user,
            self.settings.user,
            expires_in_days=expires_in_days,
            description=description,
            scope=scope,
        )

    def server_config(self) -> dict[str, list[str]]:
        """The allowlists an admin sets (``webhook_hosts``, ``python_loaders``)."""
        from modeldeck.governance import config

        return config.get_all(self.store.db)

    def set_server_config(self, key: str, values: Sequence[str]) -> list[str]:
        """Replace the entries of one server setting (admins only; audited)."""
        from modeldeck.governance import config

        return config.set_values(
            self.store.db, self.store.clock, key, list(values), self.settings.user
        )

    def revoke_token(self, token_id: str) -> None:
        from modeldeck.governance import tokens

        tokens.revoke_token(self.store.db, self.store.clock, token_id, self.settings.user)

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        from modeldeck.governance import tokens

        return tokens.list_tokens(self.store.db, user)

    def authenticate(self, token: str | None) -> str:
        from modeldeck.governance import tokens

        return tokens.authenticate(self.store.db, self.store.clock, token)

    # model cards ------------------------------------------------------------------------------

    def model_card(self, name: str, version: int) -> ModelCard:
        """The card of a version: sections generated from its records, and those people wrote."""
        from modeldeck.governance import cards

        self.flush()  # metrics still queued for the writer belong on the card
        return cards.generate(self.store.db, name, version)

    def edit_model_card(self, name: str, version: int, sections: Mapping[str, str]) -> ModelCard:
        """Write the human sections (intended_use, factors, ethical_considerations,
        caveats_and_recommendations); an empty text restores the placeholder. Sends the card
        back to draft."""
        from modeldeck.governance import cards

        self.flush()
        return cards.edit(
            self.store.db, self.store.clock, name, version, sections, self.settings.user
        )

    def set_model_card_status(self, name: str, version: int, status: str) -> ModelCard:
        """draft → in_review → approved (by a reviewer who is not the version's author), or
        back to draft."""
        from modeldeck.governance import cards

        self.flush()
        return cards.set_status(
            self.store.db, self.store.clock, name, version, status, self.settings.user
        )

    def render_model_card(self, name: str, version: int, format: str = "markdown") -> str:
        """The card as Markdown or as a self-contained HTML page."""
        from modeldeck.governance import cards

        kind = format.lower()
        if kind not in ("markdown", "md", "html"):
            raise InvalidInput(f"unknown model card format {format!r}; use markdown or html")
        card = self.model_card(name, version)
        return cards.render_html(card) if kind == "html" else cards.render_markdown(card)


def read_frame(data: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """A DataFrame as given, or read from a parquet or CSV file."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    path = Path(data)
    if not path.is_file():
        raise InvalidInput(f"evaluation data {path} is not a file")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if path.suffix.lower() in (".csv", ".tsv"):
        return pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    raise InvalidInput(f"evaluation data {path}: use a .parquet or .csv file")


def to_millis(when: dt.datetime | str | int) -> int:
    if isinstance(when, int):
        return when
    if isinstance(when, str):
        try:
            when = dt.datetime.fromisoformat(when)
        except ValueError:
            raise InvalidInput(
                f"cannot read the time {when!r}: use ISO 8601, e.g. 2026-03-01T14:00"
            ) from None
    if when.tzinfo is None:
        when = when.astimezone()  # a naive time is local time, as people write it
    return int(when.timestamp() * 1000)
