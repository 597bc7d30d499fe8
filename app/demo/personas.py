"""What the embedded demo's customer says and does: its lines and its personas.

Pure data and rules (no pjsua2, no Qt): the customer process (``app.demo.customer``) plays
the lines, ``python -m app.demo.voices_build`` turns them into the shipped WAV files with
espeak-ng and sox, and the tests and the README read the same tables.

The persona is chosen by the last digit of the dialed number, so the demo list shows every
outcome and the same lead always behaves the same way. The demo's first five leads in F5
order end in 7, 1, 3, 6, 4: five customers who answer, each differently (see README.md,
"The demo customer").
"""

from __future__ import annotations

import re
import wave
from dataclasses import dataclass
from pathlib import Path

VOICE_RATE = 8000  # Hz, mono, 16-bit: a G.711 call carries no more
MALE = "cmn-latn-pinyin"  # espeak-ng's Mandarin voice, read from pinyin with tone numbers
FEMALE = "cmn-latn-pinyin+f3"


@dataclass(frozen=True)
class Line:
    text: str  # what the customer says (shown in logs, the README and the tests)
    pinyin: str  # what espeak-ng reads: hand-checked pinyin with tone numbers (5 = neutral)
    voice: str = MALE
    speed: int = 150  # espeak-ng words per minute
    pitch: int = 50  # espeak-ng 0–99


LINES: dict[str, Line] = {
    "greet_m": Line("喂，你好？", "wei2, ni3 hao3?"),
    "greet_f": Line("喂，你好？", "wei2, ni3 hao3?", FEMALE),
    "who_m": Line("喂？哪位？", "wei2? na3 wei4?", pitch=40),
    "interested_price": Line("哦，车险快到期了是吧？今年多少钱？",
                             "o4, che1 xian3 kuai4 dao4 qi1 le5 shi4 ba5? jin1 nian2 duo1 shao3 qian2?"),
    "interested_send": Line("好的，你发我看看吧。", "hao3 de5, ni3 fa1 wo3 kan4 kan5 ba5."),
    "price_ask": Line("多少钱？", "duo1 shao3 qian2?", FEMALE),
    "price_high": Line("怎么这么贵？去年才三千多。", "zen3 me5 zhe4 me5 gui4? qu4 nian2 cai2 san1 qian1 duo1.", FEMALE),
    "price_think": Line("我再考虑一下吧。", "wo3 zai4 kao3 lv4 yi2 xia4 ba5.", FEMALE),
    "refuse": Line("不需要，以后别打了。", "bu4 xu1 yao4, yi3 hou4 bie2 da3 le5.", pitch=40),
    "busy_now": Line("我现在在忙，晚点再打。", "wo3 xian4 zai4 zai4 mang2, wan3 dian3 zai4 da3.", FEMALE, speed=170),
    "insured": Line("我已经在别家续保了，不用了。", "wo3 yi3 jing1 zai4 bie2 jia1 xu4 bao3 le5, bu2 yong4 le5."),
    "bye_m": Line("再见。", "zai4 jian4."),
    "buyer_go_on": Line("嗯，你说。", "en4, ni3 shuo1.", FEMALE),
    "buyer_deal": Line("行，就按去年的保障续吧。", "xing2, jiu4 an4 qu4 nian2 de5 bao3 zhang4 xu4 ba5.", FEMALE),
    "buyer_pay": Line("怎么付款？", "zen3 me5 fu4 kuan3?", FEMALE),
    "buyer_thanks": Line("好的，谢谢。", "hao3 de5, xie4 xie5.", FEMALE),
    "wrong": Line("你打错了，我不是他。", "ni3 da3 cuo4 le5, wo3 bu2 shi4 ta1.", pitch=40),
    "caller": Line("喂，你好，刚才你们给我打过电话？",
                   "wei2, ni3 hao3, gang1 cai2 ni3 men5 gei3 wo3 da3 guo4 dian4 hua4?", FEMALE),
}


@dataclass(frozen=True)
class Persona:
    name: str
    title: str  # a short Chinese name (README, logs)
    lines: tuple[str, ...] = ()  # keys of LINES, said one per turn; empty: does not answer
    hangs_up: bool = False  # hangs up after its last line
    reject: int = 0  # SIP final response instead of answering (486 busy, 480 no answer)
    fits: str = ""  # the disposition code that fits the call (demo codes)

    @property
    def answers(self) -> bool:
        return not self.reject


PERSONAS: dict[str, Persona] = {p.name: p for p in (
    Persona("interested", "有意向", ("greet_m", "interested_price", "interested_send"), fits="INTERESTED"),
    Persona("price", "嫌贵", ("greet_f", "price_ask", "price_high", "price_think"), fits="CALLBACK"),
    Persona("refuse", "拒绝", ("who_m", "refuse"), hangs_up=True, fits="DNC"),
    Persona("busy_now", "在忙", ("greet_f", "busy_now"), hangs_up=True, fits="CALLBACK"),
    Persona("insured", "已在他处投保", ("greet_m", "insured", "bye_m"), hangs_up=True, fits="INSURED_ELSEWHERE"),
    Persona("buyer", "成交", ("greet_f", "buyer_go_on", "buyer_deal", "buyer_pay", "buyer_thanks"), fits="SALE"),
    Persona("wrong", "打错了", ("who_m", "wrong"), hangs_up=True, fits="WRONG_PARTY"),
    Persona("busy", "忙线", reject=486, fits="BUSY"),
    Persona("noanswer", "无人接听", reject=480, fits="NO_ANSWER"),
    # The customer calling the agent back (``call_agent``): an inbound call.
    Persona("caller", "回电", ("caller",)),
)}

# The last digit of the dialed number → persona. The demo's leads in F5 order end in
# 7, 1, 3, 6, 4, 6, 3, 9, 9, 8, 5, 5 …: five different answering customers first, then
# repeats, two that do not answer, a sale, two busy lines.
BY_LAST_DIGIT: dict[str, str] = {
    "7": "interested", "2": "interested",
    "1": "price",
    "3": "refuse",
    "6": "busy_now",
    "4": "insured",
    "8": "buyer",
    "0": "wrong",
    "5": "busy",
    "9": "noanswer",
}
# The behaviours the customer accepts (``--behaviour`` and the ``behaviour`` command):
# ``bydigit`` (the default) picks a persona per call as above; ``answer`` answers and talks
# (the interested customer) and never hangs up itself; a persona's name plays it on every call.
BEHAVIOURS = ("bydigit", "answer", *PERSONAS)


def persona_for(behaviour: str, dialed: str) -> Persona:
    """The persona a call to ``dialed`` (a SIP user part or number) meets under ``behaviour``."""
    if behaviour == "answer":
        return PERSONAS["interested"]
    if behaviour in PERSONAS:
        return PERSONAS[behaviour]
    digits = re.sub(r"\D", "", dialed)
    return PERSONAS[BY_LAST_DIGIT.get(digits[-1:], "interested")]


def voices_dir() -> Path:
    from app.resource_files import resource

    return resource("sounds", "demo")


def voice_file(key: str, directory: Path | None = None) -> Path:
    return (directory or voices_dir()) / f"{key}.wav"


def load_pcm(path: Path) -> bytes | None:
    """The 16-bit mono PCM of a shipped line at VOICE_RATE, or None if it is missing or not in
    that format (the customer then falls back to a tone)."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getframerate() != VOICE_RATE:
                return None
            return w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error):
        return None
