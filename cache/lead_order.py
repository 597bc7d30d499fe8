"""Tabs, sorts and the date sentinel shared by the search index and the SQL first page.

A module of its own so the first screen (``Repository.first_page_ids``) does not
import numpy and the search index (~0.1 s) before the list is on screen.
"""

from __future__ import annotations

TABS = ("todo", "callbacks", "done")
SORTS = ("priority", "expiry", "callback", "name", "recent")
DONE_STATUSES = ("done", "closed")
NEVER = 2**31 - 1  # sorts after any real date
