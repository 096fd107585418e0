"""The team that attacks on a real team server use: users whose roles the attacks cross.

    root     admin (the operator)
    alice    contributor, owns what the attacks aim at
    mallory  contributor, the attacker
    rita     reviewer
    victor   viewer

An attack test does what the role boundary forbids over plain HTTP, then asserts three
things: the answer is a refusal (4xx), nothing changed (read back as the owner or admin), and
the refusal is in the audit log (:meth:`Team.denials_since`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from server_support import Server

ROLES = {"alice": "contributor", "mallory": "contributor", "rita": "reviewer", "victor": None}


@dataclass
class Team:
    backend: str
    server: Server
    tokens: dict[str, str]
    _clients: dict[str, httpx.Client] = field(default_factory=dict)

    def http(self, who: str) -> httpx.Client:
        """A keep-alive client acting as ``who`` (root, alice, mallory, rita, victor)."""
        if who not in self._clients:
            self._clients[who] = self.server.client(self.tokens[who])
        return self._clients[who]

    def anonymous(self) -> httpx.Client:
        return self.server.client(None)

    def audit_seq(self) -> int:
        """The newest audit record's sequence number (0 for none)."""
        found = self.http("root").get("/api/v1/audit", params={"limit": 1}).json()["records"]
        return int(found[0]["seq"]) if found else 0

    def audit_since(self, seq: int, limit: int = 1000) -> list[dict[str, Any]]:
        """Audit records newer than ``seq``, oldest first."""
        found = self.http("root").get("/api/v1/audit", params={"limit": limit}).json()
        return sorted((r for r in found["records"] if r["seq"] > seq), key=lambda r: r["seq"])

    def denials_since(self, seq: int, actor: str | None = None) -> list[dict[str, Any]]:
        """The ``denied:*`` audit records newer than ``seq`` (of ``actor``, if given)."""
        return [
            r
            for r in self.audit_since(seq)
            if r["action"].startswith("denied:") and (actor is None or r["actor"] == actor)
        ]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def team_on(backend: str, server: Server) -> Team:
    tokens = {"root": server.admin_token}
    for user, role in ROLES.items():
        tokens[user] = server.token_for(user, role)
    return Team(backend, server, tokens)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
