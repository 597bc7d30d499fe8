"""SIP account settings and their pjsua2 configuration; the registrar liveness probe.

All of this runs on the SIP thread except ``AccountSettings`` (a plain value).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pjsua2 as pj

log = logging.getLogger(__name__)


class Transport(str, enum.Enum):
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


class Srtp(str, enum.Enum):
    OFF = "off"
    OPTIONAL = "optional"
    MANDATORY = "mandatory"  # only over TLS: the keys travel in the SDP


@dataclass(frozen=True)
class AccountSettings:
    user: str                                  # SIP user / extension, e.g. "1001"
    domain: str                                # SIP domain, e.g. "pbx.example.com" or "127.0.0.1:5060"
    password: str = field(default="", repr=False)   # from the OS keyring; never logged
    auth_user: str = ""                        # defaults to user
    realm: str = "*"
    display_name: str = ""
    transport: Transport = Transport.UDP
    registrar: str = ""                        # defaults to sip:<domain>
    secondary_registrar: str = ""              # used while the first one fails
    outbound_proxy: str = ""                   # e.g. sip:proxy.example.com;lr
    stun_servers: tuple[str, ...] = ()
    srtp: Srtp = Srtp.OFF
    tls_verify_server: bool = True             # server certificate checked by default
    tls_ca_file: str = ""                      # custom CA (PEM); empty = system store
    reg_expires_s: int = 120
    reg_retry_s: int = 20                      # pjsip's default is 300 s; we retry within 30 s
    keepalive_s: int = 15                      # UDP keep-alive and registrar probe interval
    probe_timeout_s: float = 3.0               # no answer to OPTIONS within this = one miss
    codecs: tuple[str, ...] = ()               # preferred codec order, e.g. ("PCMA", "PCMU")

    def __post_init__(self) -> None:
        if not self.user or not self.domain:
            raise ValueError("user and domain are required")
        if Srtp(self.srtp) is Srtp.MANDATORY and Transport(self.transport) is not Transport.TLS:
            raise ValueError("mandatory SRTP needs the TLS transport (the SDP carries the keys)")
        if not 1 <= self.reg_retry_s <= 30:
            raise ValueError("reg_retry_s must be 1..30")

    @property
    def registrars(self) -> list[str]:
        first = self.registrar or f"sip:{self.domain}"
        out = [self._with_transport(first)]
        if self.secondary_registrar:
            out.append(self._with_transport(self.secondary_registrar))
        return out

    @property
    def id_uri(self) -> str:
        uri = f"sip:{self.user}@{self.domain}"
        return f'"{self.display_name}" <{uri}>' if self.display_name else uri

    def _with_transport(self, uri: str) -> str:
        t = Transport(self.transport)
        if t is Transport.UDP or "transport=" in uri:
            return uri
        if t is Transport.TLS and uri.startswith("sip:"):
            return uri + ";transport=tls"
        return uri + f";transport={t.value}"


_SRTP_USE = {
    Srtp.OFF: pj.PJMEDIA_SRTP_DISABLED,
    Srtp.OPTIONAL: pj.PJMEDIA_SRTP_OPTIONAL,
    Srtp.MANDATORY: pj.PJMEDIA_SRTP_MANDATORY,
}


def build_account_config(s: AccountSettings, registrar: str, transport_id: int,
                         media_bind: str) -> pj.AccountConfig:
    cfg = pj.AccountConfig()
    cfg.idUri = s.id_uri
    cfg.regConfig.registrarUri = registrar
    cfg.regConfig.timeoutSec = s.reg_expires_s
    cfg.regConfig.retryIntervalSec = s.reg_retry_s
    cfg.regConfig.firstRetryIntervalSec = min(5, s.reg_retry_s)
    cfg.regConfig.randomRetryIntervalSec = 2
    cfg.regConfig.dropCallsOnFail = False
    cfg.regConfig.unregWaitMsec = 1500
    cred = pj.AuthCredInfo("digest", s.realm or "*", s.auth_user or s.user, 0, s.password)
    cfg.sipConfig.authCreds.append(cred)
    cfg.sipConfig.transportId = transport_id
    if s.outbound_proxy:
        cfg.sipConfig.proxies.append(s.outbound_proxy)
    cfg.natConfig.udpKaIntervalSec = s.keepalive_s
    cfg.natConfig.sipStunUse = pj.PJSUA_STUN_USE_DEFAULT if s.stun_servers else pj.PJSUA_STUN_USE_DISABLED
    cfg.natConfig.mediaStunUse = cfg.natConfig.sipStunUse
    if media_bind:
        cfg.mediaConfig.transportConfig.boundAddress = media_bind
    cfg.mediaConfig.srtpUse = _SRTP_USE[Srtp(s.srtp)]
    # 1 = SRTP needs a secure transport (TLS) for its keys; 0 = don't care (optional/off)
    cfg.mediaConfig.srtpSecureSignaling = 1 if Srtp(s.srtp) is Srtp.MANDATORY else 0
    # After an IP change keep calls: re-INVITE them with the new contact/media address.
    cfg.ipChangeConfig.hangupCalls = False
    return cfg


def tls_transport_config(s: AccountSettings, bind: str) -> pj.TransportConfig:
    tcfg = pj.TransportConfig()
    tcfg.boundAddress = bind
    tcfg.port = 0
    tls = tcfg.tlsConfig
    tls.method = pj.PJSIP_TLSV1_2_METHOD
    tls.verifyServer = bool(s.tls_verify_server)
    if s.tls_ca_file:
        tls.CaListFile = s.tls_ca_file
    return tcfg


class RegistrarProbe:
    """Detects a registrar that went away or restarted over UDP, where pjsip cannot tell.

    Every ``interval`` s it sends a SIP OPTIONS (from its own UDP socket, so it
    needs no pjsip dialog) to the registrar; any SIP response means alive. Two
    misses in a row mark the registrar down (the engine reports the account
    unregistered and may fail over); the first answer after that makes the
    engine re-register at once, because a restarted registrar has forgotten us.
    Non-blocking; ``poll()`` is called from the SIP thread's loop.
    """

    def __init__(self, host: str, port: int, interval: float, timeout: float,
                 on_down: Callable[[], None], on_up: Callable[[], None]) -> None:
        self.addr = (host, port)
        self.interval = interval
        self.timeout = timeout
        self._on_down, self._on_up = on_down, on_up
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._sock.bind(("127.0.0.1" if host.startswith("127.") else "0.0.0.0", 0))
        self._next = time.monotonic() + interval
        self._waiting_since: float | None = None
        self._branch = ""
        self.misses = 0
        self.down = False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()

    def _send(self, now: float) -> None:
        self._branch = "z9hG4bK" + uuid.uuid4().hex[:16]
        lhost, lport = self._sock.getsockname()
        host, port = self.addr
        msg = (f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {lhost}:{lport};rport;branch={self._branch}\r\n"
               f"Max-Forwards: 70\r\nFrom: <sip:probe@{lhost}>;tag={uuid.uuid4().hex[:8]}\r\n"
               f"To: <sip:{host}:{port}>\r\nCall-ID: {uuid.uuid4().hex}\r\nCSeq: 1 OPTIONS\r\n"
               "User-Agent: seatmate-probe\r\nContent-Length: 0\r\n\r\n")
        with contextlib.suppress(OSError):
            self._sock.sendto(msg.encode(), self.addr)
        self._waiting_since = now

    # While an OPTIONS is out the socket is polled (it is ours, not in pjsip's ioqueue, so
    # nothing wakes the SIP thread when the answer arrives): first after ANSWER_POLL_S, then
    # backing off to half the time already waited. A live registrar answers within the first
    # poll; a dead one (no answer until the timeout, every 2 s while down) no longer costs
    # 20 wake-ups a second, and a late answer is read at most a third of its delay late.
    ANSWER_POLL_S = 0.05

    def next_due(self, now: float) -> float:
        """When ``poll`` next has something to do (the SIP loop sleeps until then)."""
        if self._waiting_since is not None:
            step = max(self.ANSWER_POLL_S, (now - self._waiting_since) / 2)
            return min(now + step, self._waiting_since + self.timeout)
        return self._next

    def poll(self) -> None:
        now = time.monotonic()
        # Read only while an answer is awaited: an empty non-blocking recv raises, and the
        # SIP loop calls this on every turn (a late answer is read with the next probe's).
        while self._waiting_since is not None:
            try:
                data = self._sock.recv(4096)
            except OSError:  # nothing more to read
                break
            if data.startswith(b"SIP/2.0 ") and self._branch.encode() in data:
                self._waiting_since = None
                self.misses = 0
                if self.down:
                    self.down = False
                    self._on_up()
        if self._waiting_since is not None and now - self._waiting_since > self.timeout:
            self._waiting_since = None
            self.misses += 1
            if self.misses >= 2 and not self.down:
                self.down = True
                self._on_down()
        if now >= self._next:
            # Probe faster while down so recovery is noticed within a few seconds.
            self._next = now + (min(self.interval, 2.0) if self.down else self.interval)
            self._send(now)


def host_port_of(uri: str) -> tuple[str, int] | None:
    """'sip:1.2.3.4:5060;transport=udp' -> ('1.2.3.4', 5060); None if not an IPv4 literal."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    rest = rest.split(";", 1)[0].split(">", 1)[0]
    if "@" in rest:
        rest = rest.split("@", 1)[1]
    host, _, port = rest.partition(":")
    try:
        socket.inet_aton(host)
    except OSError:
        try:
            host = socket.gethostbyname(host)
        except OSError:
            return None
    return host, int(port or 5060)


