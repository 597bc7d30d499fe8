"""Softphone pieces without a network peer: dispositions, the monitor mixer plan, settings, masking,
feature codes, and the engine's life cycle with no account."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest

from softphone.account import AccountSettings, Srtp, Transport, host_port_of
from softphone.dispositions import DispositionTable
from softphone.engine import EngineConfig, SipEngine
from softphone.monitor import MIC, SPEAKER, FeatureCodes, LegView, PartyView, plan_links
from softphone.privacy import mask_remote
from softphone.tone_audio import ToneAudio

ROOT = Path(__file__).resolve().parents[2]


def test_dispositions_from_the_demo_code_table() -> None:
    codes = json.loads((ROOT / "resources/data/dispositions_demo.json").read_text(encoding="utf-8"))["codes"]
    t = DispositionTable(codes)
    assert t.suggest(486, answered=False) == "BUSY"
    assert t.suggest(600, answered=False) == "BUSY"
    assert t.suggest(404, answered=False) == "INVALID"
    assert t.suggest(484, answered=False) == "INVALID"
    assert t.suggest(480, answered=False) == "NO_ANSWER"
    assert t.suggest(487, answered=False) == "NO_ANSWER"
    assert t.suggest(503, answered=False) == "FAILED"
    assert t.suggest(403, answered=False) == "FAILED"       # unlisted failure
    assert t.suggest(0, answered=False) == "FAILED"         # no response at all
    assert t.suggest(487, answered=False, timed_out=True) == "NO_ANSWER"
    assert t.suggest(200, answered=True) is None


def test_plan_links_per_mode() -> None:
    cust = PartyView("c", active=True, muted=False)

    def plan(mode: str) -> set[tuple[str, str]]:
        return plan_links([cust], [LegView("t", "c", mode, True)])

    base = {(MIC, "c"), ("c", SPEAKER), ("c", "t"), (MIC, "t")}
    assert plan("listen") == base
    assert plan("whisper") == base | {("t", SPEAKER)}
    assert plan("barge") == base | {("t", SPEAKER), ("t", "c")}
    # muted agent: the customer no longer hears the agent, the TL still does
    muted = plan_links([PartyView("c", True, True)], [LegView("t", "c", "listen", True)])
    assert (MIC, "c") not in muted and (MIC, "t") in muted
    # a leg whose call is on hold or gone carries nothing
    assert plan_links([PartyView("c", False, False)], [LegView("t", "c", "barge", True)]) == set()


def test_feature_codes() -> None:
    fc = FeatureCodes()
    assert fc.target("listen", "8001") == "*2228001"
    assert fc.target("barge", "8001") == "*2248001"
    assert FeatureCodes(whisper="**{ext}#").target("whisper", "12") == "**12#"
    with pytest.raises(ValueError):
        fc.target("spy", "8001")
    with pytest.raises(ValueError):
        fc.target("listen", "80;01")


def test_account_settings_rules() -> None:
    with pytest.raises(ValueError, match="TLS"):
        AccountSettings(user="1001", domain="pbx", srtp=Srtp.MANDATORY, transport=Transport.UDP)
    ok = AccountSettings(user="1001", domain="pbx", srtp=Srtp.MANDATORY, transport=Transport.TLS)
    assert ok.registrars == ["sip:pbx;transport=tls"]
    with pytest.raises(ValueError):
        AccountSettings(user="1001", domain="pbx", reg_retry_s=300)  # pjsip's default is too slow
    s = AccountSettings(user="1001", domain="pbx", password="secret", transport=Transport.TCP,
                        secondary_registrar="sip:pbx2")
    assert s.registrars == ["sip:pbx;transport=tcp", "sip:pbx2;transport=tcp"]
    assert "secret" not in repr(s)
    assert AccountSettings(user="1", domain="d").tls_verify_server is True
    assert host_port_of("sip:127.0.0.1:5070;transport=udp") == ("127.0.0.1", 5070)
    assert host_port_of("sip:1001@127.0.0.1") == ("127.0.0.1", 5060)


def test_masking() -> None:
    assert mask_remote("sip:13812345678@pbx.example.com") == "138****5678"
    assert mask_remote('"Zhang" <sip:13812345678@pbx>;tag=1') == "138****5678"
    assert "12345678" not in mask_remote("+8613812345678")
    assert mask_remote("sip:alice@pbx") == "alice"


def test_engine_starts_and_stops_repeatedly_and_commands_wake_it() -> None:
    engine = SipEngine()
    for _ in range(3):
        engine.start(EngineConfig(bind_address="127.0.0.1", loop_max_wait_ms=200), None, ToneAudio.factory(0))
        assert engine.running
        # Commands do not wait for the loop's poll timeout (200 ms here): the SIP thread is woken.
        lat = []
        for _ in range(20):
            t0 = time.perf_counter()
            engine.call_soon(lambda: None).result(5)
            lat.append(time.perf_counter() - t0)
        assert statistics.median(lat) < 0.05, lat
        with pytest.raises(RuntimeError, match="no SIP account"):
            engine.dial("13812345678").result(5)
        engine.stop()
        assert not engine.running
    assert engine.call_soon(lambda: 1).exception(1) is not None  # stopped: refused, not hung


def test_engine_start_failure_is_reported() -> None:
    def broken_audio(ep):
        raise OSError("no audio here")

    engine = SipEngine()
    with pytest.raises(OSError, match="no audio here"):
        engine.start(EngineConfig(bind_address="127.0.0.1"), None, broken_audio)
    assert not engine.running
    engine.start(EngineConfig(bind_address="127.0.0.1"), None, ToneAudio.factory(0))  # usable again
    engine.stop()


def test_signal_emit_keeps_true_alive(qapp) -> None:
    """PySide6 6.12.0 dropped a reference to ``True`` on every ``Signal.emit()`` (the process
    aborted after a few thousand). pyproject pins PySide6 below 6.12, so signals are emitted
    plainly; this fails if a PySide6 with that bug is ever installed."""
    import sys
    import threading

    from PySide6.QtCore import QCoreApplication, QObject, Signal

    class Emitter(QObject):
        s = Signal(object)
        idle = Signal()  # no receivers

    o = Emitter()
    got: list[object] = []
    o.s.connect(got.append)
    before = sys.getrefcount(True)
    for i in range(10_000):
        o.s.emit(i)
        o.idle.emit()
    worker = threading.Thread(target=lambda: [o.s.emit(i) for i in range(1_000)])  # queued to us
    worker.start()
    worker.join()
    QCoreApplication.sendPostedEvents(o)
    assert len(got) == 11_000
    # The bug moved the count by one per emit (11,000 here); other tests' background threads
    # (a search worker still building, a server's reload thread) move it by tens meanwhile.
    assert abs(sys.getrefcount(True) - before) < 1_000


def test_callback_exceptions_never_reach_pjsua2(caplog: pytest.LogCaptureFixture) -> None:
    from softphone.call import guarded

    @guarded
    def onSomething(prm: object) -> None:
        raise KeyError("boom")

    onSomething(object())  # an escaping exception would be std::terminate inside pjsua2
    assert "onSomething" in caplog.text and "boom" in caplog.text


def test_caller_number_prefers_p_asserted_identity_and_ignores_non_numbers() -> None:
    from softphone.call import caller_number

    assert caller_number({"From": '"Zhang" <sip:+8613812345678@10.0.0.1>;tag=a'}) == "+8613812345678"
    assert caller_number({"From": "<sip:2001@pbx>;tag=b",
                          "P-Asserted-Identity": "<tel:+86-138-1234-5678>"}) == "+8613812345678"
    assert caller_number({"from": "<sip:alice@pbx>;tag=c"}) == ""
    assert caller_number({"From": '"Anonymous" <sip:anonymous@anonymous.invalid>'}) == ""
    assert caller_number({}) == ""
