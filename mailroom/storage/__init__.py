"""Storage of mailroom: the database (SQLAlchemy + Alembic) and the content-addressed blob store.

The database is the source of truth for the state of every document (see ``DESIGN.md``); blobs (originals,
searchable PDFs, page images) live in a content-addressed folder and are referenced from the database by their
SHA-256.
"""

from mailroom.storage.blobs import BlobStore
from mailroom.storage.db import make_engine, migrate, session_factory, session_scope
from mailroom.storage.models import ArtifactKind, DocumentRow, DocumentState

__all__ = [
    "ArtifactKind",
    "BlobStore",
    "DocumentRow",
    "DocumentState",
    "make_engine",
    "migrate",
    "session_factory",
    "session_scope",
]
