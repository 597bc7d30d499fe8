"""The embedded demo's customer: a small pjsua2 SIP peer on 127.0.0.1 that answers and talks.

With no server configured, Seatmate starts this process so a newcomer can
work through the whole loop (dial → talk → hang up → wrap-up → next) without
a PBX. It also serves the workspace tests as the "customer".

Who answers, what they say and whether they hang up is a persona (app/demo/personas.py),
chosen per call by ``--behaviour``:
  bydigit   (default) by the last digit of the dialed number, so the demo list shows every
            outcome: 7/2 interested, 1 price objection, 3 refuses and hangs up, 6 busy now
            (says so and hangs up), 4 insured elsewhere, 8 buys, 0 wrong person, 5 busy (486),
            9 no answer (rings until the caller gives up, or 480 after ``--ring-timeout``)
  answer    every call answered by the interested customer, who never hangs up first
  NAME      every call gets persona NAME (interested, price, refuse, busy_now, insured,
            buyer, wrong, busy, noanswer)

A persona that answers speaks its short Chinese lines (8 kHz WAV files in
resources/sounds/demo, made at build time by ``python -m app.demo.voices_build``) into
the call, one per turn: the first right after answering, each next one when the agent has
spoken and paused (the energy of what the agent sends), or after a few quiet seconds, or at
the latest after ``MAX_TURN_S``. A line without its WAV file (or every line, with
``--tone-only``) is a short ``--tone`` burst instead.

Commands on stdin, one per line: ``behaviour NAME`` · ``hangup`` ·
``call_agent [NUMBER]`` (the customer calls the registered agent: an inbound call from
NUMBER, by default the number the agent dialed last, so the agent's customer card pops) · ``quit``.
It also answers REGISTER/OPTIONS on a second UDP port (``registrar_port``
in the ready event), standing in for the PBX's registrar.

Events on stdout, one JSON object per line: ready{port,registrar_port,uri,voices (lines
read from their WAV files)} ·
incoming{call,tail,outcome=persona} · say{call,line,text,why} · state{call,state,code} · bye.

Run: ``python -m app.demo.customer --port 0 --behaviour bydigit``
"""

from __future__ import annotations

import argparse
import array
import contextlib
import json
import math
import os
import queue
import re
import sys
import threading
import time

from app.demo.personas import (
    BEHAVIOURS,
    LINES,
    PERSONAS,
    VOICE_RATE,
    Persona,
    load_pcm,
    persona_for,
    voice_file,
)

FRAME_MS = 20
FRAME_BYTES = VOICE_RATE * FRAME_MS // 1000 * 2
# Turn-taking: the customer's next line comes when the agent has spoken (SPEECH_MIN_S of
# frames above SPEECH_RMS) and then paused for PAUSE_S; or after QUIET_S if the agent said
# nothing; or at the latest MAX_TURN_S after its previous line (a noisy line, a tone "mic").
FIRST_LINE_DELAY_S = 0.4  # "喂" a breath after picking up
SPEECH_RMS = 500.0  # of 32767: well above a quiet headset's noise, well below speech
SPEECH_MIN_S = 0.3
PAUSE_S = 0.8
QUIET_S = 4.0
MAX_TURN_S = 12.0
ECHO_HOLDOFF_S = 0.3  # ignore what comes back right after its own line
HANGUP_AFTER_S = 0.8  # a persona that hangs up does so this long after its last line

_OUT = None
_OUT_LOCK = threading.Lock()


def emit(event: str, **fields: object) -> None:
    with _OUT_LOCK:
        _OUT.write(json.dumps({"event": event, **fields}) + "\n")
        _OUT.flush()


def load_voices(tone_hz: int = 350, tone_only: bool = False) -> tuple[dict[str, bytes], int]:
    """Every line's PCM and how many came from their WAV files; a line whose file is missing
    (or all, with ``tone_only``) is a short tone burst instead (silence with ``tone_hz`` 0),
    so the call flow stays the same."""
    voices, loaded = {}, 0
    for key in LINES:
        pcm = None if tone_only else load_pcm(voice_file(key))
        loaded += bool(pcm)
        voices[key] = pcm or tone_pcm(0.8, tone_hz)
    return voices, loaded


