"""``/v1/me``: which key is asking, so that a client (the dashboard) can show what it may see."""

from __future__ import annotations

from fastapi import APIRouter

from workhorse.api.auth import Caller
from workhorse.api.stats_schemas import MeOut

router = APIRouter(tags=["keys"])


@router.get("/me", response_model=MeOut, operation_id="getMe")
def me(caller: Caller) -> MeOut:
    """The calling key's prefix and scope: admin, or the one tenant it sees."""
    return MeOut(key_prefix=caller.prefix, admin=caller.is_admin, tenant=caller.tenant)
