"""The cache's schema revision (a module of its own: read before SQLAlchemy is imported).

Kept equal to the newest file in migrations/versions (a unit test checks it):
when the cache is already there, start-up skips loading Alembic (~0.1 s), and the
first screen (cache.first_page) is read straight from a file at this revision.
"""

HEAD_REVISION = "0002"
