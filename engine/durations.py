"""Durations as a person says them: "2 h 10 min", "18 min", "40 s" (torch-free)."""

from __future__ import annotations


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
