-- Tracing: the W3C trace context (traceparent, and tracestate when there is one) of the code that
-- enqueued the job, as the propagator's JSON carrier; the worker's execution span continues it.
-- NULL when tracing was off at enqueue. Adding a nullable column without a default is a catalog
-- change only: no table rewrite, however many jobs there are.
ALTER TABLE workhorse_jobs ADD COLUMN trace_context text;
