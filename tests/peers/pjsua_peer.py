"""A standalone pjsua2 SIP peer (null sound device) driven by the tests.

It plays the customer or the team leader. One process, one Endpoint, UDP (or
TCP) on loopback. Everything it does is reported as one JSON object per line on
stdout; commands arrive one per line on stdin.

Run: ``python tests/peers/pjsua_peer.py --port 0 --user cust --tone 440 --auto-answer 200``

Options
  --bind ADDR            local address (127.0.0.1)
  --port N               SIP port, 0 = any free port (default 0)
  --transport udp|tcp    (udp)
  --user NAME            user part of our URI (peer)
  --register URI         registrar (e.g. sip:127.0.0.1:5060), with --password, --realm, --auth-user
  --auto-answer CODE     answer incoming calls with CODE (200, 486, 603…); none = ring (180) and wait
  --answer-delay S       wait S seconds (ringing) before the auto answer
  --tone HZ              play a sine of HZ into every call (0 = silence)
  --record PATH          record what we hear (all calls mixed) to a WAV file
  --call URI             place a call at start-up (after registration if --register)
  --header 'Name: value' extra header for --call (repeatable)
  --max-calls N          maxCalls (default 8)
  --srtp off|optional|mandatory   SRTP use (SDES keys; no secure signalling required)

Events (stdout): ready{port,uri} · reg{code,active} · incoming{call,from,headers}
  · state{call,state,code,reason} · media{call,active} · dtmf{call,digit,method}
  · transfer{call,dst} · replaced{call,new_call} · tsx{call,method,code} · recorded{path} · error{msg} · bye
Commands (stdin): hangup [CALL] · answer [CODE] [CALL] · call URI [Header: v]… ·
  reinvite [Header: v]… · tone HZ · record PATH · record_stop · dtmf DIGITS · quit
CALL defaults to the most recent call.
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

import pjsua2 as pj

_OUT_LOCK = threading.Lock()
# pjlib prints its start-up log on fd 1 before any config applies: keep a private
# copy of stdout for the JSON events and point fd 1 at stderr.
_EVENTS = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)


def emit(event: str, **fields: object) -> None:
    with _OUT_LOCK:
        _EVENTS.write(json.dumps({"event": event, **fields}) + "\n")
        _EVENTS.flush()


def parse_headers(whole_msg: str) -> dict[str, str]:
    head = whole_msg.split("\r\n\r\n", 1)[0]
    out: dict[str, str] = {}
    for line in head.split("\r\n")[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            out[name.strip()] = value.strip()
    return out


def guarded(fn):
    """An exception escaping a pjsua2 callback aborts the process (std::terminate): report it."""

    def wrapper(*args):
        try:
            fn(*args)
        except Exception as exc:
            emit("error", msg=f"{fn.__name__}: {type(exc).__name__}: {exc}")
    wrapper.__name__ = fn.__name__
    return wrapper


def _wav_finished(path: str | None) -> bool:
    try:
        with open(path or "", "rb") as f:
            head = f.read(44)
    except OSError:
        return False
    return len(head) == 44 and int.from_bytes(head[40:44], "little") > 0


class Peer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.ep = pj.Endpoint()
        self.calls: dict[int, PeerCall] = {}
        self.last_call: int | None = None
        self.dead: list[PeerCall] = []
        self.timers: list[tuple[float, object]] = []
        self.tone_hz = args.tone
        self.tone: pj.ToneGenerator | None = None
        self.recorder: pj.AudioMediaRecorder | None = None
        self.record_path: str | None = None
        self.account: PeerAccount | None = None
        self.pending_call: tuple[str, list[str]] | None = None
        self.running = True

    # ---- set-up -------------------------------------------------------------------
    def start(self) -> None:
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.maxCalls = self.args.max_calls
        cfg.uaConfig.userAgent = "seatmate-test-peer"
        cfg.logConfig.level = self.args.log_level
        cfg.logConfig.consoleLevel = self.args.log_level
        cfg.medConfig.hasIoqueue = True
        cfg.medConfig.noVad = True
        self.ep.libInit(cfg)
        tcfg = pj.TransportConfig()
        tcfg.boundAddress = self.args.bind
        tcfg.publicAddress = self.args.bind
        tcfg.port = self.args.port
        ttype = pj.PJSIP_TRANSPORT_TCP if self.args.transport == "tcp" else pj.PJSIP_TRANSPORT_UDP
        tid = self.ep.transportCreate(ttype, tcfg)
        self.ep.libStart()
        self.ep.audDevManager().setNullDev()
        port = int(self.ep.transportGetInfo(tid).localName.rsplit(":", 1)[1])
        self.port = port
        acfg = pj.AccountConfig()
        tparam = ";transport=tcp" if self.args.transport == "tcp" else ""
        if self.args.register:
            host = self.args.register.split(":", 1)[1].split(";")[0]
            acfg.idUri = f"sip:{self.args.user}@{host.split(':')[0]}"
            acfg.regConfig.registrarUri = self.args.register
            acfg.regConfig.retryIntervalSec = 5
            acfg.regConfig.firstRetryIntervalSec = 1
            cred = pj.AuthCredInfo("digest", self.args.realm, self.args.auth_user or self.args.user, 0,
                                   self.args.password)
            acfg.sipConfig.authCreds.append(cred)
        else:
            acfg.idUri = f"sip:{self.args.user}@{self.args.bind}:{port}{tparam}"
            acfg.regConfig.registerOnAdd = False
        acfg.sipConfig.transportId = tid
        acfg.mediaConfig.transportConfig.boundAddress = self.args.bind
        acfg.mediaConfig.transportConfig.publicAddress = self.args.bind
        acfg.mediaConfig.srtpUse = {"off": pj.PJMEDIA_SRTP_DISABLED, "optional": pj.PJMEDIA_SRTP_OPTIONAL,
                                    "mandatory": pj.PJMEDIA_SRTP_MANDATORY}[self.args.srtp]
        acfg.mediaConfig.srtpSecureSignaling = 0
        acfg.natConfig.sdpNatRewriteUse = False
        acfg.natConfig.contactRewriteUse = False
        acfg.natConfig.viaRewriteUse = False
        self.account = PeerAccount(self)
        self.account.create(acfg, True)
        if self.tone_hz:
            self._make_tone(self.tone_hz)
        if self.args.record:
            self.start_record(self.args.record)
        emit("ready", port=port, uri=f"sip:{self.args.user}@{self.args.bind}:{port}{tparam}")
        if self.args.call:
            if self.args.register:
                self.pending_call = (self.args.call, self.args.header)
            else:
                self.place_call(self.args.call, self.args.header)

    # ---- audio --------------------------------------------------------------------
    def _make_tone(self, hz: int) -> None:
        if self.tone is not None:
            for call in self.calls.values():
                with contextlib.suppress(pj.Error):
                    self.tone.stopTransmit(call.audio_media())
            self.tone.stop()
            del self.tone
            self.tone = None
        if not hz:
            return
        self.tone = pj.ToneGenerator()
        self.tone.createToneGenerator(16000, 1)
        desc = pj.ToneDesc()
        desc.freq1 = hz
        desc.freq2 = 0
        desc.on_msec = 30000
        desc.off_msec = 0
        desc.volume = 0
        tones = pj.ToneDescVector()
        tones.append(desc)
        self.tone.play(tones, True)
        for call in self.calls.values():
            if call.media_active:
                self.tone.startTransmit(call.audio_media())

    def start_record(self, path: str) -> None:
        self.stop_record()
        self.recorder = pj.AudioMediaRecorder()
        self.recorder.createRecorder(path)
        self.record_path = path
        for call in self.calls.values():
            if call.media_active:
                call.audio_media().startTransmit(self.recorder)

    def stop_record(self) -> None:
        if self.recorder is not None:
            rec, self.recorder = self.recorder, None
            del rec  # the destructor removes the port; the WAV header is written when the
            # conference bridge really drops it (asynchronously, on its clock, since pjsip 2.14)
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline and not _wav_finished(self.record_path):
                self.ep.libHandleEvents(10)
            emit("recorded", path=self.record_path)

    def connect_media(self, call: PeerCall) -> None:
        am = call.audio_media()
        if self.tone is not None:
            self.tone.startTransmit(am)
        if self.recorder is not None:
            am.startTransmit(self.recorder)

    # ---- calls --------------------------------------------------------------------
    def place_call(self, uri: str, headers: list[str]) -> None:
        call = PeerCall(self, self.account)
        prm = pj.CallOpParam(True)
        for raw in headers:
            name, value = raw.split(":", 1)
            hdr = pj.SipHeader()
            hdr.hName = name.strip()
            hdr.hValue = value.strip()
            prm.txOption.headers.append(hdr)
        try:
            call.makeCall(uri, prm)
        except pj.Error as exc:
            emit("error", msg=f"makeCall failed: {exc.reason}")
            return
        cid = call.getId()
        self.calls[cid] = call
        self.last_call = cid
        emit("calling", call=cid, uri=uri)

    def answer(self, call_id: int, code: int) -> None:
        call = self.calls.get(call_id)
        if call is None:
            return
        prm = pj.CallOpParam()
        prm.statusCode = code
        try:
            call.answer(prm) if code < 300 or code == 180 else call.hangup(prm)
        except pj.Error as exc:
            emit("error", msg=f"answer failed: {exc.reason}")

    def hangup(self, call_id: int | None) -> None:
        ids = [call_id] if call_id is not None else list(self.calls)
        for cid in ids:
            call = self.calls.get(cid)
            if call is not None:
                with contextlib.suppress(pj.Error):
                    call.hangup(pj.CallOpParam())

    # ---- loop ---------------------------------------------------------------------
    def handle_command(self, line: str) -> None:
        parts = line.strip().split()
        if not parts:
            return
        cmd, rest = parts[0], parts[1:]
        if cmd == "quit":
            self.running = False
        elif cmd == "hangup":
            self.hangup(int(rest[0]) if rest else None)
        elif cmd == "answer":
            code = int(rest[0]) if rest else 200
            cid = int(rest[1]) if len(rest) > 1 else self.last_call
            if cid is not None:
                self.answer(cid, code)
        elif cmd == "call":
            uri = rest[0]
            headers = re.findall(r"(\S+:\s*\S+)", line.split(None, 2)[2]) if len(rest) > 1 else []
            self.place_call(uri, headers)
        elif cmd == "reinvite" and self.last_call in self.calls:
            headers = re.findall(r"(\S+:\s*\S+)", line.split(None, 1)[1]) if rest else []
            prm = pj.CallOpParam(True)
            for raw in headers:
                name, value = raw.split(":", 1)
                hdr = pj.SipHeader()
                hdr.hName = name.strip()
                hdr.hValue = value.strip()
                prm.txOption.headers.append(hdr)
            try:
                self.calls[self.last_call].reinvite(prm)
            except pj.Error as exc:
                emit("error", msg=f"reinvite failed: {exc.reason}")
        elif cmd == "tone":
            self._make_tone(int(rest[0]) if rest else 0)
        elif cmd == "record":
            self.start_record(rest[0])
        elif cmd == "record_stop":
            self.stop_record()
        elif cmd == "dtmf" and self.last_call in self.calls:
            with contextlib.suppress(pj.Error):
                self.calls[self.last_call].dialDtmf(rest[0])
        elif cmd == "ping":
            emit("pong")
        else:
            emit("error", msg=f"unknown command {cmd}")

    def run(self, commands: queue.Queue[str]) -> None:
        while self.running:
            self.ep.libHandleEvents(10)
            while True:
                try:
                    line = commands.get_nowait()
                except queue.Empty:
                    break
                self.handle_command(line)
            now = time.monotonic()
            due = [t for t in self.timers if t[0] <= now]
            for t in due:
                self.timers.remove(t)
                t[1]()  # type: ignore[operator]
            while self.dead:
                call = self.dead.pop()
                del call

    def shutdown(self) -> None:
        self.hangup(None)
        deadline = time.monotonic() + 2
        while self.calls and time.monotonic() < deadline:
            self.ep.libHandleEvents(10)
        self.stop_record()
        self._make_tone(0)
        self.calls.clear()
        self.dead.clear()
        if self.account is not None:
            # Unregister and wait (bounded) for the final answer: the registrar challenges the
            # un-REGISTER too, and a stale contact would make it fork later calls to a dead port.
            with contextlib.suppress(pj.Error):
                if self.args.register and self.account.getInfo().regIsActive:
                    self.account.reg_events = 0
                    self.account.setRegistration(False)
                    deadline = time.monotonic() + 1.5
                    while self.account.reg_events == 0 and time.monotonic() < deadline:
                        self.ep.libHandleEvents(10)
            with contextlib.suppress(pj.Error):
                self.account.shutdown()
            self.account = None
        self.ep.libDestroy(pj.PJSUA_DESTROY_NO_RX_MSG)  # skip pjsua's fixed 1 s wait
        emit("bye")


class PeerAccount(pj.Account):
    def __init__(self, peer: Peer) -> None:
        super().__init__()
        self.peer = peer

    reg_events = 0

    @guarded
    def onRegState(self, prm: pj.OnRegStateParam) -> None:
        self.reg_events += 1
        info = self.getInfo()
        emit("reg", code=prm.code, active=info.regIsActive, reason=prm.reason)
        if info.regIsActive and self.peer.pending_call is not None:
            uri, headers = self.peer.pending_call
            self.peer.pending_call = None
            self.peer.timers.append((0.0, lambda: self.peer.place_call(uri, headers)))

    @guarded
    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        peer = self.peer
        call = PeerCall(peer, self, prm.callId)
        peer.calls[prm.callId] = call
        peer.last_call = prm.callId
        headers = parse_headers(prm.rdata.wholeMsg)
        emit("incoming", call=prm.callId, headers={k: v for k, v in headers.items()
                                                   if k.lower().startswith("x-")},
             **{"from": headers.get("From", "")})
        ring = pj.CallOpParam()
        ring.statusCode = 180
        call.answer(ring)
        code = peer.args.auto_answer
        if code:
            cid = prm.callId
            peer.timers.append((time.monotonic() + peer.args.answer_delay, lambda: peer.answer(cid, code)))


class PeerCall(pj.Call):
    def __init__(self, peer: Peer, acc: pj.Account, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(acc, call_id)
        self.peer = peer
        self.media_active = False

    def audio_media(self) -> pj.AudioMedia:
        ci = self.getInfo()  # keep ci alive while reading ci.media (see PEERS.md)
        for i, media in enumerate(ci.media):
            if media.type == pj.PJMEDIA_TYPE_AUDIO:
                return self.getAudioMedia(i)
        raise pj.Error(0, "no audio", "", "", 0)

    @guarded
    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        ci = self.getInfo()
        emit("state", call=ci.id, state=ci.stateText, code=ci.lastStatusCode, reason=ci.lastReason)
        if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.peer.calls.pop(ci.id, None)
            self.peer.dead.append(self)

    @guarded
    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        ci = self.getInfo()
        active = False
        for media in ci.media:
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                active = True
        if active:  # (re)connect: re-created media (re-INVITE, IP change) may sit in a new slot
            self.peer.connect_media(self)
        self.media_active = active
        emit("media", call=ci.id, active=active)

    @guarded
    def onCallTsxState(self, prm: pj.OnCallTsxStateParam) -> None:
        # Report final responses to our re-INVITEs (e.g. a monitor mode change refused with 403).
        with contextlib.suppress(Exception):
            tsx = prm.e.body.tsxState.tsx
            if (tsx.role == pj.PJSIP_ROLE_UAC and tsx.method == "INVITE"
                    and tsx.state in (pj.PJSIP_TSX_STATE_COMPLETED, pj.PJSIP_TSX_STATE_TERMINATED)
                    and tsx.statusCode >= 200):
                emit("tsx", call=self.getId(), method="INVITE", code=tsx.statusCode)

    @guarded
    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:
        method = {pj.PJSUA_DTMF_METHOD_RFC2833: "rfc4733", pj.PJSUA_DTMF_METHOD_SIP_INFO: "info"}.get(
            prm.method, str(prm.method))
        emit("dtmf", call=self.getId(), digit=prm.digit, method=method)

    @guarded
    def onCallTransferRequest(self, prm: pj.OnCallTransferRequestParam) -> None:
        emit("transfer", call=self.getId(), dst=prm.dstUri)

    @guarded
    def onCallReplaced(self, prm: pj.OnCallReplacedParam) -> None:
        # pjsua2 made a new call object for the replacing dialog: adopt it.
        new = PeerCall(self.peer, self.peer.account, prm.newCallId)
        prm.newCall = new
        self.peer.calls[prm.newCallId] = new
        self.peer.last_call = prm.newCallId
        emit("replaced", call=self.getId(), new_call=prm.newCallId)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    ap.add_argument("--user", default="peer")
    ap.add_argument("--register")
    ap.add_argument("--password", default="")
    ap.add_argument("--auth-user")
    ap.add_argument("--realm", default="*")
    ap.add_argument("--auto-answer", type=int, default=0)
    ap.add_argument("--answer-delay", type=float, default=0.0)
    ap.add_argument("--tone", type=int, default=0)
    ap.add_argument("--record")
    ap.add_argument("--call")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--max-calls", type=int, default=8)
    ap.add_argument("--srtp", choices=("off", "optional", "mandatory"), default="off")
    ap.add_argument("--log-level", type=int, default=0)
    args = ap.parse_args(argv)

    commands: queue.Queue[str] = queue.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            commands.put(line)
        commands.put("quit")  # stdin closed: the test is gone

    threading.Thread(target=read_stdin, daemon=True, name="stdin").start()
    peer = Peer(args)
    try:
        peer.start()
        peer.run(commands)
    except pj.Error as exc:
        emit("error", msg=f"{exc.title}: {exc.reason}")
        return 1
    finally:
        with contextlib.suppress(pj.Error):
            peer.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
