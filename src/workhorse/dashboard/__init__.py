"""The web dashboard, served under ``/ui`` by the API process: a page of plain JavaScript that
reads the REST API with the API key the user signs in with. Every asset ships in this package (no
CDN, no build step), so the dashboard works offline."""

from workhorse.dashboard.routes import mount_dashboard

__all__ = ["mount_dashboard"]
