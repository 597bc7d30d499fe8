"""The SIP answer matrix: every answer a customer's side can give, over the wire, and what the agent gets.

Each case is a sipp UAS scenario (tests/sip/scenarios) — or, for "no answer at
all", a UDP socket that swallows the INVITE. The engine under test dials it;
:func:`run_case` records the engine's final state, the SIP code, the message
code the agent is shown (``core.wrapup.call_result``), the suggested
disposition (``softphone/dispositions.py``), whether any call is left in the
engine afterwards (stuck), and whether the next call (to a plain answering
UAS) is answered and ends cleanly. Used by test_sip_matrix.py (asserting the
expected values) and sip_matrix_table.py (writing the table into
docs/softphone.md).
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.wrapup import call_result
from softphone.types import CallState
from tests.sip.agent import Agent
from tests.sip.sipp import SCENARIOS, SippUas

NUMBER = "13812345678"


@dataclass(frozen=True)
class Case:
    name: str  # the row's title
    scenario: str | None  # sipp scenario; None = a UDP socket that never answers
    keys: dict[str, str] = field(default_factory=dict)
    answered: bool = False  # expected: the call was answered
    code: int | None = None  # expected final SIP code
    disposition: str | None = None  # expected suggestion (None for an answered call)
    message: str | None = None  # expected message code (None for an answered call)
    hangup_after_s: float | None = None  # answered calls: the agent hangs up after this long
    timeout_s: float = 30.0
    sipp_ok: bool = True  # sipp must finish its scenario with exit 0
    sipp_args: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.name.split(" (")[0].replace(" ", "_").replace("/", "_").lower()


def _final(code: int, reason: str, hdr: str = "X-Matrix: 1", **kw) -> Case:
    name = f"{code} {reason}" + (f" + {hdr}" if not hdr.startswith("X-") else "")
    return Case(name, "uas_final", {"code": str(code), "reason": reason, "hdr": hdr}, code=code, **kw)


CASES: tuple[Case, ...] = (
    Case("180 without SDP, then 200", "uas_early_nosdp", {"prov": "180", "provreason": "Ringing"},
         answered=True, code=200, hangup_after_s=0.5),
    Case("180 with SDP, then 200", "uas_early_sdp", {"prov": "180", "provreason": "Ringing"},
         answered=True, code=200, hangup_after_s=0.5),
    Case("183 without SDP, then 200", "uas_early_nosdp", {"prov": "183", "provreason": "Session Progress"},
         answered=True, code=200, hangup_after_s=0.5),
    Case("183 with SDP (early media), then 200", "uas_early_sdp", {"prov": "183", "provreason": "Session Progress"},
         answered=True, code=200, hangup_after_s=0.5),
    Case("302 redirect", "uas_redirect", {"target": "4000@127.0.0.1:9"}, code=302, disposition="FAILED",
         message="call.not_connected"),
    Case("401 challenge loop", "uas_challenge_loop",
         {"code": "401", "reason": "Unauthorized", "authhdr": "WWW-Authenticate"}, code=401,
         disposition="FAILED", message="call.not_connected", sipp_ok=False, sipp_args=("-trace_msg",)),
    Case("407 challenge loop", "uas_challenge_loop",
         {"code": "407", "reason": "Proxy Authentication Required", "authhdr": "Proxy-Authenticate"}, code=407,
         disposition="FAILED", message="call.not_connected", sipp_ok=False, sipp_args=("-trace_msg",)),
    _final(403, "Forbidden", disposition="FAILED", message="call.declined"),
    _final(404, "Not Found", disposition="INVALID", message="call.number_unknown"),
    _final(408, "Request Timeout", disposition="NO_ANSWER", message="call.no_answer"),
    _final(480, "Temporarily Unavailable", disposition="NO_ANSWER", message="call.no_answer"),
    _final(484, "Address Incomplete", disposition="INVALID", message="call.number_unknown"),
    _final(486, "Busy Here", disposition="BUSY", message="call.busy"),
    _final(487, "Request Terminated", disposition="NO_ANSWER", message="call.no_answer"),
    _final(488, "Not Acceptable Here", disposition="FAILED", message="call.media_refused"),
    _final(500, "Server Internal Error", disposition="FAILED", message="call.not_connected"),
    _final(503, "Service Unavailable", hdr="Retry-After: 30", disposition="FAILED", message="call.not_connected"),
    _final(600, "Busy Everywhere", disposition="BUSY", message="call.busy"),
    _final(603, "Decline", disposition="FAILED", message="call.declined"),
    Case("no answer at all (INVITE swallowed)", None, code=0, disposition="FAILED",
         message="call.not_connected", timeout_s=40.0),
    # sipp would abort its own call when our ACK arrives while it is about to send the BYE.
    Case("BYE before ACK", "uas_bye_before_ack", answered=True, code=200,
         sipp_args=("-default_behaviors", "all,-abortunexp")),
    Case("re-INVITE with a new codec (PCMU → PCMA)", "uas_reinvite_codec", answered=True, code=200,
         hangup_after_s=2.5),
    Case("200 with a malformed SDP", "uas_bad_sdp", code=None, disposition="FAILED", message="call.not_connected",
         sipp_ok=False),
)


@dataclass
class Row:
    case: Case
    state: str = ""
    answered: bool = False
    sip_code: int = 0
    reason: str = ""
    message: str = ""
    disposition: str | None = None
    seconds: float = 0.0
    stuck: int = 0
    next_call_ok: bool = False
    sipp_exit: int | None = None
    invites: int | None = None  # INVITEs the UAS received (cases run with -trace_msg)
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _black_hole() -> Iterator[str]:
    """A UDP port that reads every datagram and answers none: the INVITE goes nowhere."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"sip:{NUMBER}@127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


