"""SIP final response (or a timeout) -> suggested disposition code.

The codes come from the server (or resources/data/dispositions_demo.json):
each code may carry a ``sip`` list. Anything unanswered that no list claims
falls back by class: timeouts -> NO_ANSWER, 4xx/5xx/6xx -> FAILED.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

DEFAULT_CODES: tuple[Mapping[str, object], ...] = (
    {"code": "NO_ANSWER", "sip": [408, 480, 487]},
    {"code": "BUSY", "sip": [486, 600]},
    {"code": "INVALID", "sip": [404, 484]},
    {"code": "FAILED", "sip": [500, 503]},
)

NO_ANSWER = "NO_ANSWER"
FAILED = "FAILED"


class DispositionTable:
    def __init__(self, codes: Iterable[Mapping[str, object]] | None = None) -> None:
        self._by_sip: dict[int, str] = {}
        for entry in codes if codes is not None else DEFAULT_CODES:
            for sip in entry.get("sip", []) or []:  # type: ignore[union-attr]
                self._by_sip.setdefault(int(sip), str(entry["code"]))
        self._no_answer = self._by_sip.get(408, NO_ANSWER)
        self._failed = self._by_sip.get(500, FAILED)

    def suggest(self, sip_code: int, *, answered: bool, timed_out: bool = False) -> str | None:
        """None for an answered call (the agent chooses); otherwise a code."""
        if answered:
            return None
        if timed_out:
            return self._no_answer
        if sip_code in self._by_sip:
            return self._by_sip[sip_code]
        if sip_code == 0:  # no response at all (transport failure)
            return self._failed
        return self._failed if sip_code >= 300 else self._no_answer
