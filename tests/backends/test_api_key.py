"""api_key_insert, api_key_get, api_key_list, api_key_revoke, api_key_touch."""

from __future__ import annotations

from workhorse.backends import Backend
from workhorse.backends import base as b

from .support import at


def _insert(
    backend: Backend, prefix: str, tenant: str | None = "acme", seconds: float = 0
) -> b.ApiKey:
    key = backend.api_key_insert(
        b.ApiKeyInsertParams(
            prefix=prefix,
            secret_hash=f"hash-of-{prefix}",
            tenant=tenant,
            name=f"key {prefix}",
            now=at(seconds),
        )
    )
    assert key is not None
    return key


def _get(backend: Backend, prefix: str) -> b.ApiKey | None:
    return backend.api_key_get(b.ApiKeyGetParams(prefix=prefix))


def test_api_key_insert_stores_the_key_and_get_finds_it_by_prefix(backend: Backend) -> None:
    key = _insert(backend, "wh_aaaa", tenant="acme", seconds=5)
    assert key == b.ApiKey(
        id=key.id,
        prefix="wh_aaaa",
        secret_hash="hash-of-wh_aaaa",
        tenant="acme",
        name="key wh_aaaa",
        created_at=at(5),
        last_used_at=None,
        revoked_at=None,
    )
    assert _get(backend, "wh_aaaa") == key
    assert _get(backend, "wh_bbbb") is None


def test_api_key_insert_of_an_admin_key_has_no_tenant(backend: Backend) -> None:
    key = _insert(backend, "wh_admin", tenant=None)
    found = _get(backend, "wh_admin")
    assert found is not None
    assert found.tenant is None
    assert found.id == key.id


def test_api_key_insert_refuses_a_taken_prefix(backend: Backend) -> None:
    first = _insert(backend, "wh_same", tenant="acme")
    params = b.ApiKeyInsertParams(
        prefix="wh_same", secret_hash="other", tenant="globex", name="", now=at(1)
    )
    assert backend.api_key_insert(params) is None
    assert _get(backend, "wh_same") == first


def test_api_key_get_finds_a_revoked_key_too_and_no_unknown_prefix(backend: Backend) -> None:
    key = _insert(backend, "wh_gone")
    revoked = backend.api_key_revoke(b.ApiKeyRevokeParams(prefix="wh_gone", now=at(3)))
    assert revoked is not None
    assert _get(backend, "wh_gone") == revoked
    assert revoked.id == key.id
    assert revoked.revoked_at == at(3)
    assert _get(backend, "wh_gon") is None


def test_api_key_list_is_in_creation_order_and_can_hide_revoked_keys(backend: Backend) -> None:
    keys = [_insert(backend, f"wh_{n}", seconds=n) for n in range(3)]
    backend.api_key_revoke(b.ApiKeyRevokeParams(prefix="wh_1", now=at(10)))
    listed = backend.api_key_list(b.ApiKeyListParams())
    assert [k.prefix for k in listed] == ["wh_0", "wh_1", "wh_2"]
    live = backend.api_key_list(b.ApiKeyListParams(include_revoked=False))
    assert [k.id for k in live] == [keys[0].id, keys[2].id]


def test_api_key_revoke_by_prefix_or_id_keeps_the_first_revocation_time(
    backend: Backend,
) -> None:
    one, two = _insert(backend, "wh_one"), _insert(backend, "wh_two")
    revoked = backend.api_key_revoke(b.ApiKeyRevokeParams(prefix="wh_one", now=at(10)))
    assert revoked is not None
    assert (revoked.id, revoked.revoked_at) == (one.id, at(10))
    again = backend.api_key_revoke(b.ApiKeyRevokeParams(id=one.id, now=at(20)))
    assert again is not None
    assert again.revoked_at == at(10)
    by_id = backend.api_key_revoke(b.ApiKeyRevokeParams(id=two.id, now=at(30)))
    assert by_id is not None
    assert (by_id.prefix, by_id.revoked_at) == ("wh_two", at(30))
    found = _get(backend, "wh_one")
    assert found is not None
    assert found.revoked_at == at(10)


def test_api_key_revoke_of_an_unknown_key_is_none(backend: Backend) -> None:
    _insert(backend, "wh_one")
    assert backend.api_key_revoke(b.ApiKeyRevokeParams(prefix="wh_two", now=at(1))) is None
    assert backend.api_key_revoke(b.ApiKeyRevokeParams(id=999_999, now=at(1))) is None
    found = _get(backend, "wh_one")
    assert found is not None
    assert found.revoked_at is None


def test_api_key_touch_records_use_at_most_once_per_staleness_window(backend: Backend) -> None:
    key, other = _insert(backend, "wh_used"), _insert(backend, "wh_idle")

    def touch(now: float, stale_before: float) -> b.ApiKey:
        backend.api_key_touch(
            b.ApiKeyTouchParams(id=key.id, now=at(now), stale_before=at(stale_before))
        )
        found = _get(backend, "wh_used")
        assert found is not None
        return found

    assert touch(100, 40).last_used_at == at(100), "never used: always recorded"
    assert touch(130, 70).last_used_at == at(100), "used after stale_before: not rewritten"
    assert touch(200, 140).last_used_at == at(200), "older than stale_before: recorded"
    idle = _get(backend, "wh_idle")
    assert idle is not None
    assert idle.last_used_at is None
    assert idle.id == other.id
