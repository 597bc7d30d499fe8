"""Lead distribution (分配名单): how many leads each agent gets. Pure arithmetic.

``apportion`` is the largest-remainder method (Hamilton): each agent gets the integer part
of its exact share, and the leads left over go to the largest remainders (ties: the order
given, so the result is deterministic). ``floor`` first gives every agent that many leads
(when there are enough), so an agent with a zero conversion rate still gets some.
"""

from __future__ import annotations

from collections.abc import Sequence

EVEN, WEIGHTED = "even", "weighted"


def apportion(n: int, weights: Sequence[float], floor: int = 0) -> list[int]:
    """Split ``n`` into ``len(weights)`` non-negative integers summing to ``n``.

    Shares are proportional to ``weights`` (all zero or negative: equal shares), after
    each agent got ``floor`` (reduced evenly when ``n`` is too small for it)."""
    k = len(weights)
    if k == 0 or n <= 0:
        return [0] * k
    floor = max(0, min(floor, n // k))
    base = [floor] * k
    rest = n - floor * k
    w = [max(0.0, float(x)) for x in weights]
    total = sum(w)
    if total <= 0:
        w, total = [1.0] * k, float(k)
    exact = [rest * x / total for x in w]
    out = [b + int(e) for b, e in zip(base, exact, strict=True)]
    left = n - sum(out)
    order = sorted(range(k), key=lambda i: (-(exact[i] - int(exact[i])), i))
    for i in order[:left]:
        out[i] += 1
    return out


def weights_for(mode: str, conversion_rates: Sequence[float]) -> list[float]:
    """Even: equal weights; weighted: each agent's conversion rate over the period."""
    if mode == EVEN:
        return [1.0] * len(conversion_rates)
    if mode == WEIGHTED:
        return [max(0.0, float(r)) for r in conversion_rates]
    raise ValueError(f"unknown distribution mode {mode!r}")


def conversion_rate(conversions: int, connected: int) -> float:
    """Conversions per connected call (core.kpi's definition)."""
    return conversions / connected if connected else 0.0
