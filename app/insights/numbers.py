"""Figures as an owner reads them in an insight's sentences: money with the shop's currency,
percentages, counts; changes with their sign."""

from __future__ import annotations

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "AUD": "A$", "CAD": "C$"}


def figure(value: float | None, fmt: str, currency: str) -> str:
    if value is None:
        return "—"
    if fmt == "money":
        symbol = SYMBOLS.get(currency)
        amount = f"{abs(value):,.2f}"
        text = f"{symbol}{amount}" if symbol else f"{amount} {currency}"
        return f"-{text}" if value < 0 else text
    if fmt == "percent":
        return f"{value:,.2f}%"
    if fmt in ("rating", "ratio"):
        return f"{value:,.2f}"
    if fmt == "duration":
        return f"{value:,.2f} days"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def change(value: float, fmt: str, currency: str) -> str:
    """A change with its sign (``+€120.00``, ``-3``); percent metrics in points."""
    sign = "+" if value > 0 else "-" if value < 0 else "±"
    if fmt == "percent":
        return f"{sign}{abs(value):,.2f} points"
    return sign + figure(abs(value), fmt, currency)


def percent(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.1f}%"
