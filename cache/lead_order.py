"""Tabs, sorts and the date sentinel shared by the search index and the SQL first page.

A module of its own so the first screen (``Repository.first_page_ids``) does not
import numpy and the search index (~0.1 s) before the list is on screen.
"""

from __future__ import annotations

from core.contract import FINISHED_STATUSES

TABS = ("todo", "callbacks", "done")
SORTS = ("priority", "expiry", "callback", "name", "recent")
# Plain strings: the SQL builders write the tuple's repr into their statements.
DONE_STATUSES: tuple[str, ...] = tuple(s.value for s in FINISHED_STATUSES)
NEVER = 2**31 - 1  # sorts after any real date
