"""Build the UI translations: ``python -m app.i18n_build [--update]``.

Default (what scripts/setup-venv.sh runs): compile resources/i18n/*.ts into .qm
with pyside6-lrelease — fast, and needs no lupdate. ``--update`` first runs
pyside6-lupdate over app/ and ui/ so new tr() strings appear in the .ts files
(zh_CN entries then show up as "unfinished" until translated; the English file
only carries plural forms because the source text is English).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
I18N = ROOT / "resources" / "i18n"
# Where translatable texts live. core/ has none (no Qt there): rules and services speak in
# message codes (core/messages.py) and ui/messages.py holds their words; softphone/, sync/,
# cache/ and server/ show nothing to the agent themselves.
SOURCES = ("app", "ui")
LANGUAGES = ("zh_CN", "en")


def _tool(name: str) -> str | None:
    # Prefer the tool next to this interpreter (the venv) over one on PATH.
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    return shutil.which(name)


def ts_path(language: str) -> Path:
    return I18N / f"seatmate_{language}.ts"


def update(ts_files: list[Path] | None = None) -> None:
    lupdate = _tool("pyside6-lupdate")
    if lupdate is None:
        raise SystemExit("pyside6-lupdate not found (it comes with PySide6)")
    for language in LANGUAGES:
        ts = ts_path(language)
        targets = [ts] if ts_files is None else [t for t in ts_files if t.name == ts.name]
        for target in targets:
            cmd = [lupdate, "-extensions", "py", "-no-obsolete", "-locations", "none", "-silent"]
            if language == "en":
                cmd.append("-pluralonly")
            cmd += [str(ROOT / s) for s in SOURCES]
            cmd += ["-target-language", language, "-ts", str(target)]
            subprocess.run(cmd, check=True, timeout=120)


def release(force: bool = False) -> list[Path]:
    lrelease = _tool("pyside6-lrelease")
    if lrelease is None:
        raise SystemExit("pyside6-lrelease not found (it comes with PySide6)")
    built = []
    for language in LANGUAGES:
        ts = ts_path(language)
        qm = ts.with_suffix(".qm")
        if not ts.exists():
            raise SystemExit(f"{ts} is missing: run `python -m app.i18n_build --update`")
        if force or not qm.exists() or qm.stat().st_mtime < ts.stat().st_mtime:
            # Build beside it, then rename over it: a running app has the old .qm mapped into
            # memory, and rewriting that file in place switched live windows' language or crashed them.
            partial = qm.with_suffix(".qm.partial")
            subprocess.run([lrelease, "-silent", str(ts), "-qm", str(partial)], check=True, timeout=60)
            partial.replace(qm)
            built.append(qm)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.i18n_build", description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--update", action="store_true", help="run pyside6-lupdate over app/ and ui/ first")
    parser.add_argument("--force", action="store_true", help="rebuild .qm even when up to date")
    args = parser.parse_args(argv)
    I18N.mkdir(parents=True, exist_ok=True)
    missing = [ts_path(lang) for lang in LANGUAGES if not ts_path(lang).exists()]
    if args.update or missing:
        update()
    built = release(force=args.force or args.update)
    print(f"translations: {len(built)} .qm built in {I18N.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
