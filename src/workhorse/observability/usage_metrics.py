"""What each tenant's attempts consumed on this worker, as Prometheus counters: CPU-seconds and
worker-seconds (wall time times the slots held).

Tenants are client-chosen names, so their series are bounded as other counters' labels are
(``LabelBudget``): a fixed number of tenants get series of their own, first come, and the rest
are counted as ``tenant="other"``. Label values are opaque (``tenant_label``) unless names are
asked for.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily

from workhorse.backends.base import AttemptUsage
from workhorse.observability.labels import OTHER, LabelBudget, tenant_label

DEFAULT_TOP_TENANTS = 20


class TenantUsage:
    """Counts on the worker's event loop; read by scrapes (which copy before reading)."""

    def __init__(self, limit: int = DEFAULT_TOP_TENANTS, *, names: bool = False) -> None:
        self._budget = LabelBudget(limit)
        self._names = names
        self._cpu: dict[str, float] = {}
        self._worker: dict[str, float] = {}

    def add(self, tenant: str, usage: AttemptUsage) -> None:
        """One attempt of ``tenant`` ended, having used ``usage``."""
        label = self._budget.admit(tenant)
        self._cpu[label] = self._cpu.get(label, 0.0) + (usage.cpu_seconds or 0.0)
        worker = usage.wall_seconds * usage.slots
        self._worker[label] = self._worker.get(label, 0.0) + worker

    def families(self) -> Iterator[CounterMetricFamily]:
        """The two counters; tenants idle for a while give their series up first."""
        for idle in self._budget.sweep():
            self._cpu.pop(idle, None)
            self._worker.pop(idle, None)
        yield self._family(
            "workhorse_tenant_cpu_seconds",
            'CPU time (user + system) of attempts, by tenant; the rest as tenant="other".',
            dict(self._cpu),
        )
        yield self._family(
            "workhorse_tenant_worker_seconds",
            "Worker slot time (wall time times slots held) of attempts, by tenant; the rest as "
            'tenant="other".',
            dict(self._worker),
        )

    def _family(self, name: str, help_text: str, values: dict[str, float]) -> CounterMetricFamily:
        family = CounterMetricFamily(name, help_text, labels=["tenant"])
        for tenant, value in sorted(values.items()):
            family.add_metric([self._label(tenant)], value)
        return family

    def _label(self, tenant: str) -> str:
        return tenant if self._names or tenant == OTHER else tenant_label(tenant)
