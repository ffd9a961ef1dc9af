"""Days that were not as expected: daily series of the main metrics, overall and per value of
the key dimensions, each decomposed with a robust STL (statsmodels: trend, weekly season,
residual; robust weights so that the odd day does not bend the trend). A day of the checked
window is an anomaly when its residual is beyond ``Z_LIMIT`` robust standard deviations (the
MAD of the series' residuals) and at least ``MIN_RELATIVE`` of what was expected.

``find_anomalies`` is what ``bichat anomalies`` and the digests call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from statsmodels.tsa.seasonal import STL

from app.errors import InvalidInput
from app.insights.source import MetricSource, Rows

MAIN_METRICS = ("revenue", "orders")
KEY_DIMENSIONS = ("channel", "shipping_country", "segment", "department")
DEFAULT_DAYS = 28
MAX_DAYS = 366
TRAINING_DAYS = 56  # eight weeks before the checked window teach the series' normal
Z_LIMIT = 5.5  # a false alarm in a digest costs trust: only days far beyond the noise
MIN_RELATIVE = 0.3
MIN_DAILY_ORDERS = 10.0  # a series averaging fewer orders a day is too thin to judge
MAD_TO_SD = 1.4826
LATE_HOUR = 18
NEIGHBOURS = 3
COUNT_NOISE = 1.0
BASKET_NOISE = 1.5  # sd of a day's takings / (its mean basket * sqrt(orders)), baskets vary


@dataclass(frozen=True)
class Anomaly:
    metric: str
    metric_label: str
    format: str
    dimension: str | None  # None: the whole shop
    value: str | None
    day: date
    actual: float
    expected: float
    deviation: float  # actual - expected
    deviation_pct: float | None
    z: float  # robust standard deviations away
    direction: str  # "high" or "low"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "day": self.day.isoformat()}

    def sentence(self) -> str:
        where = f" ({self.dimension} {self.value})" if self.dimension else ""
        pct = f"{self.deviation_pct:+.0f}%" if self.deviation_pct is not None else ""
        return (
            f"{self.day.isoformat()}: {self.metric_label}{where} {self.direction}, "
            f"{self.actual:,.2f} against {self.expected:,.2f} expected ({pct}, z {self.z:.1f})"
        )


@dataclass(frozen=True)
class Series:
    metric: str
    dimension: str | None
    value: str | None
    values: np.ndarray[Any, np.dtype[np.float64]]


def detect(
    values: Sequence[float], checked: int, floor: Callable[[int, float], float] | None = None
) -> list[tuple[int, float, float, float]]:
    """``(index, actual, expected, z)`` of the anomalous points among the last ``checked``;
    ``floor(index, expected)``: the least standard deviation a day may have (counting noise:
    a day of 9 orders instead of 4 is not a robust-z of 6)."""
    y = np.asarray(values, dtype=float)
    if len(y) < 3 * 7 or not np.any(y):
        return []
    fit = STL(y, period=7, robust=True).fit()
    expected = fit.trend + fit.seasonal
    residual = y - expected
    training = residual[: len(y) - checked]
    spread = MAD_TO_SD * float(np.median(np.abs(training - np.median(training))))
    tail = float(np.quantile(np.abs(training), 0.9)) / 1.645  # heavy tails (dear baskets)
    scale = max(spread, tail, 1e-9, 0.02 * float(np.mean(np.abs(y))))
    found = []
    for index in range(len(y) - checked, len(y)):
        least = floor(index, float(expected[index])) if floor else 0.0
        z = (residual[index] - shifted_level(residual, index)) / max(scale, least)
        if abs(z) >= Z_LIMIT and abs(residual[index]) >= MIN_RELATIVE * abs(expected[index]):
            found.append((index, float(y[index]), float(expected[index]), float(z)))
    return found


def shifted_level(residual: np.ndarray[Any, np.dtype[np.float64]], index: int) -> float:
    """How far the days on one side of ``index`` are off in the same direction (a level shift
    the trend is still catching up with, such as a new month's higher season): a day is an
    anomaly only beyond its neighbours."""
    here = residual[index]
    sides = [
        residual[max(0, index - NEIGHBOURS) : index],
        residual[index + 1 : index + 1 + NEIGHBOURS],
    ]
    levels = [float(np.median(side)) for side in sides if len(side)]
    same = [level for level in levels if level * here > 0]
    return max(same, key=abs) if same else 0.0


async def window(source: MetricSource, days: int) -> tuple[date, date]:
    """The days read (training and checked), ending with the last whole day of data: yesterday,
    or earlier when the shop's data stops earlier (a day whose last order came before
    ``LATE_HOUR`` is taken as not loaded in full, not as a slump)."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be 1 to {MAX_DAYS}, not {days}", code="invalid_days")
    last = await last_whole_day(source)
    return last - timedelta(days=days + TRAINING_DAYS - 1), last


