"""Echo cancellation for the agent's devices.

What is possible here, and why this one:

- pjmedia's echo canceller (``EpConfig.medConfig.ecTailLen`` / ``ecOptions``,
  WebRTC or Speex) runs inside pjsua's *sound device port*. With the null sound
  device (the only one the published wheels have) there is no sound port, so
  the setting does nothing for our Qt bridge; pjsua2 does not expose pjmedia's
  echo-canceller object to Python to run it on our frames.
- Qt Multimedia has no echo cancellation for ``QAudioSource``.
- PulseAudio (and PipeWire's pulse server) ship ``module-echo-cancel`` with
  the WebRTC audio-processing engine: it offers a virtual microphone and a
  virtual speaker pair that cancel the speaker's sound from the microphone,
  with the exact playback signal as reference. That is the best canceller on
  Linux, so when the agent turns the setting on we wrap the chosen
  microphone+speaker in it and open our streams on the pair.
- Headsets (the normal case for agents) rarely need it; laptop speakers do.
  On Windows the audio driver's own "communications" processing applies.

The module is loaded with ``pactl`` on the audio thread; if its master device
disappears (headset unplugged) PulseAudio unloads it by itself, and the next
device choice wraps the new pair.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys

log = logging.getLogger(__name__)

EC_SOURCE = "seatmate_ec_source"
EC_SINK = "seatmate_ec_sink"
EC_PREFIX = "seatmate_ec_"


class PulseEchoCanceller:
    def __init__(self) -> None:
        self._pactl = shutil.which("pactl") if sys.platform == "linux" else None
        self._module: int | None = None
        self._pair: tuple[str, str] | None = None

    @property
    def available(self) -> bool:
        return self._pactl is not None

    def wrap(self, mic_id: str, speaker_id: str) -> bool:
        """Make (EC_SOURCE, EC_SINK) cancel ``speaker_id``'s sound from ``mic_id``. True if loaded."""
        if self._pactl is None:
            return False
        if self._pair == (mic_id, speaker_id) and self._loaded():
            return True
        self.unwrap()
        # Only the echo canceller: no analog gain control (it would move the system's
        # microphone volume) and no noise suppression (agents' headsets do their own,
        # and it eats steady sounds); WebRTC's digital gain control stays.
        args = [self._pactl, "load-module", "module-echo-cancel", "aec_method=webrtc", "use_master_format=1",
                "aec_args=\"analog_gain_control=0 digital_gain_control=1 noise_suppression=0\"",
                f"source_master={mic_id}", f"sink_master={speaker_id}",
                f"source_name={EC_SOURCE}", f"sink_name={EC_SINK}",
                "source_properties=\"device.description='Seatmate echo-cancelled microphone'\"",
                "sink_properties=\"device.description='Seatmate echo-cancelled speaker'\""]
        try:
            out = subprocess.run(args, capture_output=True, text=True, timeout=5, check=True).stdout
            self._module = int(out.strip())
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            log.warning("echo cancellation unavailable (module-echo-cancel: %s)", exc)
            return False
        self._pair = (mic_id, speaker_id)
        log.info("echo cancellation on (WebRTC, PulseAudio module %d)", self._module)
        return True

    def _loaded(self) -> bool:
        if self._module is None or self._pactl is None:
            return False
        try:
            out = subprocess.run([self._pactl, "list", "short", "modules"], capture_output=True, text=True,
                                 timeout=5, check=True).stdout
        except (OSError, subprocess.SubprocessError):
            return False
        return any(line.split("\t", 1)[0] == str(self._module) for line in out.splitlines())

    def unwrap(self) -> None:
        module, self._module, self._pair = self._module, None, None
        if module is None or self._pactl is None:
            return
        # Already gone if its master device was unplugged: nothing to report then.
        subprocess.run([self._pactl, "unload-module", str(module)], capture_output=True, timeout=5)
