"""Which learning rate to try next after a run that learned nothing: pure, no torch.

The advice is built from the rates the run actually used: its settings' rate, and every
rate a person set while it was paused (`SettingsChanged` records). It never suggests a rate
outside SENSIBLE_LR, and never the rate that already failed before a change: a network
that a too-high rate left stuck near guessing stays stuck when the rate is lowered during
the run, so the advice is then to train again from the start, below the rate that broke it.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.catalog import OPTIMIZER_TITLES

# Above these the learning rate is more likely too high than the data too hard, per optimizer.
HIGH_LR = {"sgd": 1.0, "adam": 0.05, "adamw": 0.05}
LOW_LR = {"sgd": 1e-4, "adam": 1e-5, "adamw": 1e-5}
# The usual starting rate of each optimizer (as the settings' help says).
TYPICAL_LR = {"sgd": 0.1, "adam": 1e-3, "adamw": 1e-3}
# No rate is ever suggested outside this range; a rate below it trains nothing at all.
SENSIBLE_LR = (1e-6, 1.0)


def rates_used(lr: float, changes: Sequence[dict] = ()) -> list[tuple[int, float]]:
    """(epoch from which, rate) of each learning rate a run trained with, in order; `lr`
    is the last (the settings as changed), `changes` the run's SettingsChanged records."""
    steps = [(int(c["epoch"]), float(c["changes"]["lr"][0]), float(c["changes"]["lr"][1]))
             for c in changes if "lr" in c.get("changes", {})]
    if not steps:
        return [(1, lr)]
    used = [(1, steps[0][1])] + [(epoch, new) for epoch, _old, new in steps]
    return [pair for i, pair in enumerate(used) if i == 0 or pair[1] != used[i - 1][1]]


def _clamped(lr: float) -> float:
    low, high = SENSIBLE_LR
    return min(max(lr, low), high)


def _untried(lr: float, used: list[tuple[int, float]]) -> float:
    """lr, or 10 times lower while it is within a factor of 2 of a rate the run already
    used (and failed with)."""
    for _ in range(3):
        if not any(0.5 < lr / rate < 2 for _epoch, rate in used[:-1]):
            break
        lr /= 10
    return _clamped(lr)


def _history_text(used: list[tuple[int, float]]) -> str:
    parts = [f"{used[0][1]:g}"] + [f"{lr:g} from epoch {epoch}" for epoch, lr in used[1:]]
    return "The learning rate was changed during the run: " + ", then ".join(parts) + "."


def rate_advice(loss_text: str, optimizer: str, lr: float, last_loss: float,
                guess_loss: float, changes: Sequence[dict] = ()) -> str:
    """The sentences on the learning rate after `loss_text` (how the training loss went).

    A training loss above guessing's overshoots (rate too high); one that stays close to it
    barely moved (too low), unless a higher rate already failed in this same run.
    """
    used = rates_used(lr, changes)
    changed = f" {_history_text(used)}" if len(used) > 1 else ""
    high_at = HIGH_LR.get(optimizer, 1.0)
    if lr < SENSIBLE_LR[0]:
        typical = TYPICAL_LR.get(optimizer, 1e-3)
        return (f"{loss_text}: the learning rate {lr:g} is far too small to train anything."
                f"{changed} Try a usual rate for {OPTIMIZER_TITLES.get(optimizer, optimizer)}: "
                f"{typical:g}.")
    if lr >= high_at or last_loss > 1.2 * guess_loss:
        step = 100 if lr >= high_at else 10
        return (f"{loss_text}: the learning rate {lr:g} is probably too high.{changed} "
                f"Try {_untried(lr / step, used):g}.")
    if lr <= LOW_LR.get(optimizer, 1e-5) or last_loss >= 0.9 * guess_loss:
        higher = max(rate for _epoch, rate in used)
        if higher > lr:
            # Stuck near guessing after a higher rate: that rate broke the network.
            retry = _clamped(higher / (100 if higher >= high_at else 10))
            return (f"{loss_text}.{changed} Training at {higher:g} first can leave a "
                    f"network stuck near guessing for good: lowering the rate during the run "
                    f"does not undo that. Train again from the start at {retry:g}.")
        return (f"{loss_text}: the learning rate {lr:g} is probably too low, or the run too "
                f"short.{changed} Try {_clamped(lr * 10):g}, or more epochs.")
    return (f"{loss_text}.{changed} Try a learning rate 10 times lower "
            f"({_untried(lr / 10, used):g}) or more epochs, and check that the images and their "
            "labels match.")
