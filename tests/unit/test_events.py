"""The events' pure parts: signatures, the retry schedule, the envelope, webhook targets."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta

import pytest

from workhorse.backends import base as b
from workhorse.errors import ConfigurationError
from workhorse.events import envelope, signing, targets
from workhorse.events.schedule import (
    BROKER_SCHEDULE,
    WEBHOOK_DELAYS,
    RetrySchedule,
    next_attempt_at,
    total_span,
)
from workhorse.types import JSON

NOW = datetime(2030, 1, 1, tzinfo=UTC)

# The Standard Webhooks specification's own example (standard-webhooks/spec.md).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_sign_matches_the_standard_webhooks_example() -> None:
    assert signing.sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_headers_carry_one_signature_per_secret_and_verify_accepts_either() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    headers = signing.headers([new, old], "evt_1", 100, b"{}")
    assert len(headers["webhook-signature"].split()) == 2
    assert signing.verify(old, headers, b"{}", now=100)
    assert signing.verify(new, headers, b"{}", now=100)


@pytest.mark.parametrize(
    ("body", "now", "secret_index"),
    [(b"{ }", 100, 0), (b"{}", 100 + signing.DEFAULT_TOLERANCE + 1, 0), (b"{}", 100, 1)],
)
def test_verify_refuses_a_changed_body_a_stale_timestamp_or_another_secret(
    body: bytes, now: int, secret_index: int
) -> None:
    secrets = [signing.new_secret(), signing.new_secret()]
    headers = signing.headers(secrets[:1], "evt_1", 100, b"{}")
    assert not signing.verify(secrets[secret_index], headers, body, now=now)


def test_verify_refuses_missing_headers() -> None:
    assert not signing.verify(signing.new_secret(), {}, b"{}", now=0)


def test_new_secret_holds_24_random_bytes() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert secret != signing.new_secret()


def test_webhook_retries_span_more_than_a_day_then_give_up() -> None:
    webhooks = RetrySchedule()
    assert total_span(webhooks) >= timedelta(hours=24)
    last = len(WEBHOOK_DELAYS)
    assert next_attempt_at(webhooks, last, NOW, lambda lo, hi: lo) is not None
    assert next_attempt_at(webhooks, last + 1, NOW, lambda lo, hi: hi) is None


@pytest.mark.parametrize(("attempt", "seconds"), [(1, 5), (2, 30), (3, 120), (13, 28800)])
def test_webhook_delays_grow_and_jitter_scales_them(attempt: int, seconds: int) -> None:
    low = next_attempt_at(RetrySchedule(), attempt, NOW, lambda lo, hi: lo)
    high = next_attempt_at(RetrySchedule(), attempt, NOW, lambda lo, hi: hi)
    assert low == NOW + timedelta(seconds=seconds * 0.8)
    assert high == NOW + timedelta(seconds=seconds * 1.2)


def test_broker_deliveries_never_give_up() -> None:
    capped = next_attempt_at(BROKER_SCHEDULE, 1000, NOW, lambda lo, hi: 1.0)
    assert capped == NOW + BROKER_SCHEDULE.delays[-1]


def _event(data: object, job_id: int | None = 7) -> b.Event:
    return b.Event(id=12, tenant="acme", type="job.succeeded", job_id=job_id, data=data,  # type: ignore[arg-type]
                   occurred_at=NOW)  # fmt: skip


@pytest.mark.parametrize(
    "stored", [NOW.timestamp(), "2030-01-01T01:00:00+01:00", "2030-01-01T00:00:00+00:00"]
)
def test_envelope_writes_times_in_utc_whatever_the_database_stored(stored: object) -> None:
    job = {"id": 7, "created_at": stored, "started_at": None, "error": {"at": stored}}
    doc = envelope.document(_event(job))
    assert doc["id"] == "evt_12" and doc["occurred_at"] == "2030-01-01T00:00:00Z"
    assert doc["job"]["created_at"] == "2030-01-01T00:00:00Z"
    assert doc["job"]["started_at"] is None
    assert doc["job"]["error"] == {"at": "2030-01-01T00:00:00Z"}


def test_envelope_of_a_workflow_carries_it_with_its_steps_times_in_utc() -> None:
    stored = "2030-01-01T01:00:00+01:00"
    step: dict[str, JSON] = {
        "key": "a",
        "job_id": 3,
        "started_at": NOW.timestamp(),
        "finished_at": stored,
    }
    times: dict[str, JSON] = {"created_at": stored, "finished_at": stored}
    workflow: dict[str, JSON] = {"id": 5, **times, "steps": [step]}
    event = b.Event(
        id=12, tenant="acme", type="workflow.failed", job_id=None, data=workflow, occurred_at=NOW
    )
    doc = envelope.document(event)
    assert "job" not in doc and "data" not in doc
    assert doc["workflow"]["created_at"] == "2030-01-01T00:00:00Z"
    assert doc["workflow"]["steps"] == [
        {
            "key": "a",
            "job_id": 3,
            "started_at": "2030-01-01T00:00:00Z",
            "finished_at": "2030-01-01T00:00:00Z",
        }
    ]


def test_envelope_of_an_emitted_event_carries_its_data() -> None:
    doc = envelope.document(_event({"order": 42}, job_id=None))
    assert doc["data"] == {"order": 42} and "job" not in doc


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "https:///path", "https://user:pw@example.com/", "http://127.0.0.1/",
     "http://10.1.2.3/", "http://[::1]/", "http://169.254.169.254/", "http://[::ffff:10.0.0.1]/",
     "https://NtH]/8C", "https://example.com:99999/"],
)  # fmt: skip
def test_check_url_refuses_other_schemes_credentials_and_private_literals(url: str) -> None:
    with pytest.raises(ConfigurationError):
        targets.check_url(url, allow_private=False)


def test_check_url_allows_private_literals_when_the_operator_does() -> None:
    assert targets.check_url("http://127.0.0.1:8080/h", allow_private=True)
    assert targets.check_url("https://93.184.216.34/h", allow_private=False)


def test_refuse_private_names_a_host_that_resolves_to_loopback() -> None:
    reason = asyncio.run(targets.refuse_private("http://localhost:9/hook"))
    assert reason is not None and "not a public address" in reason
