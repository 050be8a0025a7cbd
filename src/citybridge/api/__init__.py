"""The REST API (FastAPI, under ``/api/v1``): a thin adapter over :class:`citybridge.hub.Hub`.

Start it with ``citybridge serve``; build the app in code with :func:`create_app`.
"""

from citybridge.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
