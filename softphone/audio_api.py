"""The contract between the SIP engine and whoever provides the agent's audio.

The engine (softphone/engine.py) owns the pjsua2 Endpoint on its SIP thread and
knows nothing about sound devices: the published pjsua2 wheels have none. The
engine sets pjsua's null sound device as the bridge's clock; an AgentAudio may
take the bridge's master port instead and clock it itself (the Qt bridge does:
softphone/audio/master_port.py). Audio comes in
through two pluggable factories:

``audio_factory(endpoint) -> AgentAudio``
    Called ONCE on the SIP thread right after ``libInit``/``libStart``.
    The Qt Multimedia implementation lives in softphone/audio/ (AUDIO helper);
    a headless one for tests lives in softphone/tone_audio.py.

``recorder_factory(call_id, agent_media, customer_media) -> Recorder``
    Optional. Called on the SIP thread when a call's audio first becomes
    active. ``call_id`` is the engine's call id (a uuid hex, the same as
    ``CallInfo.call_id``), never a phone number. ``agent_media`` is what the
    agent says (the same object as ``AgentAudio.mic_media()``),
    ``customer_media`` is what the customer says (the call's AudioMedia).
    The engine calls ``Recorder.stop()`` exactly once, on the SIP thread, when
    the call ends or the engine stops (before libDestroy).

Rules for implementers (all methods run on the SIP thread; pjsua2 objects never
leave it):

- ``mic_media()`` / ``speaker_media()`` return the SAME AudioMedia objects for
  the whole life of the AgentAudio (device changes happen behind them). The
  engine connects ``mic -> call`` and ``call -> speaker`` with
  ``startTransmit``; it never deletes these objects: ``close()`` does.
  ``mic_media()`` and ``speaker_media()`` may be the same object (e.g. a single
  bidirectional AudioMediaPort).
- ``ringer_start()`` / ``ringer_stop()`` are idempotent; the engine calls
  ``ringer_start()`` on an incoming (non-monitor) call and ``ringer_stop()``
  when it is answered, rejected or gone.
- ``close()`` is called once, on the SIP thread, after every call is hung up
  and deleted and before ``libDestroy``. After it, nothing else is called.
- Level meters, device choice and hot-plug are the implementation's own
  business (it may expose its own Qt signals to app/ services).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # pjsua2 is imported lazily by the engine; keep this module light
    import pjsua2 as pj


@runtime_checkable
class AgentAudio(Protocol):
    def mic_media(self) -> pj.AudioMedia:
        """What the agent says (source into the conference bridge)."""
        ...

    def speaker_media(self) -> pj.AudioMedia:
        """What the agent hears (sink of the conference bridge)."""
        ...

    def ringer_start(self) -> None: ...

    def ringer_stop(self) -> None: ...

    def close(self) -> None:
        """Release every pjsua2 object; called on the SIP thread before libDestroy."""
        ...


@runtime_checkable
class Recorder(Protocol):
    def stop(self) -> None:
        """Finish the file (idempotent); called on the SIP thread."""
        ...


AudioFactory = Callable[["pj.Endpoint"], AgentAudio]
RecorderFactory = Callable[[str, "pj.AudioMedia", "pj.AudioMedia"], Recorder]

__all__ = ["AgentAudio", "AudioFactory", "Recorder", "RecorderFactory"]
