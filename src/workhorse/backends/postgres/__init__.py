from workhorse.backends.postgres.backend import PostgresBackend

__all__ = ["PostgresBackend"]
