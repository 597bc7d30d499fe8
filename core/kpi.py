"""Today's KPIs from the local cache: 通次, 接通, 接通率, 通时, 均通时, 成交, 30 秒内拒绝占比.

Computed from plain facts (one per call record, with its latest disposition)
so it works offline and updates the moment a call ends: a call counts as soon
as its record is written at hang-up; its disposition refines the refusal and
conversion figures when the wrap-up is saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.contract import CallDirection

QUICK_REFUSAL_SECONDS = 30
# Codes that mean "the customer said no"; campaigns may add their own via rules["refusal_codes"].
DEFAULT_REFUSAL_CODES = frozenset({"REFUSED", "DNC"})


@dataclass(frozen=True)
class CallFact:
    call_id: str
    answered: bool
    talk_seconds: int
    direction: str = CallDirection.OUT
    code: str | None = None  # latest disposition code, None until wrap-up is saved
    is_conversion: bool = False


@dataclass(frozen=True)
class Targets:
    calls_per_day: int = 30
    talk_minutes_per_day: int = 50
    conversions_per_month: int = 10


@dataclass(frozen=True)
class KpiSnapshot:
    calls_made: int = 0
    connected: int = 0
    talk_seconds: int = 0
    conversions: int = 0
    quick_refusals: int = 0
    callbacks_due: int = 0
    callbacks_overdue: int = 0
    targets: Targets = Targets()
    # The daily report's extra figures (server/reports.py): callbacks set, handle time (dial
    # to hang-up, summed over calls), wrap-up time (hang-up to disposition, summed over the
    # wrap-ups measured), and how many days the figures cover (targets scale with it).
    callbacks_set: int = 0
    handle_seconds: int = 0
    wrap_seconds: int = 0
    wrapups: int = 0
    days: int = 1

    @property
    def connect_rate(self) -> float:
        return self.connected / self.calls_made if self.calls_made else 0.0

    @property
    def average_talk_seconds(self) -> float:
        return self.talk_seconds / self.connected if self.connected else 0.0

    @property
    def conversion_rate(self) -> float:
        return self.conversions / self.connected if self.connected else 0.0

    @property
    def quick_refusal_share(self) -> float:
        return self.quick_refusals / self.connected if self.connected else 0.0

    @property
    def average_handle_seconds(self) -> float:
        return self.handle_seconds / self.calls_made if self.calls_made else 0.0

    @property
    def average_wrap_seconds(self) -> float:
        return self.wrap_seconds / self.wrapups if self.wrapups else 0.0

    @property
    def calls_target_met(self) -> bool:
        return self.calls_made >= self.targets.calls_per_day * self.days

    @property
    def talk_target_met(self) -> bool:
        return self.talk_seconds >= self.targets.talk_minutes_per_day * 60 * self.days

    @property
    def targets_met(self) -> bool:
        """通次 and 通时 both at target (per day, times the days covered)."""
        return self.calls_target_met and self.talk_target_met

    @property
    def calls_progress(self) -> float:
        return min(1.0, self.calls_made / self.targets.calls_per_day) if self.targets.calls_per_day else 1.0

    @property
    def talk_progress(self) -> float:
        goal = self.targets.talk_minutes_per_day * 60
        return min(1.0, self.talk_seconds / goal) if goal else 1.0


def is_quick_refusal(answered: bool, talk_seconds: int, code: str | None,
                     refusal_codes: frozenset[str] = DEFAULT_REFUSAL_CODES) -> bool:
    """A connected call the customer refused within 30 seconds (the server's SQL applies the
    same test with QUICK_REFUSAL_SECONDS and the refusal codes)."""
    return answered and talk_seconds < QUICK_REFUSAL_SECONDS and code in refusal_codes


def refusal_codes_of(rules: dict | None) -> frozenset[str]:
    """The refusal codes: the defaults plus a campaign's ``rules["refusal_codes"]``."""
    extra = (rules or {}).get("refusal_codes") or []
    return DEFAULT_REFUSAL_CODES | frozenset(str(c) for c in extra if isinstance(c, str))


def compute(
    calls: Iterable[CallFact],
    targets: Targets = Targets(),
    callbacks_due: int = 0,
    callbacks_overdue: int = 0,
    refusal_codes: frozenset[str] = DEFAULT_REFUSAL_CODES,
) -> KpiSnapshot:
    made = connected = talk = conv = quick = 0
    for call in calls:
        # 通次 counts the agent's outbound dials; inbound answered calls add talk time.
        if call.direction == CallDirection.OUT:
            made += 1
        if call.answered:
            connected += 1
            talk += max(0, call.talk_seconds)
            if is_quick_refusal(True, call.talk_seconds, call.code, refusal_codes):
                quick += 1
        if call.is_conversion:
            conv += 1
    return KpiSnapshot(
        calls_made=made,
        connected=connected,
        talk_seconds=talk,
        conversions=conv,
        quick_refusals=quick,
        callbacks_due=callbacks_due,
        callbacks_overdue=callbacks_overdue,
        targets=targets,
    )


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
