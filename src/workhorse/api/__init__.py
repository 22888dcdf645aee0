"""The REST API (FastAPI): ``create_api(app)`` builds the ASGI application, served by
``workhorse api`` and ``workhorse serve``."""

from workhorse.api.app import ApiSettings, create_api

__all__ = ["ApiSettings", "create_api"]
