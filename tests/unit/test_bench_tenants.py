"""``workhorse bench --tenants N``: the benchmark's jobs spread round-robin over N tenants."""

from __future__ import annotations

from workhorse.bench.tasks import specs
from workhorse.tasks import JobOptions


def test_jobs_go_round_robin_over_the_tenants_from_the_batchs_offset() -> None:
    made = specs("q", 5, 0.0, tenants=3, first=2)
    assert [spec.options.tenant for spec in made] == [
        "bench-000002",
        "bench-000000",
        "bench-000001",
        "bench-000002",
        "bench-000000",
    ]
    assert {spec.options.queue for spec in made} == {"q"}


def test_one_tenant_is_the_default_tenant() -> None:
    [made] = specs("q", 1, 5.0)
    assert made.options.tenant == JobOptions().tenant
    assert made.task == "hold" and made.args == [5.0]
