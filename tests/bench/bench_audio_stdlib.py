"""The client's sample code without numpy, against the numpy code it replaced, in one run:
`python -m tests.bench.bench_audio_stdlib [--repeat N]` (~20 s).

Issue #16 takes numpy out of the frozen app; these are the paths that used it on the client:
the softphone's level meters (softphone/audio/pcm.py ``levels``: on 20 ms frames and on the
meters' 100 ms blocks, twice per 100 ms in a call), the recorder's interleaving of one 20 ms
pair (softphone/audio/recorder.py, on the bridge's clock thread, every 20 ms of a recorded
call), the TL player's channel gains on a 64 KiB block and its 2× time-stretch per second of
audio, the 归属地 table (core/phone_geo.py: load once, then a lookup per card). The numpy
reference is the code as it was (copied here, numpy is a dev dependency). Per call: the
median of ``--repeat`` timings of a batch. Records the load average; merges its rows into
bench-results/audio_stdlib.json.
"""

from __future__ import annotations

import argparse
import array
import math
import os
import random
import statistics
import time
from collections.abc import Callable

import numpy as np

from app.supervisor.recording_player import TimeStretch
from app.supervisor.recording_stream import apply_gains
from core import phone_geo, wav
from softphone.audio import pcm
from tests.bench.results import RESULTS_DIR, merge_results


