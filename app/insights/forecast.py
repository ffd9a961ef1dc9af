"""What comes next: a metric's forecast by day, week or month with prediction intervals.

The model is statsmodels' ``UnobservedComponents`` (a structural time series) on the log of
the series: a local linear trend (growth that may bend), a weekly cycle for daily series and a
yearly cycle (trigonometric terms, so 365.25 days or 52.18 weeks need no 365 seasonal
states) once two years of history exist. Chosen over Holt-Winters (one season only, no
365-day season in practice) and SARIMA (one seasonal period, slow at s=365); its Kalman filter
gives the intervals directly, and on the log scale the cycles are multiplicative, as a shop's
are (a November that is 50% busier, not a fixed amount busier).

The history is the daily series from the semantic layer, summed to weeks (the shop's week
start) or months; only whole days, weeks and months are used."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlglot import exp
from statsmodels.tsa.statespace.structural import UnobservedComponents

from app.errors import InvalidInput
from app.insights import numbers
from app.insights.anomalies import last_whole_day
from app.insights.source import MetricSource
from app.semantic.model import Metric, SemanticModel
from app.semantic.periods import add_months
from db.models.business import WEEKDAYS

GRAINS = ("day", "week", "month")
MAX_HORIZON = {"day": 366, "week": 104, "month": 24}
HISTORY_DAYS = 3 * 365
INTERVAL = 0.8  # an 80% prediction interval
YEARLY = {"day": 365.25, "week": 365.25 / 7, "month": 12.0}
MIN_POINTS = {"day": 28, "week": 12, "month": 12}


@dataclass(frozen=True)
class Point:
    start: date
    value: float
    lower: float
    upper: float

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "start": self.start.isoformat()}


@dataclass
class Forecast:
    metric: str
    label: str
    format: str
    grain: str
    horizon: int
    interval: float
    model: str
    history_from: date
    history_to: date
    points: list[Point]
    history: list[tuple[date, float]] = field(default_factory=list)
    text: str = ""
    sql: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in self.__dict__.items() if k not in ("points", "history")},
            "history_from": self.history_from.isoformat(),
            "history_to": self.history_to.isoformat(),
            "points": [p.to_dict() for p in self.points],
            "history": [{"start": d.isoformat(), "value": v} for d, v in self.history],
        }


def check(metric_format: str, grain: str, horizon: int) -> None:
    if grain not in GRAINS:
        raise InvalidInput(f"grain must be day, week or month, not {grain!r}", code="invalid_grain")
    if not 1 <= horizon <= MAX_HORIZON[grain]:
        raise InvalidInput(
            f"horizon must be 1 to {MAX_HORIZON[grain]} {grain}s, not {horizon}",
            code="invalid_horizon",
        )


def bucket_start(day: date, grain: str, week_start: int) -> date:
    if grain == "week":
        return day - timedelta(days=(day.weekday() - week_start) % 7)
    if grain == "month":
        return day.replace(day=1)
    return day


def buckets(
    first: date, values: list[float], grain: str, week_start: int, last: date
) -> list[tuple[date, float]]:
    """Daily values summed per bucket; only buckets that are whole within first..last."""
    sums: dict[date, float] = {}
    for offset, value in enumerate(values):
        start = bucket_start(first + timedelta(days=offset), grain, week_start)
        sums[start] = sums.get(start, 0.0) + value
    whole = []
    for start, total in sorted(sums.items()):
        end = next_start(start, grain) - timedelta(days=1)
        if start >= first and end <= last:
            whole.append((start, total))
    return whole


def next_start(start: date, grain: str) -> date:
    if grain == "month":
        return add_months(start, 1)
    return start + timedelta(days=7 if grain == "week" else 1)


def fit_and_forecast(
    values: np.ndarray[Any, np.dtype[np.float64]], grain: str, horizon: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], str]:
    """Mean, lower and upper bounds (original scale) and the model's description."""
    y = np.log1p(np.maximum(values, 0.0))
    seasons: list[dict[str, float]] = []
    described = ["local linear trend"]
    if grain == "day":
        seasons.append({"period": 7, "harmonics": 3})
        described.append("weekly cycle")
    if len(values) >= 2 * YEARLY[grain]:
        seasons.append({"period": YEARLY[grain], "harmonics": 4 if grain != "month" else 3})
        described.append("yearly cycle")
    model = UnobservedComponents(
        y,
        level="local linear trend",
        freq_seasonal=seasons or None,
        stochastic_freq_seasonal=[False] * len(seasons) or None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the fit is still the best found
        result = model.fit(disp=False, maxiter=200)
    predicted = result.get_forecast(horizon)
    mean = np.asarray(predicted.predicted_mean)
    bounds = np.asarray(predicted.conf_int(alpha=1 - INTERVAL))
    back = np.expm1
    return (
        back(mean),
        np.maximum(back(bounds[:, 0]), 0.0),
        back(bounds[:, 1]),
        "UnobservedComponents (log scale): " + ", ".join(described),
    )


def adds_up_over_time(model: SemanticModel, metric: Metric) -> bool:
    """A day's figures sum to the week's: sums, and counts of the rows themselves (orders,
    reviews...); not rates, nor distinct customers (one customer buys on several days)."""
    if not model.times(metric):
        return False  # a snapshot (stock now)
    if metric.derived:
        tree = metric.formula
        return not any(True for _ in tree.find_all(exp.Div)) if tree is not None else False
    if metric.per is not None or metric.first_per is not None or metric.measure is None:
        return False
    tree = metric.measure.tree
    if isinstance(tree, exp.Sum):
        return True
    counted = None
    if isinstance(tree, exp.Count) and isinstance(tree.this, exp.Distinct):
        counted = tree.this.expressions[0] if tree.this.expressions else None
    return isinstance(counted, exp.Column) and counted.name == "id"


async def forecast(
    source: MetricSource, metric_name: str, horizon: int, grain: str = "day"
) -> Forecast:
    model = source.model
    metric = model.metric(metric_name)
    check(metric.format, grain, horizon)
    if not adds_up_over_time(model, metric):
        raise InvalidInput(
            f"{metric.label} does not add up over days, so it is not forecast; forecast its "
            "parts (revenue, orders...) instead",
            code="not_forecastable",
        )
    if not model.times(metric):
        raise InvalidInput(f"{metric.label} is a snapshot, not a series", code="not_forecastable")
    last = await last_whole_day(source)
    first = last - timedelta(days=HISTORY_DAYS - 1)
    rows = await source.query(
        {"metrics": [metric.name], "grain": "day", "from_date": first, "to_date": last}
    )
    daily = [float(r.get(metric.name) or 0.0) for r in rows.rows]
    start = next((i for i, v in enumerate(daily) if v), len(daily))  # before the first sale
    first, daily = first + timedelta(days=start), daily[start:]
    week_start = WEEKDAYS.index(source.tenant.week_start)
    history = buckets(first, daily, grain, week_start, last)
    if len(history) < MIN_POINTS[grain]:
        raise InvalidInput(
            f"{metric.label} has {len(history)} whole {grain}s of history; a forecast by "
            f"{grain} needs at least {MIN_POINTS[grain]}",
            code="too_little_history",
        )
    values = np.array([v for _, v in history])
    mean, lower, upper, described = fit_and_forecast(values, grain, horizon)
    starts = [next_start(history[-1][0], grain)]
    while len(starts) < horizon:
        starts.append(next_start(starts[-1], grain))
    points = [
        Point(s, round(float(m), 2), round(float(lo), 2), round(float(hi), 2))
        for s, m, lo, hi in zip(starts, mean, lower, upper, strict=True)
    ]
    result = Forecast(
        metric=metric.name,
        label=metric.label,
        format=metric.format,
        grain=grain,
        horizon=horizon,
        interval=INTERVAL,
        model=described,
        history_from=history[0][0],
        history_to=last,
        points=points,
        history=[(d, round(v, 2)) for d, v in history[-3 * horizon :]],
        sql=list(source.sqls),
    )
    result.text = describe(result, source.tenant.currency)
    return result


def describe(f: Forecast, currency: str) -> str:
    total = sum(p.value for p in f.points)
    low = sum(p.lower for p in f.points)
    high = sum(p.upper for p in f.points)
    span = f"the next {f.horizon} {f.grain}{'s' if f.horizon > 1 else ''}"
    return (
        f"{f.label} forecast for {span} (from {f.points[0].start.isoformat()}): about "
        f"{numbers.figure(total, f.format, currency)} in all; each {f.grain} within its "
        f"{round(100 * f.interval)}% interval, the sum of the lower and upper bounds is "
        f"{numbers.figure(low, f.format, currency)} to {numbers.figure(high, f.format, currency)}. "
        f"Model: {f.model}, fitted on {f.history_from.isoformat()} to {f.history_to.isoformat()}."
    )
