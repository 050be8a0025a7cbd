"""API routers, one per resource; :mod:`citybridge.api.app` includes them under ``/api/v1``."""
