"""Per-tenant CPU-seconds and worker-seconds counters: summed per tenant, bounded in series."""

from __future__ import annotations

from workhorse.backends.base import AttemptUsage
from workhorse.observability.labels import tenant_label
from workhorse.observability.metrics import WorkerMetrics
from workhorse.observability.usage_metrics import TenantUsage


def _values(counters: TenantUsage) -> dict[str, dict[str, float]]:
    return {
        family.name: {sample.labels["tenant"]: sample.value for sample in family.samples}
        for family in counters.families()
    }


def test_usage_is_summed_per_tenant_with_slots_weighing_worker_time() -> None:
    counters = TenantUsage(names=True)
    counters.add("acme", AttemptUsage(wall_seconds=2.0, cpu_seconds=1.5, slots=3))
    counters.add("acme", AttemptUsage(wall_seconds=1.0, cpu_seconds=None))
    values = _values(counters)
    assert values["workhorse_tenant_cpu_seconds"] == {"acme": 1.5}
    assert values["workhorse_tenant_worker_seconds"] == {"acme": 7.0}


def test_tenants_past_the_limit_are_counted_as_other_under_opaque_labels() -> None:
    counters = TenantUsage(limit=2)
    for tenant in ("a", "b", "c", "d"):
        counters.add(tenant, AttemptUsage(wall_seconds=1.0, cpu_seconds=1.0))
    cpu = _values(counters)["workhorse_tenant_cpu_seconds"]
    assert cpu == {tenant_label("a"): 1.0, tenant_label("b"): 1.0, "other": 2.0}


def test_a_workers_registry_exposes_the_tenant_counters() -> None:
    metrics = WorkerMetrics()
    metrics.tenant_usage.add("acme", AttemptUsage(wall_seconds=1.0, cpu_seconds=0.5))
    names = {metric.name for metric in metrics.registry.collect()}
    assert {"workhorse_tenant_cpu_seconds", "workhorse_tenant_worker_seconds"} <= names