# -- the numpy code as it was (reference) -----------------------------------------------------------
def np_levels(data: bytes) -> tuple[float, float]:
    samples = np.frombuffer(data, dtype="<i2", count=len(data) // 2)
    peak = max(int(samples.max()), -int(samples.min())) / 32768.0
    wide = samples.astype(np.int64)
    return math.sqrt(int(np.dot(wide, wide)) / samples.size) / 32768.0, peak


def np_interleave(left: bytes, right: bytes) -> bytes:
    n = min(len(left), len(right)) // 2
    stereo = np.empty(2 * n, dtype="<i2")
    stereo[0::2] = np.frombuffer(left, dtype="<i2", count=n)
    stereo[1::2] = np.frombuffer(right, dtype="<i2", count=n)
    return stereo.tobytes()


def np_gains(raw: bytes, start: int, fmt: wav.WavFormat, gains: tuple[float, float]) -> bytes:
    lo, hi = max(start, fmt.data_start), min(start + len(raw), fmt.data_end)
    count = (hi - lo) // 2
    samples = np.frombuffer(raw, dtype="<i2", count=count, offset=lo - start).astype(np.float32)
    first = ((lo - fmt.data_start) // 2) % 2
    g = np.array(gains if first == 0 else gains[::-1], dtype=np.float32)
    samples *= np.resize(g, count)
    mixed = np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()
    return raw[: lo - start] + mixed + raw[hi - start:]


def np_geo_load() -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]:
    # The numpy way over the same file (core/data/cn_phone_zh.bin): every table as arrays.
    data = phone_geo.DATA_FILE.read_bytes()
    _, count, _, _ = phone_geo._HEADER.unpack_from(data, 0)
    out = {}
    for i in range(count):
        kind, length, _, n, keys_at, vals_at = phone_geo._ENTRY.unpack_from(data, phone_geo._HEADER.size
                                                                             + i * phone_geo._ENTRY.size)
        out[(phone_geo._KINDS[kind], length)] = (np.frombuffer(data, "<u4", n, keys_at).astype(np.int64),
                                                 np.frombuffer(data, "<u2", n, vals_at).astype(np.int32))
    return out


# -- timing ----------------------------------------------------------------------------------------------
def per_call_us(fn: Callable[[], object], batch: int, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        times.append((time.perf_counter() - t0) / batch)
    return statistics.median(times) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(16)
    load_before = os.getloadavg()
    rows: list[tuple[str, float, float, str]] = []  # (what, stdlib, numpy, unit)

    def frame(rate: int, ms: int) -> bytes:
        return (rng.standard_normal(rate * ms // 1000) * 6000).clip(-32768, 32767).astype("<i2").tobytes()

    for rate in (8000, 16000):
        for ms in (20, 100):
            data = frame(rate, ms)
            assert abs(pcm.levels(data)[0] - np_levels(data)[0]) < 1e-9 and pcm.levels(data)[1] == np_levels(data)[1]
            rows.append((f"levels() {ms} ms at {rate // 1000} kHz", per_call_us(lambda d=data: pcm.levels(d), 2000, args.repeat),
                         per_call_us(lambda d=data: np_levels(d), 2000, args.repeat), "µs/call"))
        left, right = frame(rate, 20), frame(rate, 20)
        new_write = _recorder_interleave()
        assert new_write(left, right) == np_interleave(left, right)
        rows.append((f"recorder interleave 20 ms pair at {rate // 1000} kHz",
                     per_call_us(lambda a=left, b=right, w=new_write: w(a, b), 5000, args.repeat),
                     per_call_us(lambda a=left, b=right: np_interleave(a, b), 5000, args.repeat), "µs/call"))

    from softphone.audio.recorder import _header

    header = wav.parse_header(_header(8000, 2, 0), 1 << 30)  # the recorder's stereo 8 kHz layout
    block = frame(8000, 4096)[: 65536]
    for gains in ((0.0, 1.0), (0.5, 1.0)):
        assert apply_gains(block, 65536, header, gains) == np_gains(block, 65536, header, gains)
        rows.append((f"channel gains {gains} on a 64 KiB block", per_call_us(lambda g=gains: apply_gains(block, 65536, header, g), 20, args.repeat),
                     per_call_us(lambda g=gains: np_gains(block, 65536, header, g), 20, args.repeat), "µs/call"))

    for rate in (8000, 16000):
        stretch = TimeStretch(2.0, rate, 2)
        second = array.array("h", frame(rate, 2000))  # stereo: 1 s of frames

        def stretch_one_second(s: TimeStretch = stretch, x: array.array = second) -> None:
            step, size = s.advance * 2, s.input_frames * 2
            for k in range(0, len(x) - size, step):  # bounded: 1 s of grains
                s.grain_from(x[k:k + size])

        rows.append((f"2× time-stretch, 1 s of stereo at {rate // 1000} kHz",
                     per_call_us(stretch_one_second, 3, args.repeat), float("nan"), "µs/call"))

    def geo_load() -> None:
        phone_geo._reader = None
        phone_geo._load()

    rows.append(("phone_geo table load", per_call_us(geo_load, 3, args.repeat) / 1000,
                 per_call_us(np_geo_load, 3, args.repeat) / 1000, "ms/call"))
    tables = np_geo_load()
    numbers = ["+86" + random.Random(i).choice("135789") + f"{random.Random(i).randrange(10**9):09d}" for i in range(2000)]

    def np_longest(kind: str, digits: str) -> int:
        for (k, length), (keys, vals) in sorted(tables.items(), key=lambda kv: -kv[0][1]):
            if k == kind and len(digits) >= length:
                key = int(digits[:length])
                i = int(np.searchsorted(keys, key))
                if i < len(keys) and keys[i] == key:
                    return int(vals[i])
        return -1

    def np_lookup(e164: str) -> None:  # what lookup() did: the region, then the carrier of a mobile
        digits = e164[1:]
        np_longest("geo", digits)
        if len(digits) == 13 and digits[2] == "1":
            np_longest("carrier", digits)

    def lookups_new() -> None:
        phone_geo.lookup.cache_clear()
        for n in numbers:
            phone_geo.lookup(n)

    rows.append(("phone_geo lookup (uncached)", per_call_us(lookups_new, 1, args.repeat) / len(numbers),
                 per_call_us(lambda: [np_lookup(n) for n in numbers], 1, args.repeat) / len(numbers), "µs/call"))
    load_after = os.getloadavg()

    print(f"\n{'':52}{'stdlib':>10}{'numpy (before)':>16}  unit   (load {load_before[0]:.1f} → {load_after[0]:.1f})")
    for what, new, old, unit in rows:
        print(f"{what:52}{new:>10.1f}{old:>16.1f}  {unit}")
    results = []
    for what, new, old, unit in rows:
        results.append({"metric": what, "value": round(new, 2), "unit": unit})
        if old == old:  # not NaN
            results.append({"metric": what, "value": round(old, 2), "unit": unit, "peer": "numpy code before #16, same run"})
    results += [{"metric": "loadavg_1min_before", "value": round(load_before[0], 2), "unit": "load"},
                {"metric": "loadavg_1min_after", "value": round(load_after[0], 2), "unit": "load"}]
    merge_results(results, RESULTS_DIR / "audio_stdlib.json")
    print(f"wrote {RESULTS_DIR / 'audio_stdlib.json'}")
    return 0


def _recorder_interleave() -> Callable[[bytes, bytes], bytes]:
    """StereoWavWriter._write_pair's interleaving, as the recorder runs it (without the file)."""
    from softphone.audio.recorder import StereoWavWriter

    class Sink:
        data = b""

        def write(self, raw: bytes) -> None:
            self.data = raw

    writer = StereoWavWriter.__new__(StereoWavWriter)
    writer._file = Sink()  # type: ignore[assignment]
    writer._data_len = 0

    def write(left: bytes, right: bytes) -> bytes:
        writer._write_pair(left, right)
        return writer._file.data  # type: ignore[attr-defined]

    return write


if __name__ == "__main__":
    raise SystemExit(main())
