"""Builds the demo customer's voice lines: resources/sounds/demo/<key>.wav.

    python -m app.demo.voices_build            # all lines of app/demo/personas.py LINES
    python -m app.demo.voices_build --check    # exit 1 if a line is missing or in the wrong format

Needs espeak-ng (Debian package ``espeak-ng``; the Mandarin voice reads pinyin with tone
numbers: its Hanzi path in 1.51 reads the tone digits in English) and sox. Each line is
spoken, trimmed of leading/trailing silence, band-limited to the telephone band, normalised
and written as 8 kHz mono 16-bit WAV (~16 KB a second). The WAV files are committed: the app
and its tests never need espeak-ng or sox, nor any network or model, at run time.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from app.demo.personas import LINES, VOICE_RATE, load_pcm, voice_file, voices_dir


def build_line(key: str, out_dir: Path) -> Path:
    line = LINES[key]
    target = voice_file(key, out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", line.voice, "-s", str(line.speed), "-p", str(line.pitch),
                        "-w", str(raw), line.pinyin], check=True)
        # Trim silence at both ends (keep 80 ms), telephone band, -3 dBFS peak, 8 kHz mono s16;
        # no dither (-D): the same text gives the same bytes.
        subprocess.run(["sox", "-D", str(raw), "-r", str(VOICE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
                        str(target),
                        "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse",
                        "pad", "0.08", "0.08", "highpass", "250", "lowpass", "3400", "norm", "-3"], check=True)
    return target


def check(out_dir: Path) -> list[str]:
    problems = []
    for key in LINES:
        if load_pcm(voice_file(key, out_dir)) is None:
            problems.append(f"{voice_file(key, out_dir)}: missing or not {VOICE_RATE} Hz mono 16-bit")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=None, help="folder (default resources/sounds/demo)")
    ap.add_argument("--check", action="store_true", help="only check the files that are there")
    ap.add_argument("keys", nargs="*", help="only these lines")
    args = ap.parse_args(argv)
    out_dir = args.out or voices_dir()
    if args.check:
        problems = check(out_dir)
        print("\n".join(problems) or f"{len(LINES)} lines ok in {out_dir}")
        return 1 if problems else 0
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        print(f"needs {' and '.join(missing)} (Debian: apt-get install espeak-ng sox)", file=sys.stderr)
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    total = 0
    for key in args.keys or LINES:
        path = build_line(key, out_dir)
        size = path.stat().st_size
        total += size
        print(f"{path.name:24} {size / 1024:6.1f} KB  {LINES[key].text}")
    print(f"{total / 1024:.0f} KB in {len(args.keys or LINES)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
