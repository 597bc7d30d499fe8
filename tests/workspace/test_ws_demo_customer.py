"""The embedded demo's customer talks: the first leads F5 picks on the demo list all answer, each
as a different persona, and what the agent hears is speech — the shipped Chinese lines, not
silence and not a tone — over real SIP from the product's demo customer to the real engine.
A refuser says its line and hangs up by itself; a customer waits for the agent to finish
speaking before its next line."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest

from app.demo.campaign import load_demo
from app.demo.line import DemoCustomerProcess
from app.demo.personas import LINES, PERSONAS, VOICE_RATE, load_pcm, voice_file, voices_dir
from app.workspace.store import WorkspaceStore
from cache.db import open_cache
from cache.repository import Repository

FIRST = 5  # the first leads F5 reaches on the demo list: all answer, all different
# …and who they are (README.md, "The demo customer", names them): 罗浩然, 彭强, 史磊, 杜军, 秦子涵
FIRST_TAILS = ["2897", "0991", "7663", "6946", "1674"]
AGENT_RATE = 16000  # softphone.tone_audio's speaker probe


# -- what speech looks like ---------------------------------------------------------------
def envelope(pcm: bytes, rate: int) -> np.ndarray:
    """RMS per 20 ms frame."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    n = rate // 50
    frames = x[: len(x) // n * n].reshape(-1, n)
    return np.sqrt((frames ** 2).mean(axis=1))


def match_line(heard: bytes, key: str) -> float:
    """Best Pearson correlation of the heard loudness envelope with the line's WAV, over lags."""
    ref = envelope(load_pcm(voice_file(key)), VOICE_RATE)
    got = envelope(heard, AGENT_RATE)
    if len(got) < len(ref):
        return 0.0
    ref = (ref - ref.mean()) / ref.std()
    best = 0.0
    for lag in range(len(got) - len(ref) + 1):
        win = got[lag:lag + len(ref)]
        if win.std() > 0:
            best = max(best, float(np.mean(ref * (win - win.mean()) / win.std())))
    return best


def speech_facts(pcm: bytes, rate: int) -> dict[str, float]:
    """Seconds with sound, the share of the energy at the strongest frequency (a tone: ~1),
    and how many different dominant frequencies the 100 ms stretches with sound have."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    env = envelope(pcm, rate)
    voiced = env > 300
    n = rate // 50
    loud = np.concatenate([x[i * n:(i + 1) * n] for i in np.flatnonzero(voiced)]) if voiced.any() else x[:n]
    spec = np.abs(np.fft.rfft(loud * np.hanning(len(loud)))) ** 2
    freqs = np.fft.rfftfreq(len(loud), 1 / rate)
    peak = freqs[int(np.argmax(spec))]
    peak_share = float(spec[np.abs(freqs - peak) <= 40].sum() / max(spec.sum(), 1e-9))
    dominant = set()
    step = rate // 10
    for i in range(0, len(x) - step, step):
        seg = x[i:i + step]
        if np.sqrt((seg ** 2).mean()) > 300:
            s = np.abs(np.fft.rfft(seg * np.hanning(step)))
            dominant.add(int(np.fft.rfftfreq(step, 1 / rate)[int(np.argmax(s))] // 50))
    return {"voiced_s": float(voiced.sum()) / 50, "peak_share": peak_share, "pitches": float(len(dominant))}


def assert_speech(pcm: bytes, rate: int, min_voiced_s: float = 0.6) -> None:
    facts = speech_facts(pcm, rate)
    assert facts["voiced_s"] >= min_voiced_s, facts  # not silence
    assert facts["peak_share"] < 0.6 and facts["pitches"] >= 4, facts  # not a tone (~1.0 and 1)


# -- fixtures (override tests/workspace/conftest.py for this module) ------------------------
@pytest.fixture
def cache(tmp_path):
    """The whole demo campaign, loaded as the app loads it on first start (60 leads)."""
    handle = open_cache(tmp_path / "cache.sqlite3")
    repo = Repository(handle)
    campaign_id = load_demo(repo)
    yield handle, repo, campaign_id
    handle.close()


@pytest.fixture
def store(cache) -> WorkspaceStore:
    return WorkspaceStore(cache[0], cache[1])  # with the repository's lead index, as the app


@pytest.fixture
def customer():
    """The demo customer as the app starts it (personas by number), answering quickly."""
    proc = DemoCustomerProcess(behaviour="bydigit", answer_delay=0.3, ring_timeout=2.0)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def agent_audio() -> list:
    return []


@pytest.fixture
def engine(customer, agent_audio, qapp):
    """The real engine with a silent "microphone" (a tone we switch on to speak) and an ear."""
    from softphone.account import AccountSettings
    from softphone.engine import EngineConfig, SipEngine
    from softphone.tone_audio import ToneAudio

    def factory(ep):  # type: ignore[no-untyped-def]
        agent_audio.append(ToneAudio(ep, 0))
        return agent_audio[-1]

    eng = SipEngine()
    line = customer.line
    eng.start(EngineConfig(bind_address="127.0.0.1", public_address="127.0.0.1", no_answer_timeout_s=3.0,
                           log_level=1),
              AccountSettings(user="agent", domain=line.domain, registrar=line.registrar), factory)
    yield eng
    eng.stop()


def wrap_up_as(loop, persona_name: str) -> None:  # type: ignore[no-untyped-def]
    """Save the disposition the persona's call fits (README: "The demo customer")."""
    code = PERSONAS[persona_name].fits
    loop.wrapup.set_code(code)
    rule = loop.wrapup.rule(code)
    if rule is not None and rule.requires_callback:
        loop.wrapup.set_callback(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
    if rule is not None and rule.requires_note:
        loop.wrapup.set_note("演示客户")
    assert loop.wrapup.save() is not None, loop.wrapup.problems()


# -- tests --------------------------------------------------------------------------------
def test_shipped_lines_are_small_speech_files() -> None:
    total = 0
    for persona in PERSONAS.values():
        for key in persona.lines:
            assert key in LINES
    for key in LINES:
        pcm = load_pcm(voice_file(key))
        assert pcm, f"{key}.wav missing or not {VOICE_RATE} Hz mono 16-bit (python -m app.demo.voices_build)"
        assert_speech(pcm, VOICE_RATE, min_voiced_s=0.3)
        total += voice_file(key).stat().st_size
    assert total < 1024 * 1024, total
    assert sorted(p.stem for p in voices_dir().glob("*.wav")) == sorted(LINES)  # nothing stale shipped


def test_shipped_lines_match_their_text(tmp_path) -> None:
    """A line's text changed but its WAV was not rebuilt: caught here (espeak-ng and sox are in
    .ci/apt-packages.txt; the app never needs them)."""
    from app.demo.voices_build import main as build

    assert build(["--out", str(tmp_path)]) == 0
    for key in LINES:
        shipped = np.frombuffer(load_pcm(voice_file(key)), dtype="<i2").astype(np.float64)
        fresh = np.frombuffer(load_pcm(voice_file(key, tmp_path)), dtype="<i2").astype(np.float64)
        assert abs(len(shipped) - len(fresh)) <= VOICE_RATE // 50, key
        n = min(len(shipped), len(fresh))
        assert np.corrcoef(shipped[:n], fresh[:n])[0, 1] > 0.98, key


def test_first_leads_f5_picks_answer_as_different_personas_and_speak(qtbot, loop, customer, agent_audio) -> None:
    assert customer.voice_files == len(LINES)  # the customer read every line's WAV file
    finished = []
    loop.call_finished.connect(finished.append)
    seen, tails = [], []
    for n in range(FIRST):
        assert loop.dial_next(), loop.last_gate
        incoming = customer.wait_for("incoming", 5)
        assert incoming is not None
        persona = PERSONAS[incoming["outcome"]]
        assert persona.answers, (n, incoming)
        tails.append(incoming["tail"])
        qtbot.waitUntil(lambda: loop.active is not None and loop.active.answered_at is not None, timeout=5000)
        if n == 0:
            # The newcomer's first F5: "喂，你好？" in the headset, right after answering.
            first = persona.lines[0]
            heard = agent_audio[0].capture(2.5)
            assert_speech(heard, AGENT_RATE)
            assert match_line(heard, first) > 0.7, first
            said = customer.wait_for("say", 2, line=first)
            assert said is not None and said["why"] == "first" and said["text"] == LINES[first].text
        loop.hangup()
        qtbot.waitUntil(lambda calls=n + 1: len(finished) == calls, timeout=10_000)
        assert finished[n].answered
        wrap_up_as(loop, persona.name)
        seen.append(persona.name)
    assert len(set(seen)) == FIRST, seen
    assert seen == ["interested", "price", "refuse", "busy_now", "insured"]
    assert tails == FIRST_TAILS


def test_refuser_waits_for_the_agent_then_refuses_and_hangs_up(qtbot, loop, customer, agent_audio,
                                                               engine) -> None:
    customer.command("behaviour refuse")
    assert customer.wait_for("behaviour", 5)
    finished = []
    loop.call_finished.connect(finished.append)
    assert loop.dial_next(), loop.last_gate
    qtbot.waitUntil(lambda: loop.active is not None and loop.active.answered_at is not None, timeout=5000)
    assert customer.wait_for("say", 3, line="who_m") is not None  # 喂？哪位？
    time.sleep(1.5)  # the greeting is ~1.4 s long; the customer listens from 0.3 s after it
    # The agent introduces themself (a 1 s "voice" into the microphone), then pauses.
    audio = agent_audio[0]
    engine.call_soon(lambda: audio.set_mic_tone(300)).result(5)
    time.sleep(1.0)
    engine.call_soon(lambda: audio.set_mic_tone(0)).result(5)
    # The customer answers after the pause, not after its 4 s "quiet" wait.
    said = customer.wait_for("say", 3, line="refuse")
    assert said is not None and said["why"] == "pause", said
    heard = audio.capture(2.4)
    assert_speech(heard, AGENT_RATE)
    assert match_line(heard, "refuse") > 0.6
    # …and hangs up by itself: the agent pressed nothing.
    qtbot.waitUntil(lambda: bool(finished), timeout=5000)
    assert finished[0].answered and finished[0].talk_seconds >= 3
    wrap_up_as(loop, "refuse")


def test_conversation_turns_follow_the_agent() -> None:
    """The turn-taking rules on a clock, without SIP: first line at once, the next after the
    agent's pause, else after the quiet wait, else at the latest MAX_TURN_S; a refuser hangs up."""
    from app.demo import customer as c

    class Port:
        def __init__(self) -> None:
            self.speaking = False
            self.voiced_s = 0.0
            self.last_voice = 0.0
            self.said: list[bytes] = []

        def say(self, pcm: bytes) -> None:
            self.said.append(pcm)
            self.speaking = True

        def listen(self, start: float) -> None:
            self.voiced_s = 0.0
            self.last_voice = 0.0

    voices = {key: b"pcm" for key in LINES}
    talk = c.Conversation(PERSONAS["price"], voices)
    port = Port()
    talk.media_up(port, 100.0)
    assert talk.tick(100.0) is None  # a breath after picking up
    assert talk.tick(100.0 + c.FIRST_LINE_DELAY_S) == ("say", "greet_f", "first")
    port.speaking = False
    assert talk.tick(102.0) is None  # the greeting ended at 102.0: now it listens
    port.voiced_s, port.last_voice = 1.0, 103.0  # the agent spoke until 103.0
    assert talk.tick(103.0 + c.PAUSE_S - 0.1) is None
    assert talk.tick(103.0 + c.PAUSE_S + 0.01) == ("say", "price_ask", "pause")
    port.speaking = False
    assert talk.tick(104.0) is None
    assert talk.tick(104.0 + c.QUIET_S + 0.01) == ("say", "price_high", "quiet")  # the agent said nothing
    port.speaking = False
    assert talk.tick(110.0) is None
    port.voiced_s, port.last_voice = 5.0, 110.0 + c.MAX_TURN_S  # talking over a noisy line
    assert talk.tick(110.0 + c.MAX_TURN_S + 0.01) == ("say", "price_think", "timeout")
    port.speaking = False
    assert talk.tick(200.0) is None and talk.tick(300.0) is None  # stays on the line

    refuser = c.Conversation(PERSONAS["refuse"], voices)
    refuser.media_up(port, 0.0)
    assert refuser.tick(1.0) == ("say", "who_m", "first")
    port.speaking = False
    refuser.tick(2.0)
    assert refuser.tick(2.0 + c.QUIET_S + 0.01) == ("say", "refuse", "quiet")
    port.speaking = False
    assert refuser.tick(8.0) is None
    assert refuser.tick(8.0 + c.HANGUP_AFTER_S + 0.01) == ("hangup", "", "")
    assert refuser.tick(20.0) is None


def test_app_icon_and_the_installer_ships_the_new_resources(qapp) -> None:
    from pathlib import Path

    from app.icon import app_icon
    from app.resource_files import resource

    icon = app_icon()
    assert not icon.isNull()
    assert {16, 32, 48, 256} <= {size.width() for size in icon.availableSizes()}
    assert resource("icons", "seatmate.svg").exists() and resource("icons", "seatmate.ico").exists()
    spec = (Path(__file__).resolve().parents[2] / "build_installer.spec").read_text(encoding="utf-8")
    for shipped in ('("resources/sounds", "resources/sounds")', '("resources/icons", "resources/icons")',
                    'icon=["resources/icons/seatmate.ico"]'):
        assert shipped in spec
