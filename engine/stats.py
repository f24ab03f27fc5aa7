"""Numbers from several seeds: a summary (mean ± std, n) and whether two sets of runs differ
by more than the seed-to-seed noise (Welch's t-test, which does not assume both sides vary
alike).

Values are accuracies as fractions (0..1); sentences speak in percentage points. numpy and
scipy only (no torch), so the window and the command lines can use it cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95  # of the difference's interval
SIGNIFICANCE = 1 - CONFIDENCE  # a p-value below this is called beyond the noise


@dataclass(frozen=True)
class Summary:
    """n values, their mean and sample standard deviation (ddof=1; 0.0 for one value, nan
    for none)."""

    n: int
    mean: float
    std: float
    values: tuple[float, ...]

    def text(self) -> str:
        """As a person reads it: "97.10% ± 0.42% (n = 3)"; "no runs (n = 0)" when empty."""
        if self.n == 0:
            return "no finished runs (n = 0)"
        return f"{self.mean:.2%} ± {self.std:.2%} (n = {self.n})"


def summarize(values: Iterable[float]) -> Summary:
    kept = tuple(float(v) for v in values)
    if not kept:
        return Summary(0, math.nan, math.nan, ())
    array = np.asarray(kept)
    std = float(array.std(ddof=1)) if len(kept) > 1 else 0.0
    return Summary(len(kept), float(array.mean()), std, kept)


@dataclass(frozen=True)
class Comparison:
    """a against b: `difference` is a's mean minus b's; `interval` its 95% interval and
    `p_value` Welch's t-test's (None with fewer than 2 values on a side, when the noise
    cannot be measured); `beyond_noise` whether the difference is larger than the
    seed-to-seed noise (None when that cannot be told); `sentence` says it with n."""

    a: Summary
    b: Summary
    difference: float
    interval: tuple[float, float] | None
    p_value: float | None
    beyond_noise: bool | None
    sentence: str


def compare(a_values: Iterable[float], b_values: Iterable[float],
            names: tuple[str, str] = ("the first", "the second")) -> Comparison:
    """Whether a's values differ from b's by more than seed-to-seed noise; `names` name the
    two sides in the sentence."""
    a, b = summarize(a_values), summarize(b_values)
    counts = f"n = {a.n} and {b.n}"
    if a.n == 0 or b.n == 0:
        empty = names[0] if a.n == 0 else names[1]
        return Comparison(a, b, math.nan, None, None, None,
                          f"Nothing to compare ({counts}): {empty} has no finished run.")
    difference = a.mean - b.mean
    if a.n < 2 or b.n < 2:
        each = "One seed each" if a.n == b.n == 1 else "One seed on a side"
        return Comparison(a, b, difference, None, None, None, (
            f"{each} ({counts}) cannot tell a difference of {_points(difference)} from "
            "seed-to-seed noise: repeat each with several seeds to know which is better."))
    interval, p_value = _welch(a, b)
    beyond = p_value < SIGNIFICANCE
    if beyond:
        higher = names[0] if difference > 0 else names[1]
        sentence = (f"{higher[0].upper() + higher[1:]} is higher by {_points(abs(difference))}"
                    f" ({_measured(interval, p_value, counts)}): larger than the seed-to-seed "
                    "noise.")
    else:
        sentence = (f"The difference, {_points(difference)} "
                    f"({_measured(interval, p_value, counts)}), is within the seed-to-seed "
                    f"noise: these seeds cannot tell {names[0]} and {names[1]} apart.")
    return Comparison(a, b, difference, interval, p_value, beyond, sentence)


def _welch(a: Summary, b: Summary) -> tuple[tuple[float, float], float]:
    """The 95% interval of a.mean - b.mean (Welch–Satterthwaite degrees of freedom) and the
    two-sided p-value of Welch's t-test."""
    # scipy.stats is imported here, not with the module, which the window imports at start:
    # imported there, it made the window's import ~0.7 s slower and the first run's start
    # stall the window's event loop for ~220 ms (bench/gui_overhead.py).
    from scipy import stats

    difference = a.mean - b.mean
    va, vb = a.std ** 2 / a.n, b.std ** 2 / b.n
    error = math.sqrt(va + vb)
    if error == 0.0:  # every seed gave the same value on both sides: no noise at all
        return (difference, difference), (1.0 if difference == 0 else 0.0)
    df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df)) * error
    p_value = float(stats.ttest_ind(a.values, b.values, equal_var=False).pvalue)
    return (difference - half, difference + half), p_value


def _measured(interval: tuple[float, float], p_value: float, counts: str) -> str:
    low, high = (f"{value * 100:.2f}" for value in interval)
    return f"95% interval {low} to {high} points; Welch's t-test p = {p_value:.3g}, {counts}"


def _points(fraction: float) -> str:
    """A difference of accuracies in percentage points: "1.23 points"."""
    return f"{fraction * 100:.2f} points"
