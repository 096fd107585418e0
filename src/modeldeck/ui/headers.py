"""Headers every UI response carries: a Content-Security-Policy that runs only this site's
scripts (inline ones only with the page's nonce), no framing (clickjacking), no MIME sniffing,
and no referrer sent to other sites.

Pages rendered by :func:`modeldeck.ui.router.render` set a policy with their own nonce; any
other UI response (redirects, static files, JSON) gets :func:`policy` without one.
"""

from __future__ import annotations

import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UI_PREFIXES = ("/ui/", "/ui")
FIXED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
CSP = "content-security-policy"


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def policy(nonce: str | None = None) -> str:
    scripts = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def page_headers(nonce: str) -> dict[str, str]:
    return {CSP: policy(nonce), **FIXED}


class UIHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/" or path.startswith(UI_PREFIXES)):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                wanted = {CSP: policy(), **FIXED}
                for name, value in wanted.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
