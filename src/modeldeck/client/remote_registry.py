"""The registry half of the remote client: the same methods as the local one, over ``/api/v1``.

Each method sends one request and rebuilds the entities the local client returns from the
schemas of :mod:`modeldeck.wire.registry`. The acting user is the token's owner, and the
server's services check roles exactly as they do on the embedded store; errors arrive as the
same :class:`~modeldeck.core.errors.ModeldeckError` subclasses. ``evaluate_model`` is the local
one unchanged: the model is loaded and scored here, and only the evidence is sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from modeldeck.client.http import segment
from modeldeck.client.registry import RegistryMethods, to_millis
from modeldeck.core import validation as check
from modeldeck.core.errors import InvalidInput
from modeldeck.core.governance import Approval, AuditRecord, ChainCheck, Role, TokenScope
from modeldeck.core.refs import AliasRef, VersionRef, parse_model_uri
from modeldeck.core.registry import AliasEvent, Evaluation, ModelVersion, RegisteredModel
from modeldeck.registry.names import check_version
from modeldeck.tracking.tracker import text_map
from modeldeck.wire import governance as gov
from modeldeck.wire import registry as wire

if TYPE_CHECKING:
    from modeldeck.client.http import Http
    from modeldeck.governance.cards import ModelCard
    from modeldeck.governance.tokens import IssuedToken, TokenInfo
    from modeldeck.registry.lineage import DatasetUse, Lineage
    from modeldeck.registry.reviews import Reviews
    from modeldeck.registry.service import Registry

API = "/api/v1"
EVIDENCE = frozenset({"result", "policy", "passed", "plots", "dataset_digest", "champion_version"})


class RemoteRegistryMethods(RegistryMethods):
    """Mixed into RemoteClient, which provides ``http`` (an :class:`~modeldeck.client.http.Http`
    to the server) and ``settings``."""

    if TYPE_CHECKING:

        @property
        def http(self) -> Http: ...

    @property
    def registry(self) -> Registry:
        raise InvalidInput(
            "a remote client has no registry service of its own: the server runs it. Use the "
            "client's methods (register_model, promote, ...), which call the server."
        )

    @property
    def reviews(self) -> Reviews:
        raise InvalidInput(
            "a remote client has no review service of its own: the server runs it. Use the "
            "client's methods (approve, promote, ...), which call the server."
        )

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
        body = {
            "source": source,
            "description": description,
            "tags": _tags(tags or {}),
            "replaces": None if replaces is None else check_version(replaces),
        }
        return _version(self.http.post(f"{_model(name)}/versions", body))

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return _version(self.http.get(_version_path(name, version)))

    def get_registered_model(self, name: str) -> RegisteredModel:
        return wire.RegisteredModelOut.model_validate(self.http.get(_model(name))).to_entity()

    def search_models(self, name_like: str | None = None) -> list[RegisteredModel]:
        params = {} if name_like is None else {"name_like": name_like}
        found = wire.ModelList.model_validate(self.http.get(f"{API}/models", params))
        return [m.to_entity() for m in found.models]

    def model_versions(self, name: str) -> list[ModelVersion]:
        found = wire.VersionList.model_validate(self.http.get(f"{_model(name)}/versions"))
        return [v.to_entity() for v in found.versions]

    def resolve_model_version(self, uri: str) -> ModelVersion:
        ref = parse_model_uri(uri)
        if isinstance(ref, VersionRef):
            return self.get_model_version(ref.name, ref.version)
        if isinstance(ref, AliasRef):
            return _version(self.http.get(f"{_model(ref.name)}/aliases/{segment(ref.alias)}"))
        raise InvalidInput(
            f"{uri} is not a registry reference (models:/name/3, models:/name@alias)"
        )

    def set_model_description(self, name: str, version: int, text: str) -> None:
        self.http.put(f"{_version_path(name, version)}/description", {"text": text})

    def set_model_version_tags(self, name: str, version: int, tags: Mapping[str, Any]) -> None:
        self.http.post(f"{_version_path(name, version)}/tags", {"tags": _tags(tags)})

    def set_protected_aliases(self, name: str, aliases: list[str]) -> None:
        self.http.put(f"{_model(name)}/protected-aliases", {"aliases": list(aliases)})

    # reviews and aliases -----------------------------------------------------------------------

    def record_evaluation(self, name: str, version: int, **evidence: Any) -> Evaluation:
        unknown = set(evidence) - EVIDENCE
        missing = {"result", "policy", "passed", "plots"} - set(evidence)
        if unknown or missing:
            raise TypeError(
                f"record_evaluation() takes the evidence {sorted(EVIDENCE)}: unexpected "
                f"{sorted(unknown)}, missing {sorted(missing)}"
            )
        body = {
            **evidence,
            "result": dict(evidence["result"]),
            "policy": dict(evidence["policy"]),
            "plots": wire.EvaluationIn.encode_plots(evidence["plots"]),
        }
        found = self.http.post(f"{_version_path(name, version)}/evaluations", body)
        return wire.EvaluationOut.model_validate(found).to_entity()

    def evaluations(self, name: str, version: int) -> list[Evaluation]:
        found = self.http.get(f"{_version_path(name, version)}/evaluations")
        return [e.to_entity() for e in wire.EvaluationList.model_validate(found).evaluations]

    def approve(
        self, name: str, version: int, comment: str | None = None, evaluation: str | None = None
    ) -> Approval:
        """Approve ``version`` on the evaluation ``evaluation`` (default: its latest)."""
        return self._decide(name, version, "approve", comment, evaluation)

    def reject(
        self, name: str, version: int, comment: str | None = None, evaluation: str | None = None
    ) -> Approval:
        return self._decide(name, version, "reject", comment, evaluation)

    def _decide(
        self, name: str, version: int, verb: str, comment: str | None, evaluation: str | None
    ) -> Approval:
        body: dict[str, Any] = {"comment": comment}
        if evaluation is not None:
            body["evaluation"] = evaluation
        found = self.http.post(f"{_version_path(name, version)}/{verb}", body)
        return wire.ApprovalOut.model_validate(found).to_entity()

    def decisions(self, name: str, version: int) -> list[Approval]:
        found = self.http.get(f"{_version_path(name, version)}/decisions")
        return [d.to_entity() for d in wire.DecisionList.model_validate(found).decisions]

    def promotion_blockers(self, name: str, version: int) -> list[str]:
        found = self.http.get(f"{_version_path(name, version)}/blockers")
        return list(wire.Blockers.model_validate(found).blockers)

    def promote(self, name: str, version: int, alias: str = "champion") -> AliasEvent | None:
        """Point ``alias`` at ``version``; a protected alias needs passed gates and approval."""
        found = self.http.put(
            f"{_model(name)}/aliases/{segment(alias)}", {"version": check_version(version)}
        )
        event = wire.AliasMoveOut.model_validate(found).event
        return None if event is None else event.to_entity()

    def remove_alias(self, name: str, alias: str) -> None:
        self.http.delete(f"{_model(name)}/aliases/{segment(alias)}")

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        params = {} if alias is None else {"alias": alias}
        found = self.http.get(f"{_model(name)}/alias-history", params)
        return [e.to_entity() for e in wire.AliasHistory.model_validate(found).events]

    def version_at(self, name: str, alias: str, when: dt.datetime | str | int) -> int | None:
        """Which version ``alias`` pointed at, at ``when`` (datetime, ISO text or epoch ms)."""
        path = f"{_model(name)}/aliases/{segment(alias)}/version-at"
        found = self.http.get(path, {"at": to_millis(when)})
        return wire.VersionAt.model_validate(found).version

    # lineage, audit, roles ----------------------------------------------------------------------

    def lineage(self, name: str, version: int) -> Lineage:
        from modeldeck.registry.lineage import Lineage

        found = self.http.get(f"{_version_path(name, version)}/lineage")
        return Lineage(**wire.LineageOut.model_validate(found).to_fields())

    def trained_on(self, dataset: str) -> list[DatasetUse]:
        from modeldeck.registry.lineage import DatasetUse

        found = wire.DatasetUseList.model_validate(
            self.http.get(f"{API}/trained-on", {"dataset": dataset})
        )
        return [DatasetUse(**use.to_fields()) for use in found.uses]

    def audit_log(
        self,
        subject: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """Newest first. Admins read every record, others the records about models; ``limit``
        is at most 10,000 a request."""
        wanted = {"subject": subject, "actor": actor, "action": action, "limit": limit}
        params = {k: v for k, v in wanted.items() if v is not None}
        found = gov.AuditLog.model_validate(self.http.get(f"{API}/audit", params))
        return [r.to_entity() for r in found.records]

    def verify_audit(self) -> ChainCheck:
        found = self.http.get(f"{API}/audit/verify")
        return gov.ChainCheckOut.model_validate(found).to_entity()

    def grant(self, user: str, role: Role | str, project: str = "default") -> None:
        chosen = role if isinstance(role, Role) else Role.parse(role)
        self.http.put(f"{_roles(project)}/{segment(user)}", {"role": chosen.value})

    def revoke(self, user: str, project: str = "default") -> None:
        self.http.delete(f"{_roles(project)}/{segment(user)}")

    def roles(self, project: str = "default") -> dict[str, Role]:
        return dict(gov.Grants.model_validate(self.http.get(_roles(project))).roles)

    # users and API tokens ---------------------------------------------------------------------

    def add_user(self, name: str) -> None:
        self.http.post(f"{API}/users", {"name": name})

    def set_user_disabled(self, name: str, disabled: bool = True) -> None:
        self.http.put(f"{API}/users/{segment(name)}/disabled", {"disabled": disabled})

    def list_users(self) -> list[Any]:
        """Every user (admins only): objects with the users table's fields, as locally."""
        return list(gov.UserList.model_validate(self.http.get(f"{API}/users")).users)

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
        from modeldeck.governance.tokens import IssuedToken, TokenInfo

        body: dict[str, Any] = {
            "user": user,
            "expires_in_days": expires_in_days,
            "description": description,
        }
        if scope is not None:
            body["scope"] = scope.to_dict()
        found = gov.IssuedTokenOut.model_validate(self.http.post(f"{API}/tokens", body))
        return IssuedToken(TokenInfo(**found.info.to_fields()), found.token)

    def server_config(self) -> dict[str, list[str]]:
        """The allowlists an admin sets (``webhook_hosts``, ``python_loaders``)."""
        return dict(gov.ConfigOut.model_validate(self.http.get(f"{API}/config")).settings)

    def set_server_config(self, key: str, values: Sequence[str]) -> list[str]:
        """Replace the entries of one server setting (admins only; audited)."""
        path = f"{API}/config/{segment(key.replace('-', '_'))}"
        found = gov.ConfigOut.model_validate(self.http.put(path, {"values": list(values)}))
        return list(found.settings.get(key.replace("-", "_"), []))

    def revoke_token(self, token_id: str) -> None:
        self.http.delete(f"{API}/tokens/{segment(token_id)}")

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        """Tokens, never their secrets: without ``user`` an admin gets everyone's, anyone else
        their own."""
        from modeldeck.governance.tokens import TokenInfo

        params = {} if user is None else {"user": user}
        found = gov.TokenList.model_validate(self.http.get(f"{API}/tokens", params))
        return [TokenInfo(**t.to_fields()) for t in found.tokens]

    def authenticate(self, token: str | None) -> str:
        """The user ``token`` belongs to, as the server sees it (Unauthenticated otherwise)."""
        from modeldeck.client.http import Http

        other = Http(self.http.base_url, token or None, retries=self.http.retries)
        try:
            return str(gov.WhoAmI.model_validate(other.get(f"{API}/whoami")).user)
        finally:
            other.close()

    # model cards ------------------------------------------------------------------------------

    def model_card(self, name: str, version: int) -> ModelCard:
        """The card of a version: sections generated from its records, and those people wrote."""
        self.flush()  # metrics still queued for the server belong on the card
        return _card(self.http.get(f"{_version_path(name, version)}/card"))

    def edit_model_card(self, name: str, version: int, sections: Mapping[str, str]) -> ModelCard:
        """Write the human sections (intended_use, factors, ethical_considerations,
        caveats_and_recommendations); an empty text restores the placeholder. Sends the card
        back to draft."""
        if not isinstance(sections, Mapping) or not sections:
            raise InvalidInput("give the sections to edit as a mapping of section key to Markdown")
        self.flush()
        path = f"{_version_path(name, version)}/card/sections"
        return _card(self.http.put(path, {"sections": dict(sections)}))

    def set_model_card_status(self, name: str, version: int, status: str) -> ModelCard:
        """draft → in_review → approved (by a reviewer who is not the version's author), or
        back to draft."""
        self.flush()
        path = f"{_version_path(name, version)}/card/status"
        return _card(self.http.put(path, {"status": str(status)}))

    def render_model_card(self, name: str, version: int, format: str = "markdown") -> str:
        """The card as Markdown or as a self-contained HTML page."""
        kind = format.lower()
        if kind not in ("markdown", "md", "html"):
            raise InvalidInput(f"unknown model card format {format!r}; use markdown or html")
        self.flush()
        path = f"{_version_path(name, version)}/card/render"
        return gov.CardText.model_validate(self.http.get(path, {"format": kind})).text


def _model(name: str) -> str:
    return f"{API}/models/{segment(name)}"


def _version_path(name: str, version: int | str) -> str:
    return f"{_model(name)}/versions/{check_version(version)}"


def _roles(project: str) -> str:
    return f"{API}/projects/{segment(project)}/roles"


def _tags(tags: Mapping[str, Any]) -> dict[str, str]:
    """Tags as text, converted here as the embedded store converts them."""
    return text_map(tags, "tag", check.MAX_TAG_VALUE_LENGTH)


def _version(data: Any) -> ModelVersion:
    return wire.ModelVersionOut.model_validate(data).to_entity()


def _card(data: Any) -> ModelCard:
    from modeldeck.governance.cards import ModelCard

    return ModelCard(**gov.ModelCardOut.model_validate(data).to_fields())