async def last_whole_day(source: MetricSource) -> date:
    """Yesterday, or the last day of the shop's data when it stops earlier (a day whose last
    order came before ``LATE_HOUR`` is taken as not loaded in full)."""
    last = source.today() - timedelta(days=1)
    latest = await latest_day(source, last)
    if latest is not None:
        hours = await source.query(
            {"metrics": ["placed_orders"], "grain": "hour", "from_date": latest, "to_date": latest}
        )
        active = [int(time_of(hours, r)) for r in hours.rows if r.get("placed_orders")]
        last = latest if active and max(active) >= LATE_HOUR else latest - timedelta(days=1)
    return last


def time_of(rows: Rows, row: dict[str, Any]) -> Any:
    roles = rows.result.to_dict()["column_roles"]
    return row[next(c for c, role in roles.items() if role == "time")]


async def latest_day(source: MetricSource, last: date) -> date | None:
    """The last day up to ``last`` with orders placed, within two weeks."""
    rows = await source.query(
        {
            "metrics": ["placed_orders"],
            "grain": "day",
            "from_date": last - timedelta(days=13),
            "to_date": last,
        }
    )
    days = [str(time_of(rows, r))[:10] for r in rows.rows if r.get("placed_orders")]
    return date.fromisoformat(max(days)) if days else None


async def daily_series(
    source: MetricSource, metrics: Sequence[str], dimension: str | None, first: date, last: date
) -> list[Series]:
    """One series per metric (and per value of ``dimension``), every day filled (0 if none)."""
    query: dict[str, Any] = {
        "metrics": list(metrics),
        "grain": "day",
        "from_date": first,
        "to_date": last,
        **({"by": [dimension]} if dimension else {}),
    }
    rows = await source.query(query)
    span = (last - first).days + 1
    found: dict[tuple[str, str | None], np.ndarray[Any, np.dtype[np.float64]]] = {}
    for row in rows.rows:
        day = time_of(rows, row)
        index = (date.fromisoformat(str(day)[:10]) - first).days
        value = None if dimension is None else str(row.get(dimension) or "(none)")
        for metric in metrics:
            series = found.setdefault((metric, value), np.zeros(span))
            if 0 <= index < span and row.get(metric) is not None:
                series[index] = float(row[metric])
    return [Series(m, dimension, v, values) for (m, v), values in found.items()]


def thick_enough(series: list[Series], training: int) -> set[str | None]:
    """Values whose orders average ``MIN_DAILY_ORDERS`` a day before the checked window."""
    counts = [s for s in series if s.metric == "orders"]
    if not counts:
        return {s.value for s in series}
    return {s.value for s in counts if float(np.mean(s.values[:training])) >= MIN_DAILY_ORDERS}


async def find_anomalies(
    source: MetricSource,
    *,
    days: int = DEFAULT_DAYS,
    metrics: Sequence[str] = MAIN_METRICS,
    dimensions: Sequence[str] = KEY_DIMENSIONS,
) -> list[Anomaly]:
    """The anomalies of the last ``days`` whole days, overall and per value of each
    dimension, largest first."""
    first, last = await window(source, days)
    model = source.model
    chosen = [model.metric(m) for m in metrics]
    asked = list(dict.fromkeys([*metrics, "orders"]))
    found: list[Anomaly] = []
    for dimension in [None, *dimensions]:
        allowed = [
            m.name
            for m in chosen
            if dimension is None or dimension in model.allowed_dimensions(m.name)
        ]
        if not allowed:
            continue
        series = await daily_series(source, asked, dimension, first, last)
        kept = thick_enough(series, TRAINING_DAYS)
        counts = {s.value: s.values for s in series if s.metric == "orders"}
        for one in series:
            if one.metric in allowed and one.value in kept:
                found += anomalies_of(one, source, first, days, counts.get(one.value))
    return sorted(found, key=lambda a: (-abs(a.z), a.day, a.metric))


def counting_noise(
    fmt: str, orders: np.ndarray[Any, np.dtype[np.float64]] | None
) -> Callable[[int, float], float]:
    """The least standard deviation of a day: Poisson for counts (sqrt of what was expected),
    and for money a compound Poisson of the day's orders (each basket adds its own spread)."""

    def floor(index: int, expected: float) -> float:
        if fmt == "count":
            return COUNT_NOISE * float(np.sqrt(max(expected, 1.0)))
        if orders is None:
            return 0.0
        usual = float(np.mean(orders[max(0, index - 28) : index + 1])) or 1.0
        return BASKET_NOISE * abs(expected) / float(np.sqrt(max(usual, 1.0)))

    return floor


def anomalies_of(
    series: Series,
    source: MetricSource,
    first: date,
    days: int,
    orders: np.ndarray[Any, np.dtype[np.float64]] | None,
) -> list[Anomaly]:
    metric = source.model.metric(series.metric)
    floor = counting_noise(metric.format, orders)
    found = []
    for index, actual, expected, z in detect(series.values.tolist(), days, floor):
        deviation = actual - expected
        found.append(
            Anomaly(
                metric=metric.name,
                metric_label=metric.label,
                format=metric.format,
                dimension=series.dimension,
                value=series.value,
                day=first + timedelta(days=index),
                actual=round(actual, 2),
                expected=round(expected, 2),
                deviation=round(deviation, 2),
                deviation_pct=round(100 * deviation / abs(expected), 1) if expected else None,
                z=round(z, 2),
                direction="high" if deviation > 0 else "low",
            )
        )
    return found
