"""Standard-library modules that SQLAlchemy imports at start but the client does not use.

``sqlalchemy.util.compat`` imports ``asyncio`` (which brings ``ssl``, ``subprocess`` and
~30 modules) and ``importlib.metadata`` (``email``, ``zipfile``, ``csv``) unconditionally,
for its async engine and its dialect plug-ins; the client's synchronous SQLite engine
touches neither. Measured in a fresh interpreter: ~7 MB RSS and ~70 modules. It also
imports ``hashlib`` for ``md5_hex`` (only for constraint names longer than the dialect's
limit), and ``hashlib`` loads OpenSSL's libcrypto: ~3.5 MB RSS in the embedded demo, which
otherwise never needs OpenSSL (its own SHA-256s use :mod:`core.digest`).

:func:`defer` puts a placeholder module in ``sys.modules`` for each name. ``import asyncio``
then binds the placeholder (the import system finds it and reads only ``__spec__``/
``__name__``, which the placeholder has); the real module is imported the first time
anything reads another attribute, under a lock (one import even when two threads ask at
once), and its namespace is copied into the placeholder, so whoever holds the placeholder
sees the real module from then on. ``importlib.util.LazyLoader`` does not work for this on
Python 3.11: it loads as soon as ``import`` reads ``__spec__``.

``SEATMATE_DEFER_IMPORTS=0`` turns this off (the bench's same-run reference).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

#: Imported by SQLAlchemy at import time, used only by its asyncio extension, plug-in lookup
#: and long constraint names.
SQLALCHEMY_UNUSED = ("asyncio", "importlib.metadata", "hashlib")
ENV_SWITCH = "SEATMATE_DEFER_IMPORTS"
#: Functions read from the module at import time (``iscoroutine = asyncio.iscoroutine`` in
#: sqlalchemy.util.concurrency): the placeholder has a stand-in that imports the module when called.
FORWARDED: dict[str, tuple[str, ...]] = {"asyncio": ("iscoroutine",)}

_lock = threading.RLock()
_deferred: set[str] = set()  # names given a placeholder (read by _SubmoduleFinder)


class _Deferred(ModuleType):
    """Stands in for a module until one of its attributes is read (then it becomes a copy of it)."""

    def __getattr__(self, attr: str) -> Any:  # only called for attributes the placeholder lacks
        if attr.startswith("__") and attr.endswith("__") and attr not in ("__path__", "__all__"):
            raise AttributeError(attr)  # dunder probes (copy, pickle, inspect) need not load it
        return getattr(_load(self), attr)


def _load(placeholder: _Deferred) -> ModuleType:
    name = placeholder.__name__
    with _lock:
        real = sys.modules.get(name)
        if real is placeholder or real is None:
            sys.modules.pop(name, None)
            try:
                real = importlib.import_module(name)
            except BaseException:
                sys.modules[name] = placeholder  # a later read tries again
                raise
        if type(placeholder) is _Deferred:
            # From now on the placeholder is the real module's twin: same objects, no more lookups.
            placeholder.__dict__.update(real.__dict__)
            placeholder.__class__ = ModuleType
    return real


class _SubmoduleFinder:
    """``import asyncio.events`` while ``asyncio`` is a placeholder: the import system reads the
    placeholder's ``__path__``, which imports the real package, and that already imported
    ``asyncio.events``; the import system would still load it a second time (two module
    objects, two of each class). This finder, first on ``sys.meta_path``, hands it the module
    that is already there."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        parent = name.rpartition(".")[0]
        module = sys.modules.get(name)
        if not parent or parent not in _deferred or module is None:
            return None
        return ModuleSpec(name, _Existing(module), origin=getattr(module.__spec__, "origin", None))


class _Existing:
    """A loader (the import system only calls these two methods; not importlib.abc.Loader as the
    base: importing importlib.abc brings importlib.resources, tempfile, shutil, bz2, lzma…)."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module
        self._spec = module.__spec__

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return self._module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._spec  # the import system set ours on it; it keeps its own


def _forwarder(placeholder: _Deferred, attr: str) -> Any:
    def forward(*args: Any, **kwargs: Any) -> Any:
        return getattr(_load(placeholder), attr)(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = attr
    return forward


def defer(names: tuple[str, ...] = SQLALCHEMY_UNUSED) -> list[str]:
    """Put placeholders in ``sys.modules`` for ``names`` not imported yet; returns those deferred."""
    if os.environ.get(ENV_SWITCH) == "0":
        return []
    deferred = []
    with _lock:
        for name in names:
            if name in sys.modules:
                continue
            parent, _, child = name.rpartition(".")
            if parent:
                importlib.import_module(parent)
            spec = importlib.util.find_spec(name)
            if spec is None:  # not in this build (a frozen bundle without it): nothing to defer
                continue
            placeholder = _Deferred(name)
            # What the import system and inspect.getmodule() (it reads every module's __file__)
            # look at, without loading it; find_spec(name) answers from __spec__.
            placeholder.__spec__, placeholder.__loader__ = spec, spec.loader
            placeholder.__file__, placeholder.__package__ = spec.origin, spec.parent
            for attr in FORWARDED.get(name, ()):
                setattr(placeholder, attr, _forwarder(placeholder, attr))
            sys.modules[name] = placeholder
            if parent:
                setattr(sys.modules[parent], child, placeholder)  # as the import system does
            deferred.append(name)
            _deferred.add(name)
        if deferred and _SubmoduleFinder not in sys.meta_path:
            sys.meta_path.insert(0, _SubmoduleFinder)
    return deferred


def is_loaded(name: str) -> bool:
    """True when ``name`` was really imported (not only a placeholder)."""
    module = sys.modules.get(name)
    return module is not None and type(module) is not _Deferred