def apply_codec_order(ep: pj.Endpoint, codecs: tuple[str, ...], defaults: dict[str, int]) -> list[str]:
    """Give the listed codecs (names such as "PCMA" or ids such as "opus/48000/2") the highest
    priorities, in order; every other codec gets its library default back. ``defaults`` keeps
    those (filled on the first call). Returns the ids in the order offered. SIP thread only."""
    infos = list(ep.codecEnum2())
    if not defaults:
        defaults.update({ci.codecId: int(ci.priority) for ci in infos})
    wanted: dict[str, int] = {}
    for rank, name in enumerate(codecs):
        key = name.lower()
        for ci in infos:
            cid = ci.codecId
            if cid not in wanted and (cid.lower() == key or cid.split("/", 1)[0].lower() == key):
                wanted[cid] = 254 - rank
    for ci in infos:
        prio = wanted.get(ci.codecId, min(defaults.get(ci.codecId, 128), 200))
        if int(ci.priority) != prio:
            ep.codecSetPriority(ci.codecId, prio)
    if codecs and not wanted:
        log.warning("none of the preferred codecs %s is available", ",".join(codecs))
    return [cid for cid, _ in sorted(wanted.items(), key=lambda kv: -kv[1])]


def settings_with(s: AccountSettings, **changes: object) -> AccountSettings:
    return replace(s, **changes)
