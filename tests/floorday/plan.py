"""The day's plan, without Qt or SIP: who gets which leads, and what the driver does on each call.

The demo customer (app/demo/customer.py) picks its persona by the dialled number's last digit
(app/demo/personas.py), so a lead's number decides the call's outcome; the driver reads the last
digit from the call bar's masked number and records the code that fits that outcome.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from app.demo.personas import BY_LAST_DIGIT, PERSONAS

#: the disposition the driver records per persona (demo codes, resources/data/dispositions_demo.json)
CODE_FOR_PERSONA = {
    "buyer": "SALE",
    "interested": "INTERESTED",  # callback: the "Tomorrow 10:00" button
    "price": "CALLBACK",  # callback: a typed time
    "busy_now": "CALLBACK",
    "insured": "INSURED_ELSEWHERE",  # note required: typed
    "refuse": "DNC",  # 拒绝再联系
    "wrong": "WRONG_PARTY",
    "busy": "BUSY",  # 486, not connected
    "noanswer": "NO_ANSWER",  # 480, not connected
}
CONVERSION_CODES = {"SALE"}
#: the mix of the ordinary calls (last digit → weight); 3 (refusal) and 4 (note) are placed once each
MIX = {"8": 3, "7": 2, "2": 1, "1": 2, "6": 1, "0": 1, "5": 3, "9": 3}


def persona_of(digit: str) -> str:
    return BY_LAST_DIGIT.get(digit, "interested")


def code_for_digit(digit: str) -> str:
    return CODE_FOR_PERSONA[persona_of(digit)]


def answers(digit: str) -> bool:
    return PERSONAS[persona_of(digit)].answers


@dataclass(frozen=True)
class Agent:
    index: int
    username: str
    display_name: str
    sip_user: str
    numbers: tuple[str, ...]  # the full numbers of this agent's leads (one lead each)

    @property
    def refused_number(self) -> str:
        return next(n for n in self.numbers if n.endswith("3"))


def number_for(agent: int, seq: int, digit: str) -> str:
    """A Chinese mobile number, unique per (agent, seq), ending in ``digit``."""
    return f"1390{agent:02d}{seq:04d}{digit}"


def make_agents(count: int, calls: int, seed: int) -> list[Agent]:
    rng = random.Random(seed)
    out = []
    digits_pool = [d for d, w in MIX.items() for _ in range(w)]
    for a in range(count):
        digits = ["3"] + (["4"] if calls >= 8 else [])
        # at least one of each of the common outcomes, then a random mix
        for d in ("8", "5", "9", "1"):
            if len(digits) < calls:
                digits.append(d)
        while len(digits) < calls:
            digits.append(rng.choice(digits_pool))
        rng.shuffle(digits)
        numbers = tuple(number_for(a, i, d) for i, d in enumerate(digits))
        out.append(Agent(a, f"fd_agent{a + 1}", f"坐席{a + 1}", f"{2001 + a}", numbers))
    return out


def talk_seconds(rng: random.Random) -> float:
    """How long the driver stays on an answered call before F8: whole seconds and a bit, so the
    app's whole-second talk time (it truncates) is not a hair's breadth from the next second."""
    return rng.randint(1, 3) + 0.3
