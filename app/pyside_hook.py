"""A cheaper answer for PySide6's import hook: "does this module use PySide6?".

Once PySide6 is imported, its ``__feature__`` machinery hooks ``__import__`` and,
for every module imported afterwards, calls ``shibokensupport.feature._mod_uses_pyside``,
which reads the module's whole source through ``inspect.getsource`` (and leaves it
in ``linecache``). Measured at start-up (tests/bench/bench_foundation.py): ~420
modules, ~65 ms of the imports and ~10 MB of source text kept for the whole session.

The answer only decides whether the module takes part in the ``from __feature__
import snake_case/true_property`` switching, which Seatmate never uses; a module
that does not take part sees the default (unswitched) Qt API — the same one every
module sees here. So a look at the module's globals (did it import anything from
PySide6/shiboken6?) is enough, and it reads no file.
"""

from __future__ import annotations

import sys
from types import ModuleType

_PREFIXES = ("PySide6", "shiboken6")


def _uses_pyside(module: ModuleType) -> bool:
    try:
        for value in list(vars(module).values()):
            # Only type-level attributes (no __getattr__ of arbitrary objects runs).
            if isinstance(value, ModuleType):
                name = value.__name__
            else:
                name = (value if isinstance(value, type) else type(value)).__module__
            if isinstance(name, str) and name.startswith(_PREFIXES):
                return True
    except Exception:  # an odd module must never make its import fail: "does not use PySide6"
        return False
    return False


def install() -> bool:
    """Replace the source-reading check (call right after the first PySide6 import).

    Returns False when this PySide6 has no such hook (other versions, frozen builds
    without it): then nothing changes.
    """
    feature = sys.modules.get("shibokensupport.feature")
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    feature._mod_uses_pyside = _uses_pyside
    return True
