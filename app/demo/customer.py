"""The embedded demo's customer: a small pjsua2 SIP peer on 127.0.0.1 that answers calls.

With no server configured, Seatmate starts this process so a newcomer can
work through the whole loop (dial → talk → hang up → wrap-up → next) without
a PBX. It also serves the workspace tests as the "customer".

Behaviour per call (``--behaviour``):
  answer    ring, then answer after ``--answer-delay`` seconds and play a tone
  busy      ring briefly, then 486 Busy Here
  noanswer  ring until the caller gives up (or 480 after ``--ring-timeout``)
  bydigit   decided by the last digit of the dialed number, so a demo list
            shows every outcome: 0 → busy, 7 → no answer, anything else → answer

Commands on stdin, one per line: ``behaviour NAME`` · ``hangup`` ·
``call_agent [NUMBER]`` (the customer calls the registered agent: an inbound call from
NUMBER, by default the number the agent dialed last, so the agent's customer card pops) · ``quit``.
It also answers REGISTER/OPTIONS on a second UDP port (``registrar_port``
in the ready event), standing in for the PBX's registrar.

Events on stdout, one JSON object per line: ready{port,registrar_port} · incoming{call,user}
· state{call,state,code} · bye.

Run: ``python -m app.demo.customer --port 0 --behaviour bydigit``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import re
import sys
import threading
import time

BEHAVIOURS = ("answer", "busy", "noanswer", "bydigit")

_OUT = None
_OUT_LOCK = threading.Lock()


def emit(event: str, **fields: object) -> None:
    with _OUT_LOCK:
        _OUT.write(json.dumps({"event": event, **fields}) + "\n")
        _OUT.flush()


def decide(behaviour: str, dialed_user: str) -> str:
    if behaviour != "bydigit":
        return behaviour
    digits = re.sub(r"\D", "", dialed_user)
    last = digits[-1:] or "1"
    return {"0": "busy", "7": "noanswer"}.get(last, "answer")


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
            self.tone: pj.ToneGenerator | None = None
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
            if args.tone:
                self.tone = pj.ToneGenerator()
                self.tone.createToneGenerator(16000, 1)
                desc = pj.ToneDesc()
                desc.freq1 = args.tone
                desc.freq2 = 0
                desc.on_msec = 800
                desc.off_msec = 400  # a voice-like rhythm rather than a steady beep
                desc.volume = 0
                tones = pj.ToneDescVector()
                tones.append(desc)
                self.tone.play(tones, True)
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
                while self.dead:
                    call = self.dead.pop()
                    del call

        def shutdown(self) -> None:
            self.hangup_all()
            deadline = time.monotonic() + 2
            while self.calls and time.monotonic() < deadline:
                self.ep.libHandleEvents(10)
            self.calls.clear()
            self.dead.clear()
            if self.tone is not None:
                self.tone.stop()
                del self.tone
                self.tone = None
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
            outcome = decide(owner.behaviour, user)
            owner.last_dialed = user
            # Only the last digits: the demo never logs a full number either.
            emit("incoming", call=prm.callId, tail=re.sub(r"\D", "", user)[-4:], outcome=outcome)
            ring = pj.CallOpParam()
            ring.statusCode = 180
            call.answer(ring)
            cid = prm.callId
            if outcome == "answer":
                owner.later(args.answer_delay, lambda: owner.respond(cid, 200))
            elif outcome == "busy":
                owner.later(min(args.answer_delay, 1.0), lambda: owner.respond(cid, 486))
            else:
                owner.later(args.ring_timeout, lambda: owner.respond(cid, 480))

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
            elif ci.state == pj.PJSIP_INV_STATE_CONFIRMED and args.max_talk > 0:
                cid = ci.id
                self.owner.later(args.max_talk, lambda: self.owner.respond_bye(cid))

        def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
            if self.owner.tone is None:
                return
            ci = self.getInfo()  # keep ci alive while reading ci.media
            for i, media in enumerate(ci.media):
                if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                    with contextlib.suppress(pj.Error):
                        self.owner.tone.startTransmit(self.getAudioMedia(i))

    def respond_bye(self: Customer, call_id: int) -> None:
        call = self.calls.get(call_id)
        if call is not None:
            with contextlib.suppress(pj.Error):
                call.hangup(pj.CallOpParam())

    Customer.respond_bye = respond_bye  # type: ignore[attr-defined]

    customer = Customer()
    port = customer.start()
    reg_port, reg_stop = start_registrar(args.bind)
    emit("ready", port=port, registrar_port=reg_port, uri=f"sip:customer@{args.bind}:{port}")
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
    ap.add_argument("--answer-delay", type=float, default=1.5)
    ap.add_argument("--ring-timeout", type=float, default=30.0)
    ap.add_argument("--max-talk", type=float, default=600.0, help="the customer hangs up after this long")
    ap.add_argument("--tone", type=int, default=350)
    args = ap.parse_args(argv)
    # pjlib writes its banner to fd 1 before any config applies: keep a private
    # copy of stdout for our JSON events and point fd 1 at stderr.
    _OUT = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
