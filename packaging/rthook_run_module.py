"""PyInstaller runtime hook: let the frozen binary stand in for ``python -m MODULE``.

The app starts helper processes as ``[sys.executable, "-m", "app.demo.customer", ...]``
(the embedded demo's SIP customer runs in its own process: pjsua2 allows one
Endpoint per process). Frozen, ``sys.executable`` is the ``seatmate`` binary, which
would read ``-m`` as a bad option. This hook runs before the app's entry point and,
for the app's own modules only, runs the module as ``__main__`` and exits.
"""

import runpy
import sys

_ALLOWED_PREFIXES = ("app.", "softphone.")

if len(sys.argv) >= 3 and sys.argv[1] == "-m" and sys.argv[2].startswith(_ALLOWED_PREFIXES):
    _module = sys.argv[2]
    sys.argv = [_module, *sys.argv[3:]]
    try:
        runpy.run_module(_module, run_name="__main__", alter_sys=True)
    except SystemExit as _exit:
        _code = _exit.code
    else:
        _code = 0
    sys.stdout.flush()
    sys.exit(_code)
