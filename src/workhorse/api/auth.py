"""Bearer API keys: who is asking, and which tenant they may see.

A tenant key reads and changes only its tenant's jobs: another tenant's job is simply not found
(404), and naming another tenant in a request is forbidden (403). An admin key sees every tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from workhorse.api.errors import ApiError
from workhorse.app import Workhorse

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `workhorse keys create`: `Authorization: Bearer wh_…`.",
)


@dataclass(frozen=True, slots=True)
class Principal:
    """The key a request was made with."""

    key_id: int
    prefix: str
    tenant: str | None
    """None for an admin key."""

    @property
    def is_admin(self) -> bool:
        return self.tenant is None

    @property
    def idempotency_scope(self) -> str:
        """Idempotency keys are per tenant; admin keys share one scope of their own."""
        return self.tenant or ""

    def tenant_filter(self, requested: str | None) -> str | None:
        """The tenant a read or bulk change is limited to: a tenant key's own; for an admin key
        the one requested, or None for every tenant."""
        if self.tenant is None:
            return requested
        if requested is not None and requested != self.tenant:
            raise ApiError(403, "forbidden", "a tenant key can only name its own tenant")
        return self.tenant


def get_app(request: Request) -> Workhorse:
    app: Workhorse = request.app.state.workhorse
    return app


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})


def principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    app: Annotated[Workhorse, Depends(get_app)],
) -> Principal:
    """The caller's key; 401 when it is missing, malformed, unknown or revoked. A plain function:
    FastAPI runs it in its threadpool, off the event loop, since it reads the database."""
    if credentials is None:
        raise _unauthorized("missing API key: send Authorization: Bearer <key>")
    key = app.admin.authenticate(credentials.credentials)
    if key is None:
        raise _unauthorized("invalid or revoked API key")
    return Principal(key_id=key.id, prefix=key.prefix, tenant=key.tenant)


def admin(caller: Annotated[Principal, Depends(principal)]) -> Principal:
    """The caller's key, which must be an admin key (403 otherwise)."""
    if not caller.is_admin:
        raise ApiError(403, "forbidden", "this endpoint needs an admin key")
    return caller


Caller = Annotated[Principal, Depends(principal)]
Admin = Annotated[Principal, Depends(admin)]
App = Annotated[Workhorse, Depends(get_app)]