def frame_rms(data: bytes) -> float:
    if len(data) < 2:
        return 0.0
    samples = array.array("h", data[: len(data) // 2 * 2])
    if sys.byteorder != "little":
        samples.byteswap()
    return math.sqrt(sum(v * v for v in samples) / len(samples))


class Conversation:
    """One answered call's script: which line comes next and when (main thread only; the
    port's frame callbacks run on the media clock's thread and only touch the port)."""

    def __init__(self, persona: Persona, voices: dict[str, bytes]) -> None:
        self.persona = persona
        self.voices = voices
        self.port = None  # VoicePort once the call's media is up
        self.step = 0
        self.start_at = 0.0
        self.saying = False
        self.line_ended_at = 0.0
        self.hangup_at: float | None = None

    def media_up(self, port, now: float) -> None:  # type: ignore[no-untyped-def]
        if self.port is None:
            self.port = port
            self.start_at = now + FIRST_LINE_DELAY_S

    def tick(self, now: float) -> tuple[str, str, str] | None:
        """("say", key, why) when a line starts now, ("hangup", "", "") when the customer hangs up.
        why: "first" (just answered), "pause" (the agent spoke and paused), "quiet" (the agent
        said nothing), "timeout" (MAX_TURN_S)."""
        port = self.port
        if port is None:
            return None
        if self.saying:
            if port.speaking:
                return None
            self.saying = False
            self.line_ended_at = now
            port.listen(now + ECHO_HOLDOFF_S)
            if self.step >= len(self.persona.lines) and self.persona.hangs_up:
                self.hangup_at = now + HANGUP_AFTER_S
        if self.hangup_at is not None:
            if now >= self.hangup_at:
                self.hangup_at = None
                self.step = len(self.persona.lines) + 1  # said and done
                return ("hangup", "", "")
            return None
        if self.step >= len(self.persona.lines):
            return None
        if self.step == 0:
            why = "first" if now >= self.start_at else ""
        else:
            waited = now - self.line_ended_at
            spoke = port.voiced_s >= SPEECH_MIN_S
            why = ("timeout" if waited >= MAX_TURN_S else "pause" if spoke and now - port.last_voice >= PAUSE_S
                   else "quiet" if not spoke and waited >= QUIET_S else "")
        if not why:
            return None
        key = self.persona.lines[self.step]
        self.step += 1
        self.saying = True
        port.say(self.voices[key])
        return ("say", key, why)


def tone_pcm(seconds: float, hz: float = 350.0) -> bytes:
    """A stand-in for a line whose WAV file is missing."""
    n = int(VOICE_RATE * seconds)
    samples = array.array("h", (int(8000 * math.sin(2 * math.pi * hz * i / VOICE_RATE)) for i in range(n)))
    # (hz 0 gives silence)
    if sys.byteorder != "little":
        samples.byteswap()
    return samples.tobytes()


def _user_of(uri_header: str) -> str:
    m = re.search(r"sips?:([^@;>]+)", uri_header)
    return m.group(1) if m else ""


def sip_ok(request: bytes) -> bytes | None:
    """A 200 OK for a REGISTER or OPTIONS (the demo's stand-in registrar); None for anything else."""
    try:
        text = request.decode("utf-8", "replace")
    except Exception:
        return None
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    if not head or head[0].split(" ", 1)[0] not in ("REGISTER", "OPTIONS"):
        return None
    keep = []
    expires = "120"
    for line in head[1:]:
        name = line.split(":", 1)[0].strip().lower()
        if name in ("via", "v", "from", "f", "call-id", "i", "cseq"):
            keep.append(line)
        elif name in ("to", "t"):
            keep.append(line if ";tag=" in line else line + ";tag=demo")
        elif name in ("contact", "m") and head[0].startswith("REGISTER"):
            keep.append(line)
        elif name == "expires":
            expires = line.split(":", 1)[1].strip()
    if head[0].startswith("REGISTER"):
        keep.append(f"Expires: {expires}")
    return ("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode()


AGENT_CONTACT: list[str] = []  # the last Contact the agent's softphone registered


def start_registrar(bind: str) -> tuple[int, threading.Event]:
    """A UDP responder that accepts every REGISTER/OPTIONS: the agent's softphone needs a registrar."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((bind, 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, addr = sock.recvfrom(65535)
            except OSError:
                continue
            reply = sip_ok(data)
            contact = re.search(rb"\r\n(?:Contact|m):[^<\r\n]*<(sips?:[^>]+)>", data)
            if reply is not None and contact and data.startswith(b"REGISTER"):
                AGENT_CONTACT[:] = [contact.group(1).decode("utf-8", "replace")]
            if reply is not None:
                with contextlib.suppress(OSError):
                    sock.sendto(reply, addr)
        sock.close()

    threading.Thread(target=serve, name="demo-registrar", daemon=True).start()
    return sock.getsockname()[1], stop


def run(args: argparse.Namespace) -> int:
    import pjsua2 as pj  # imported here: the GUI process never loads a second Endpoint

    class Customer:
        def __init__(self) -> None:
            self.ep = pj.Endpoint()
            self.calls: dict[int, DemoCall] = {}
            self.dead: list[DemoCall] = []
            self.timers: list[tuple[float, object]] = []
            self.behaviour = args.behaviour
            self.voices, self.voice_files = load_voices(args.tone, args.tone_only)
            self.talks: dict[int, Conversation] = {}
            # Ports of ended calls, kept for the next call instead of deleted: deleting a director
            # port races the conference clock thread still calling onFrameReceived (a segfault
            # seen under load), and a handful of idle ports costs nothing.
            self.ports: list[VoicePort] = []
            self.running = True
            self.account: DemoAccount | None = None
            self.last_dialed = ""  # the number the agent called last: a call back comes from it

        def start(self) -> int:
            self.ep.libCreate()
            cfg = pj.EpConfig()
            cfg.uaConfig.threadCnt = 0
            cfg.uaConfig.mainThreadOnly = True
            cfg.uaConfig.maxCalls = 8
            cfg.uaConfig.userAgent = "seatmate-demo-customer"
            cfg.logConfig.level = 0
            cfg.logConfig.consoleLevel = 0
            cfg.medConfig.noVad = True
            cfg.medConfig.clockRate = VOICE_RATE  # the lines are 8 kHz, like the G.711 call
            cfg.medConfig.sndClockRate = VOICE_RATE
            self.ep.libInit(cfg)
            tcfg = pj.TransportConfig()
            tcfg.boundAddress = args.bind
            tcfg.publicAddress = args.bind
            tcfg.port = args.port
            tid = self.ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
            self.ep.libStart()
            self.ep.audDevManager().setNullDev()
            port = int(self.ep.transportGetInfo(tid).localName.rsplit(":", 1)[1])
            acfg = pj.AccountConfig()
            acfg.idUri = f"sip:customer@{args.bind}:{port}"
            acfg.regConfig.registerOnAdd = False
            acfg.sipConfig.transportId = tid
            acfg.mediaConfig.transportConfig.boundAddress = args.bind
            acfg.mediaConfig.transportConfig.publicAddress = args.bind
            acfg.natConfig.sdpNatRewriteUse = False
            acfg.natConfig.contactRewriteUse = False
            acfg.natConfig.viaRewriteUse = False
            self.account = DemoAccount(self)
            self.account.create(acfg, True)
            return port

        def later(self, delay: float, fn) -> None:
            self.timers.append((time.monotonic() + delay, fn))

        def respond(self, call_id: int, code: int) -> None:
            call = self.calls.get(call_id)
            if call is None:
                return
            prm = pj.CallOpParam()
            prm.statusCode = code
            with contextlib.suppress(pj.Error):
                if code < 300:
                    call.answer(prm)
                else:
                    call.hangup(prm)

        def call_agent(self, number: str = "") -> None:
            """The customer calls back (an inbound call for the agent), presenting ``number``
            (or the one the agent dialed last) as P-Asserted-Identity, as a carrier would."""
            if not AGENT_CONTACT or self.account is None:
                emit("error", msg="no agent registered")
                return
            number = number or self.last_dialed
            prm = pj.CallOpParam(True)
            if re.fullmatch(r"\+?\d{3,20}", number):
                pai = pj.SipHeader()
                pai.hName = "P-Asserted-Identity"
                pai.hValue = f"<sip:{number}@{args.bind}>"
                prm.txOption.headers.append(pai)
            call = DemoCall(self, self.account, pj.PJSUA_INVALID_ID)
            try:
                call.makeCall(AGENT_CONTACT[0], prm)
            except pj.Error as exc:
                emit("error", msg=f"call failed: {exc.reason}")
                return
            self.calls[call.getId()] = call
            self.talks[call.getId()] = Conversation(PERSONAS["caller"], self.voices)
            emit("calling", call=call.getId())

        def hangup_all(self) -> None:
            for call in list(self.calls.values()):
                with contextlib.suppress(pj.Error):
                    call.hangup(pj.CallOpParam())

        def command(self, line: str) -> None:
            parts = line.split()
            if not parts:
                return
            if parts[0] == "quit":
                self.running = False
            elif parts[0] == "behaviour" and len(parts) > 1 and parts[1] in BEHAVIOURS:
                self.behaviour = parts[1]
                emit("behaviour", value=self.behaviour)
            elif parts[0] == "hangup":
                self.hangup_all()
            elif parts[0] == "call_agent":
                self.call_agent(parts[1] if len(parts) > 1 else "")
            elif parts[0] == "ping":
                emit("pong")

        def loop(self, commands: queue.Queue[str]) -> None:
            while self.running:
                self.ep.libHandleEvents(10)
                while True:
                    try:
                        self.command(commands.get_nowait())
                    except queue.Empty:
                        break
                now = time.monotonic()
                for entry in [t for t in self.timers if t[0] <= now]:
                    self.timers.remove(entry)
                    entry[1]()
                self.converse(now)
                while self.dead:
                    call = self.dead.pop()
                    del call

        def converse(self, now: float) -> None:
            for call_id, talk in list(self.talks.items()):
                action = talk.tick(now)
                if action is None:
                    continue
                if action[0] == "say":
                    emit("say", call=call_id, line=action[1], text=LINES[action[1]].text, why=action[2])
                elif action[0] == "hangup":
                    self.respond_bye(call_id)

        def shutdown(self) -> None:
            self.hangup_all()
            deadline = time.monotonic() + 2
            while self.calls and time.monotonic() < deadline:
                self.ep.libHandleEvents(10)
            self.calls.clear()
            self.dead.clear()
            self.talks.clear()
            self.ports.clear()
            if self.account is not None:
                with contextlib.suppress(pj.Error):
                    self.account.shutdown()
                self.account = None
            self.ep.libDestroy()
            emit("bye")

    class DemoAccount(pj.Account):
        def __init__(self, owner: Customer) -> None:
            super().__init__()
            self.owner = owner

        def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
            owner = self.owner
            call = DemoCall(owner, self, prm.callId)
            owner.calls[prm.callId] = call
            first_line = prm.rdata.wholeMsg.split("\r\n", 1)[0]
            user = _user_of(first_line)
            persona = persona_for(owner.behaviour, user)
            owner.last_dialed = user
            # Only the last digits: the demo never logs a full number either.
            emit("incoming", call=prm.callId, tail=re.sub(r"\D", "", user)[-4:], outcome=persona.name)
            ring = pj.CallOpParam()
            ring.statusCode = 180
            call.answer(ring)
            cid = prm.callId
            if persona.answers:
                owner.talks[cid] = Conversation(persona, owner.voices)
                owner.later(args.answer_delay, lambda: owner.respond(cid, 200))
            elif persona.reject == 486:
                owner.later(min(args.answer_delay, 1.0), lambda: owner.respond(cid, 486))
            else:
                owner.later(args.ring_timeout, lambda: owner.respond(cid, persona.reject))

    class DemoCall(pj.Call):
        def __init__(self, owner: Customer, acc: pj.Account, call_id: int) -> None:
            super().__init__(acc, call_id)
            self.owner = owner

        def onCallState(self, prm: pj.OnCallStateParam) -> None:
            ci = self.getInfo()
            emit("state", call=ci.id, state=ci.stateText, code=ci.lastStatusCode)
            if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
                self.owner.calls.pop(ci.id, None)
                self.owner.dead.append(self)
                talk = self.owner.talks.pop(ci.id, None)
                if talk is not None and talk.port is not None:
                    talk.port.say(b"")
                    talk.port.listen(float("inf"))
                    self.owner.ports.append(talk.port)
                talk = None
            elif ci.state == pj.PJSIP_INV_STATE_CONFIRMED and args.max_talk > 0:
                cid = ci.id
                self.owner.later(args.max_talk, lambda: self.owner.respond_bye(cid))

        def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
            ci = self.getInfo()  # keep ci alive while reading ci.media
            talk = self.owner.talks.get(ci.id)
            if talk is None:
                return
            for i, media in enumerate(ci.media):
                if media.type != pj.PJMEDIA_TYPE_AUDIO or media.status != pj.PJSUA_CALL_MEDIA_ACTIVE:
                    continue
                with contextlib.suppress(pj.Error):
                    call_media = self.getAudioMedia(i)
                    port = talk.port
                    if port is None:
                        port = self.owner.ports.pop() if self.owner.ports else VoicePort(f"voice{ci.id}")
                    port.startTransmit(call_media)  # the customer's lines → the agent
                    call_media.startTransmit(port)  # the agent → the customer's ears
                    talk.media_up(port, time.monotonic())

    class VoicePort(pj.AudioMediaPort):
        """Plays the current line into the call and measures what the agent sends.

        Its callbacks run on the media clock's thread: they only swap a few attributes
        (under a lock), and never raise into pjsua2 (that would abort the process)."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.lock = threading.Lock()
            self.pcm = b""
            self.pos = 0
            self.listen_from = 0.0
            self.voiced_s = 0.0  # agent speech since listen()
            self.last_voice = 0.0
            fmt = pj.MediaFormatAudio()
            fmt.init(pj.PJMEDIA_FORMAT_PCM, VOICE_RATE, 1, FRAME_MS * 1000, 16)
            self.createPort(name, fmt)

        @property
        def speaking(self) -> bool:
            with self.lock:
                return self.pos < len(self.pcm)

        def say(self, pcm: bytes) -> None:
            with self.lock:
                self.pcm, self.pos = pcm, 0

        def listen(self, start: float) -> None:
            with self.lock:
                self.listen_from = start
                self.voiced_s = 0.0
                self.last_voice = 0.0

        def onFrameRequested(self, frame: pj.MediaFrame) -> None:
            try:
                with self.lock:
                    chunk = self.pcm[self.pos:self.pos + FRAME_BYTES]
                    self.pos += FRAME_BYTES
                if len(chunk) < FRAME_BYTES:
                    chunk += bytes(FRAME_BYTES - len(chunk))
                frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
                frame.buf = pj.ByteVector(chunk)
            except Exception:  # never into pjsua2's C++
                pass

        def onFrameReceived(self, frame: pj.MediaFrame) -> None:
            try:
                if frame.type != pj.PJMEDIA_FRAME_TYPE_AUDIO or not frame.size:
                    return
                now = time.monotonic()
                if now < self.listen_from or self.pos < len(self.pcm):
                    return
                if frame_rms(bytes(frame.buf)) >= SPEECH_RMS:
                    with self.lock:
                        self.voiced_s += FRAME_MS / 1000
                        self.last_voice = now
            except Exception:
                pass

    def respond_bye(self: Customer, call_id: int) -> None:
        call = self.calls.get(call_id)
        if call is not None:
            with contextlib.suppress(pj.Error):
                call.hangup(pj.CallOpParam())

    Customer.respond_bye = respond_bye  # type: ignore[attr-defined]

    customer = Customer()
    port = customer.start()
    reg_port, reg_stop = start_registrar(args.bind)
    emit("ready", port=port, registrar_port=reg_port, uri=f"sip:customer@{args.bind}:{port}",
         voices=customer.voice_files)
    commands: queue.Queue[str] = queue.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            commands.put(line.strip())
        commands.put("quit")  # stdin closed: the app is gone

    threading.Thread(target=read_stdin, daemon=True).start()
    try:
        customer.loop(commands)
    finally:
        reg_stop.set()
        customer.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    global _OUT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--behaviour", choices=BEHAVIOURS, default="bydigit")
    ap.add_argument("--tone-only", action="store_true", help="a tone instead of the voice lines")
    ap.add_argument("--answer-delay", type=float, default=1.5)
    ap.add_argument("--ring-timeout", type=float, default=30.0)
    ap.add_argument("--max-talk", type=float, default=600.0, help="the customer hangs up after this long")
    ap.add_argument("--tone", type=int, default=350, help="Hz of a line's stand-in tone (0: silence)")
    args = ap.parse_args(argv)
    # pjlib writes its banner to fd 1 before any config applies: keep a private
    # copy of stdout for our JSON events and point fd 1 at stderr.
    _OUT = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
