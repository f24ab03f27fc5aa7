"""Durations as a person says them: "2 h 10 min", "18 min", "40 s" (torch-free)."""

from __future__ import annotations

from engine.events import RunEstimate


def rough_duration(seconds: float) -> str:
    """Rounded to what matters at that scale: seconds under a minute, minutes under an hour
    (10 s steps below 10 min would be noise for an estimate), then hours and minutes."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours >= 10:  # "31 h" rather than a precision the estimate does not have
        return f"{hours + (minutes >= 30)} h"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def estimate_sentence(estimate: RunEstimate) -> str:
    """One line for the log and the console, e.g. "Estimated time: about 2 h 10 min for 5
    epochs (26 min per epoch) on CPU."."""
    epochs = f"{estimate.epochs} epoch{'s' if estimate.epochs != 1 else ''}"
    return (f"Estimated time: about {rough_duration(estimate.total_seconds)} for {epochs} "
            f"({rough_duration(estimate.seconds_per_epoch)} per epoch) on {estimate.device}.")
