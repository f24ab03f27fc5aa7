"""Group statistics against numpy, the comparison against scipy's Welch test and an interval
computed here by hand, and the one-seed-each case that cannot tell anything."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from engine.stats import compare, summarize

A = [0.912, 0.905, 0.921, 0.917, 0.909]
B = [0.871, 0.894, 0.880]


def test_a_summary_is_numpy_s_mean_and_sample_std():
    summary = summarize(A)
    assert summary.n == 5 and summary.values == tuple(A)
    assert summary.mean == pytest.approx(np.mean(A))
    assert summary.std == pytest.approx(np.std(A, ddof=1))
    assert summary.text() == f"{np.mean(A):.2%} ± {np.std(A, ddof=1):.2%} (n = 5)"


def test_one_value_has_no_spread_and_none_has_no_mean():
    assert summarize([0.5]).std == 0.0 and summarize([0.5]).mean == 0.5
    empty = summarize([])
    assert empty.n == 0 and math.isnan(empty.mean) and "n = 0" in empty.text()


def test_the_comparison_is_welch_s_t_test_with_its_95_percent_interval():
    comparison = compare(A, B, names=("group A", "group B"))
    expected = scipy_stats.ttest_ind(A, B, equal_var=False)
    assert comparison.p_value == pytest.approx(expected.pvalue)
    # The Welch–Satterthwaite interval, by hand.
    va, vb = np.var(A, ddof=1) / len(A), np.var(B, ddof=1) / len(B)
    df = (va + vb) ** 2 / (va ** 2 / (len(A) - 1) + vb ** 2 / (len(B) - 1))
    half = scipy_stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    difference = np.mean(A) - np.mean(B)
    assert comparison.difference == pytest.approx(difference)
    assert comparison.interval == pytest.approx((difference - half, difference + half))
    assert comparison.beyond_noise is True
    assert comparison.sentence.startswith("Group A is higher by")
    assert "n = 5 and 3" in comparison.sentence and "seed-to-seed noise" in comparison.sentence


def test_a_difference_within_the_noise_is_called_so():
    a, b = [0.90, 0.92, 0.91], [0.905, 0.925, 0.90]
    comparison = compare(a, b)
    assert comparison.p_value == pytest.approx(
        scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert comparison.beyond_noise is False
    assert comparison.interval[0] < 0 < comparison.interval[1]
    assert "within the seed-to-seed noise" in comparison.sentence
    assert "n = 3 and 3" in comparison.sentence


def test_one_seed_each_cannot_tell_a_difference_from_noise():
    comparison = compare([0.95], [0.80])
    assert comparison.difference == pytest.approx(0.15)
    assert (comparison.p_value, comparison.interval, comparison.beyond_noise) == (
        None, None, None)
    assert comparison.sentence.startswith("One seed each (n = 1 and 1) cannot tell")
    assert "better" not in comparison.sentence.split(":")[0]
    one_side = compare([0.95], B)
    assert one_side.beyond_noise is None and "n = 1 and 3" in one_side.sentence


def test_sides_without_spread_or_without_values():
    same = compare([0.9, 0.9], [0.9, 0.9])
    assert same.beyond_noise is False and same.interval == (0.0, 0.0)
    apart = compare([0.9, 0.9], [0.8, 0.8])
    assert apart.beyond_noise is True
    nothing = compare([], B)
    assert nothing.beyond_noise is None and "no finished run" in nothing.sentence
