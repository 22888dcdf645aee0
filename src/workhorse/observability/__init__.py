"""Observability: Prometheus metrics, OpenTelemetry traces, structured logs and the autoscaling
signal.

- ``metrics``: the app's and the worker's in-process counters and histograms, each in a registry
  of its own (never the global one), so several apps and workers can live in one process.
- ``gauges``: the database-derived gauges (queue depth, tenants, workers, desired workers), read
  by one aggregate query at most once per interval.
- ``autoscale``: the pure scaling policy behind ``workhorse_desired_workers``.
- ``tracing``: spans and the trace context that travels with a job; free when tracing is off.
- ``logs``: JSON or text log lines carrying the job's fields and trace id.
- ``exposition``: serving a registry over HTTP (the worker's ``--metrics-port``).
"""
