"""Events: the outbox's dispatcher and its senders (webhooks, NATS, RabbitMQ), the envelope
destinations receive, signatures, and the retry schedule."""