class MatrixUas(SippUas):
    """SippUas with extra command-line arguments."""

    def __init__(self, scenario: str, extra: tuple[str, ...] = ()) -> None:
        self.extra = list(extra)
        super().__init__(scenario)

    def command(self) -> list[str]:
        return [*super().command(), *self.extra]


def render(case: Case, folder: Path) -> Path:
    """The case's scenario with its ``@key@`` values filled in (sipp checks status codes when it
    loads a scenario, so they cannot be ``-key`` values); the path without ``.xml``, as SippUas takes it."""
    assert case.scenario is not None
    text = (SCENARIOS / f"{case.scenario}.xml").read_text(encoding="utf-8")
    for key, value in case.keys.items():
        text = text.replace(f"@{key}@", value)
    out = folder / case.scenario
    out.with_suffix(".xml").write_text(text, encoding="utf-8")
    return out


def live_calls(agent: Agent) -> int:
    """Calls the engine still holds: its published snapshots plus the SIP thread's own table."""
    core = agent.engine._core
    inside = agent.run(lambda: len(core.calls)) if core is not None else 0
    return len(agent.engine.calls) + inside


def run_case(agent: Agent, case: Case, sipp: Callable[..., SippUas]) -> Row:
    """Dial ``case`` with a started, registered agent; then check for stuck calls and the next call."""
    row = Row(case)
    start = len(agent.events.since(0))
    uas = None
    with contextlib.ExitStack() as stack:
        if case.scenario is None:
            target = stack.enter_context(_black_hole())
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sip-matrix-")))
            uas = MatrixUas(str(render(case, folder)), extra=case.sipp_args).start()
            stack.callback(uas.stop)
            target = uas.uri(NUMBER)
        t0 = time.monotonic()
        call_id = agent.engine.dial(target).result(10)
        if case.hangup_after_s is not None:
            agent.wait_call(CallState.ANSWERED, call_id, timeout=case.timeout_s, start=start)
            time.sleep(case.hangup_after_s)
            if call_id in agent.engine.calls:
                agent.engine.hangup(call_id).result(10)
        ended = agent.wait_call(CallState.ENDED, call_id, timeout=case.timeout_s, start=start)
        row.seconds = time.monotonic() - t0
        if uas is not None:
            with contextlib.suppress(Exception):
                row.sipp_exit = uas.wait(15 if case.sipp_ok else 3)
            for log in uas.dir.glob("*_messages.log"):  # -trace_msg: how many INVITEs reached the UAS
                row.invites = log.read_text(errors="replace").count("\nINVITE sip:") + \
                    log.read_text(errors="replace").startswith("INVITE sip:")
    row.state = ended.state.value
    row.answered = ended.answered_at is not None
    row.sip_code = ended.sip_code
    row.reason = ended.reason
    result = call_result(row.answered, ended.sip_code)
    row.message = result.code if result is not None else ""
    row.disposition = ended.suggested_disposition
    states = [p.state.value for kind, p in agent.events.since(start) if kind == "call" and p.call_id == call_id]
    codecs = [p.codec for kind, p in agent.events.since(start)
              if kind == "media" and p.call_id == call_id and p.active and p.codec]
    row.notes.append("→".join(dict.fromkeys(states)))
    if codecs:
        row.notes.append("media " + "→".join(dict.fromkeys(codecs)))
    # Nothing left behind: the engine's snapshots and the SIP thread's own table are empty.
    deadline = time.monotonic() + 5
    while (row_stuck := live_calls(agent)) and time.monotonic() < deadline:
        time.sleep(0.1)
    row.stuck = row_stuck
    # The next call works: a plain answering UAS, answered, hung up, ended.
    nxt = sipp("uas_answer")
    mark = len(agent.events.since(0))
    try:
        nid = agent.engine.dial(nxt.uri("4000")).result(10)
        agent.wait_call(CallState.ANSWERED, nid, timeout=20, start=mark)
        agent.engine.hangup(nid).result(10)
        agent.wait_call(CallState.ENDED, nid, timeout=20, start=mark)
        row.next_call_ok = live_calls(agent) == 0 or _settles(agent)
    except Exception as exc:  # the row says so; the test asserts on it
        row.notes.append(f"next call failed: {exc}")
    finally:
        nxt.stop()
    return row


def _settles(agent: Agent, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if live_calls(agent) == 0:
            return True
        time.sleep(0.1)
    return False


__all__ = ["CASES", "Case", "Row", "live_calls", "run_case"]
