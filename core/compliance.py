"""The compliance gate every dial passes, manual dials included.

Pure rules over plain data: the caller (the dial service) gathers the facts
about one number from the cache (today's attempts, DNC entries, a due
customer-requested callback) and asks :meth:`ComplianceGate.check`. The gate
answers allowed, or the rule that blocked and a :class:`core.messages.Message`
saying why (the UI words it in the agent's language).

Times: the cache stores naive UTC; calling windows are the customer's local
wall-clock time (``Asia/Shanghai`` unless configured). The clock is injected so
tests and the embedded demo can evaluate the rules at a chosen instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from core import messages as msg
from core.messages import Message
from core.timeutil import aware_utc, now_utc

UTC = dt.timezone.utc
DEFAULT_TZ = "Asia/Shanghai"
# The 2013 insurance telesales rule: no outbound sales calls 21:00–09:00.
HARD_WINDOW = (dt.time(9, 0), dt.time(21, 0))
DNC_MIN_DAYS = 180

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return now_utc()


def fixed_time_of_day(hour: int, minute: int = 0, timezone: str = DEFAULT_TZ) -> Clock:
    """A clock that always reads today's ``hour:minute`` in ``timezone`` (the demo's window clock)."""

    def clock() -> dt.datetime:
        local = dt.datetime.now(ZoneInfo(timezone))
        return local.replace(hour=hour, minute=minute, second=0, microsecond=0)

    return clock


def as_utc(value: dt.datetime) -> dt.datetime:
    """Naive datetimes from the cache are UTC; aware ones are converted."""
    return aware_utc(value)


def _parse_hhmm(text: str) -> dt.time:
    hours, minutes = text.strip().split(":")
    if (int(hours), int(minutes)) == (24, 0):
        # "until midnight": refusing it would fall back to the default windows, wider than asked.
        return dt.time.max
    return dt.time(int(hours), int(minutes))


@dataclass(frozen=True)
class ComplianceRules:
    """One campaign's rules, shaped like ``rules["compliance"]`` in the cache."""

    windows: tuple[tuple[dt.time, dt.time], ...] = ((dt.time(9, 0), dt.time(21, 0)),)
    hard_window: tuple[dt.time, dt.time] = HARD_WINDOW
    max_attempts_per_day: int = 3
    min_minutes_between_attempts: int = 120
    dnc_min_days: int = DNC_MIN_DAYS
    timezone: str = DEFAULT_TZ

    @classmethod
    def from_campaign_rules(cls, rules: dict | None, timezone: str = DEFAULT_TZ) -> ComplianceRules:
        """Build from a campaign's ``rules`` JSON; bad values fall back to safe defaults."""
        comp = (rules or {}).get("compliance", rules or {}) or {}
        base = cls(timezone=timezone)
        try:
            windows = tuple(
                (_parse_hhmm(start), _parse_hhmm(end)) for start, end in comp.get("calling_windows", [])
            ) or base.windows
        except (ValueError, TypeError):
            windows = base.windows
        try:
            hard = comp.get("hard_window")
            hard_window = (_parse_hhmm(hard[0]), _parse_hhmm(hard[1])) if hard else HARD_WINDOW
        except (ValueError, TypeError, IndexError):
            hard_window = HARD_WINDOW
        # The legal window can only be narrowed by a campaign, never widened.
        hard_window = (max(hard_window[0], HARD_WINDOW[0]), min(hard_window[1], HARD_WINDOW[1]))
        return cls(
            windows=windows,
            hard_window=hard_window,
            max_attempts_per_day=int(comp.get("max_attempts_per_lead_per_day", base.max_attempts_per_day)),
            min_minutes_between_attempts=int(
                comp.get("min_minutes_between_attempts", base.min_minutes_between_attempts)
            ),
            # The regulation keeps a refusal blocked for at least 6 months.
            dnc_min_days=max(int(comp.get("dnc_min_days", DNC_MIN_DAYS)), DNC_MIN_DAYS),
            timezone=timezone,
        )


@dataclass(frozen=True)
class DncEntry:
    number_e164: str
    added_at: dt.datetime
    expires_at: dt.datetime | None = None
    source: str = "local"  # local | server


