"""The call recordings' WAV layout (softphone/audio/recorder.py writes them: 16-bit PCM, stereo,
agent left, customer right).

Shared by the client's streaming player (it reads the header from the first Range answer to
know where the samples are and which byte is which channel) and the server's peaks endpoint
(the waveform without sending the file: server/api/playback.py), so the layout is read in one
place. No numpy here: the client has none (issue #16); the server's peaks use it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PCM = 1
EXTENSIBLE = 0xFFFE
_PCM_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")  # KSDATAFORMAT_SUBTYPE_PCM after its first 2 bytes
HEADER_PROBE = 4096  # the recorder's header is 44 bytes; a file with LIST chunks first still fits


class WavError(ValueError):
    """Not a 16-bit PCM WAV, or its header is not all in the bytes given."""


@dataclass(frozen=True)
class WavFormat:
    channels: int
    rate: int
    sample_width: int  # bytes per sample (2: 16-bit)
    data_start: int  # file offset of the first sample
    data_len: int  # bytes of samples (clipped to the file)

    @property
    def frame_bytes(self) -> int:
        return self.channels * self.sample_width

    @property
    def data_end(self) -> int:
        return self.data_start + self.data_len

    @property
    def duration_s(self) -> float:
        return self.data_len / float(self.frame_bytes * self.rate) if self.rate and self.frame_bytes else 0.0

    def offset_of(self, seconds: float) -> int:
        """The file offset of the frame at ``seconds`` (clamped to the samples)."""
        frame = int(max(0.0, seconds) * self.rate)
        return min(self.data_end, self.data_start + frame * self.frame_bytes)


def parse_header(head: bytes, size: int) -> WavFormat:
    """The format of a WAV whose first bytes are ``head`` and whose file is ``size`` bytes.

    A data size of 0 or 0xFFFFFFFF (a recording cut off before its header was patched) or one
    past the end of the file means "up to the end of the file"."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise WavError("not a RIFF/WAVE file")
    pos, fmt = 12, None
    while pos + 8 <= len(head):
        tag, length = head[pos:pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        body = pos + 8
        if tag == b"fmt ":
            if body + 16 > len(head):
                break
            tag_fmt, channels, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", head, body)
            if tag_fmt == EXTENSIBLE and length >= 40 and body + 40 <= len(head):
                if head[body + 26:body + 40] != _PCM_GUID_TAIL:
                    raise WavError("WAV extensible format that is not PCM")
                tag_fmt = struct.unpack_from("<H", head, body + 24)[0]
            if tag_fmt != PCM or bits != 16 or channels < 1:
                raise WavError(f"only 16-bit PCM is played (format {tag_fmt}, {bits} bits)")
            fmt = (channels, rate)
        elif tag == b"data":
            if fmt is None:
                raise WavError("data before fmt")
            available = max(0, size - body)
            data_len = available if length in (0, 0xFFFFFFFF) or length > available else length
            return WavFormat(fmt[0], fmt[1], 2, body, data_len)
        pos = body + length + (length & 1)  # chunks are word-aligned
    raise WavError("the WAV header is not complete in the bytes read")
