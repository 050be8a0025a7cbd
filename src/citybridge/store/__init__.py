"""Persistence: SQLAlchemy tables, the record/relation repository, Alembic migrations."""

from citybridge.store.engine import make_engine
from citybridge.store.repository import Outcome, Store, content_hash, merge_records

__all__ = ["Outcome", "Store", "content_hash", "make_engine", "merge_records"]
