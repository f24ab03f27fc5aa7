"""How a probability is written for a person, wherever the window shows one."""


def format_probability(p: float) -> str:
    """'97.3%', '>99.9%' (never a rounded-up '100.0%' the model is not), '<0.1%' (never
    '0.0%')."""
    if p >= 0.9995:
        return ">99.9%"
    if p < 0.0005:
        return "<0.1%"
    return f"{p:.1%}"