@dataclass(frozen=True)
class DialFacts:
    """What the cache knows about one number/lead at the moment of the dial."""

    attempts: Sequence[dt.datetime] = field(default_factory=tuple)  # dialed_at of earlier calls to the lead
    dnc: Sequence[DncEntry] = field(default_factory=tuple)  # entries matching the number
    callback_due: bool = False  # the customer asked to be called back now
    inbound_return: bool = False  # returning the customer's own call, not a marketing dial


@dataclass(frozen=True)
class GateResult:
    allowed: bool
    message: Message | None = None  # why, when blocked (a code the UI words; see core.messages)
    rule: str = ""  # machine name of the rule that blocked (window, hard_window, attempts, gap, dnc)

    @classmethod
    def ok(cls) -> GateResult:
        return cls(True)


def dnc_blocks(entry: DncEntry, now: dt.datetime, min_days: int = DNC_MIN_DAYS) -> bool:
    """An entry blocks until the later of its expiry and ``added_at + min_days``.

    A server entry with an earlier expiry cannot shorten the legal minimum.
    """
    floor = as_utc(entry.added_at) + dt.timedelta(days=min_days)
    if entry.expires_at is None:
        return True
    return as_utc(now) < max(as_utc(entry.expires_at), floor)


def _fmt(t: dt.time) -> str:
    return t.strftime("%H:%M")


class ComplianceGate:
    """``clock`` drives everything; ``window_clock`` (the embedded demo only) replaces it for the
    time-of-day checks, so a newcomer can try the loop at night without touching counts and gaps."""

    def __init__(self, clock: Clock = system_clock, window_clock: Clock | None = None) -> None:
        self._clock = clock
        self._window_clock = window_clock

    @property
    def simulated_windows(self) -> bool:
        return self._window_clock is not None

    def now(self) -> dt.datetime:
        return as_utc(self._clock())

    def local_now(self, rules: ComplianceRules) -> dt.datetime:
        return self.now().astimezone(ZoneInfo(rules.timezone))

    def local_day_start_utc(self, rules: ComplianceRules) -> dt.datetime:
        """Midnight of the customer's today, in naive UTC (how the cache stores times)."""
        local = self.local_now(rules)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight.astimezone(UTC).replace(tzinfo=None)

    def check(self, rules: ComplianceRules, facts: DialFacts) -> GateResult:
        now = self.now()
        for entry in facts.dnc:
            if dnc_blocks(entry, now, rules.dnc_min_days):
                code = msg.GATE_DNC_LOCAL if entry.source == "local" else msg.GATE_DNC_SERVER
                return GateResult(False, Message.of(code), "dnc")

        window_now = as_utc(self._window_clock()) if self._window_clock else now
        local = window_now.astimezone(ZoneInfo(rules.timezone))
        clock_time = local.time().replace(tzinfo=None)
        start, end = rules.hard_window
        if not (start <= clock_time < end):
            return GateResult(False, Message.of(msg.GATE_HARD_WINDOW, now=f"{local:%H:%M}", start=_fmt(start),
                                                end=_fmt(end)), "hard_window")
        # A customer-requested callback or a returned call may be made outside the
        # campaign's preferred windows, never outside the legal one.
        if not (facts.callback_due or facts.inbound_return) and not any(
            s <= clock_time < e for s, e in rules.windows
        ):
            spans = tuple(f"{_fmt(s)}–{_fmt(e)}" for s, e in rules.windows)
            return GateResult(False, Message.of(msg.GATE_WINDOW, now=f"{local:%H:%M}", windows=spans), "window")

        day_start = self.local_day_start_utc(rules).replace(tzinfo=UTC)
        today = sorted(a for a in (as_utc(x) for x in facts.attempts) if day_start <= a <= now)
        if len(today) >= rules.max_attempts_per_day:
            return GateResult(
                False, Message.of(msg.GATE_ATTEMPTS, count=len(today), limit=rules.max_attempts_per_day), "attempts"
            )
        if today and not facts.callback_due and rules.min_minutes_between_attempts > 0:
            gap = now - today[-1]
            needed = dt.timedelta(minutes=rules.min_minutes_between_attempts)
            if gap < needed:
                wait = max(1, -(-int((needed - gap).total_seconds()) // 60))  # ceiling
                return GateResult(
                    False, Message.of(msg.GATE_GAP, minutes=rules.min_minutes_between_attempts, wait=wait), "gap"
                )
        return GateResult.ok()
