"""Time phrases: "last month", "the last 90 days", "this year so far", "YTD", "in March",
"Q3 2025", "yesterday", "since January", "between 1 March and 15 April 2025", "last week vs the
week before", "daily", "by month"... become the semantic layer's periods (``last-month``,
``last-90-days``, ``ytd``, ``march``, ``q3-2025``), from/to dates, a grain and a comparison.

No date library: the phrases a shop owner uses are a small closed grammar, and their meaning
is the *shop's calendar* (its timezone, its week, a month without a year being the most recent
complete one), which the semantic layer resolves against a clock tests can freeze. A library
such as dateparser turns text into one instant (``last month`` -> a date a month ago), not a
calendar period, and costs milliseconds per call."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from app.questions.sentence import Found, Sentence
from app.semantic.periods import MONTHS, add_months

UNITS = r"(hour|day|week|month|quarter|year)"
UNIT_WORD = {"hour": "hour", "day": "day", "week": "week", "month": "month", "quarter": "quarter"}
LEAD = r"(?:(?:in|over|during|for|within|from|of|on|at|across|throughout) )?(?:the )?"
MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
YEAR = r"((?:19|20)\d\d)"
DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
ORDINAL_QUARTER = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3}
ORDINAL_QUARTER |= {"fourth": 4, "4th": 4, "last": 4}
GRAINS = {
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "quarterly": "quarter",
    "yearly": "year",
    "annually": "year",
    "annual": "year",
    "hourly": "hour",
}
COMPLETE = r"(?:complete|full|whole|entire|finished|closed) "


@dataclass
class TimeSpec:
    """One period the question names: a semantic period name, or days from..to."""

    period: str | None = None
    from_date: date | None = None
    to_date: date | None = None
    said: str = ""

    def key(self) -> tuple[str | None, date | None, date | None]:
        return (self.period, self.from_date, self.to_date)


@dataclass
class TimeReading:
    periods: list[TimeSpec] = field(default_factory=list)
    grain: str | None = None
    compare: str | None = None  # previous | year
    future: bool = False
    series: bool = False  # "each of the last 7 days": one row per unit
    whole_days: bool = False  # "not today": the last N days are complete days
    problems: list[str] = field(default_factory=list)

    @property
    def period(self) -> TimeSpec | None:
        return self.periods[0] if self.periods else None


def read_times(sentence: Sentence, today: date) -> TimeReading:
    reading = TimeReading()
    comparisons(sentence, reading)
    not_today(sentence, reading)
    for reader in (relative, calendar_units, ranges, named_days, quarters, months, years, dates):
        reader(sentence, reading, today)
    all_time(sentence, reading)
    grains(sentence, reading)
    future(sentence, reading)
    if reading.whole_days:
        for spec in reading.periods:
            if spec.period and re.fullmatch(r"last-\d+-days", spec.period):
                spec.period = spec.period.replace("last-", "previous-", 1)
    distinct: dict[tuple[str | None, date | None, date | None], TimeSpec] = {}
    for spec in reading.periods:
        distinct.setdefault(spec.key(), spec)
    reading.periods = list(distinct.values())
    return reading


def take(sentence: Sentence, found: Found, tag: str = "time") -> None:
    sentence.claim(found.start, found.end, tag)


def add(reading: TimeReading, sentence: Sentence, found: Found, **fields: object) -> None:
    reading.periods.append(TimeSpec(said=sentence.raw(found.start, found.end), **fields))  # type: ignore[arg-type]
    take(sentence, found)


# ----- the readers ---------------------------------------------------------------------------


def comparisons(sentence: Sentence, reading: TimeReading) -> None:
    """ "vs the week before", "compared with last year", "year over year", "month on month"."""
    patterns = {
        r"(?:vs\.?|versus|compared (?:to|with)|against|than|relative to|over) (?:the )?(?:same "
        r"(?:period|day|week|month|quarter|time) )?(?:a year (?:ago|earlier|before)|(?:the )?"
        r"(?:previous|prior|last) year|last year's)": "year",
        r"year (?:over|on) year|yoy|y/y|a year (?:ago|earlier|before)|same (?:period|day|week|"
        r"month|quarter|time) (?:last|a) year|previous year's|last year's": "year",
        r"(?:vs\.?|versus|compared (?:to|with)|against|than|relative to|over) (?:the )?"
        r"(?:(?:week|month|quarter|day|year|period) before(?: that)?|previous (?:week|month|"
        r"quarter|day|period)|prior (?:week|month|quarter|day|period)|one before)": "previous",
        r"(?:the )?(?:week|month|quarter|day|period) before(?: that)?": "previous",
        r"(?:period|week|month|quarter|day) (?:over|on) (?:period|week|month|quarter|day)|"
        r"(?:mom|wow|qoq|pop)": "previous",
    }
    for pattern, kind in patterns.items():
        for found in list(sentence.find(pattern)):
            reading.compare = reading.compare or kind
            take(sentence, found, "compare")
    for found in list(sentence.find(r"(week|month|quarter) (?:over|on) \1")):
        reading.grain = reading.grain or found.groups[0]


def relative(sentence: Sentence, reading: TimeReading, today: date) -> None:
    """The last N units (rolling) or N complete units, and "the past week" (rolling)."""
    series = r"((?:for |in )?(?:each|every one|every) of )?"
    number = LEAD + series + r"(?:the )?(last|past|previous|prior|recent|latest) (\d+) "
    for found in list(sentence.find(number + r"(" + COMPLETE + r")?" + UNITS)):
        each, kind, count, complete, unit = found.groups
        whole = bool(complete) or kind in ("previous", "prior")
        if whole and unit == "hour":
            whole = False
        name = f"{'previous' if whole else 'last'}-{count}-{unit}s"
        add(reading, sentence, found, period=name)
        if each:
            reading.series, reading.grain = True, unit
    single = LEAD + r"(?:the )(last|past|previous|recent) " + UNITS
    for found in list(sentence.find(single)):  # "the past week": 7 days up to now
        add(reading, sentence, found, period=f"last-1-{found.groups[1]}s")
    for found in list(sentence.find(r"(\d+) " + UNITS + r" ago")):
        if found.groups[1] == "day":
            day = today - timedelta(days=int(found.groups[0] or 0))
            add(reading, sentence, found, from_date=day, to_date=day)


def calendar_units(sentence: Sentence, reading: TimeReading, today: date) -> None:
    this = LEAD + r"(?:so far )?(?:this|current|the current) (?:calendar )?(week|month|quarter|"
    this += r"year)(?: so far| to date)?"
    for found in list(sentence.find(this)):
        add(reading, sentence, found, period=f"this-{found.groups[0]}")
    for found in list(sentence.find(LEAD + r"(week|month|quarter|year) to date|(wtd|mtd|qtd|ytd)")):
        unit = found.groups[0] or {"wtd": "week", "mtd": "month", "qtd": "quarter"}.get(
            str(found.groups[1]), "year"
        )
        add(reading, sentence, found, period=f"this-{unit}")
    last = LEAD + r"(?:last|previous|prior|past) calendar (week|month|quarter|year)|"
    last += r"(?:in |during |for |over |from )?(?:last|previous|prior) (week|month|quarter|year)"
    for found in list(sentence.find(last)):
        add(reading, sentence, found, period=f"last-{found.groups[0] or found.groups[1]}")


def named_days(sentence: Sentence, reading: TimeReading, today: date) -> None:
    for found in list(sentence.find(r"(?:so far )?today(?: so far)?|tonight|this morning")):
        add(reading, sentence, found, period="today")
    for found in list(sentence.find(LEAD + r"yesterday")):
        add(reading, sentence, found, period="yesterday")


def quarters(sentence: Sentence, reading: TimeReading, today: date) -> None:
    for found in list(sentence.find(LEAD + r"q([1-4])(?: of)?(?: " + YEAR + ")?")):
        quarter, year = found.groups
        add(reading, sentence, found, period=f"q{quarter}" + (f"-{year}" if year else ""))
    ordinal = LEAD + r"(first|1st|second|2nd|third|3rd|fourth|4th) quarter(?: of)?(?: " + YEAR
    for found in list(sentence.find(ordinal + ")?")):
        number, year = ORDINAL_QUARTER[str(found.groups[0])], found.groups[1]
        add(reading, sentence, found, period=f"q{number}" + (f"-{year}" if year else ""))


def months(sentence: Sentence, reading: TimeReading, today: date) -> None:
    for found in list(sentence.find(LEAD + MONTH + r"(?: (?:of )?" + YEAR + ")?")):
        name, year = found.groups
        if name in ("may", "march") and not year and not leads(found):
            continue  # "may" and "march" are also verbs: only "in May", "May 2025"
        add(reading, sentence, found, period=f"{name}-{year}" if year else str(name))


def leads(found: Found) -> bool:
    return bool(re.match(r"(?:in|over|during|for|within|from|of|on|at|since) ", found.text))


def years(sentence: Sentence, reading: TimeReading, today: date) -> None:
    pattern = r"(?:(?:in|during|for|of|over) )?(?:the )?(?:year )?" + YEAR
    pattern += r"(?! (?:order|unit|product|customer|item|review|sale|time|piece|visit|view))"
    for found in list(sentence.find(pattern)):
        add(reading, sentence, found, period=str(found.groups[0]))


def dates(sentence: Sentence, reading: TimeReading, today: date) -> None:
    """Single days: 2025-03-05, 5 March 2025, March 5th."""
    for found in list(sentence.find(r"(?:on )?(\d{4}-\d{2}-\d{2})")):
        day = iso_day(str(found.groups[0]))
        if day is not None:
            add(reading, sentence, found, from_date=day, to_date=day)
    for found in list(sentence.find(r"(\d{4})-(\d{2})")):
        add(reading, sentence, found, period=f"{found.groups[0]}-{found.groups[1]}")
    for found in list(sentence.find(LEAD + DAY + " " + MONTH + r"(?: " + YEAR + ")?")):
        day = day_of(found.groups[2], found.groups[1], found.groups[0], today)
        if day is not None:
            add(reading, sentence, found, from_date=day, to_date=day)
    for found in list(sentence.find(LEAD + MONTH + " " + DAY + r"(?: " + YEAR + ")?")):
        day = day_of(found.groups[2], found.groups[0], found.groups[1], today)
        if day is not None:
            add(reading, sentence, found, from_date=day, to_date=day)


def ranges(sentence: Sentence, reading: TimeReading, today: date) -> None:
    """since X, between X and Y, from X to Y, until X (X a date, a month or a year)."""
    point = r"(\d{4}-\d{2}-\d{2}|" + DAY + " " + MONTH + r"(?: " + YEAR + ")?|" + MONTH
    point += r"(?: " + DAY + r")?(?: " + YEAR + r")?|" + YEAR + ")"
    for found in list(sentence.find(r"since (?:the (?:beginning|start) of )?" + point)):
        first = start_of(found.groups[0], today)
        if first is not None:
            add(reading, sentence, found, from_date=first, to_date=today)
    for found in list(
        sentence.find(r"(?:between|from) " + point + r" (?:and|to|until|till) " + point)
    ):
        groups = found.groups
        middle = len(groups) // 2
        opening, closing = str(groups[0]), str(groups[middle])
        year = re.search(YEAR + "$", closing)
        if year and not re.search(YEAR, opening):  # "1 March and 15 April 2025"
            opening += f" {year.group(1)}"
        first = start_of(opening, today)
        last = end_of(closing, today, first)
        if first is not None and last is not None:
            add(reading, sentence, found, from_date=first, to_date=last)
    for found in list(sentence.find(r"(?:until|till|up to|before) " + point)):
        last = end_of(found.groups[0], today, None)
        if last is not None:
            add(reading, sentence, found, from_date=None, to_date=last)


def not_today(sentence: Sentence, reading: TimeReading) -> None:
    """ "(not today)", "excluding today": whole days only."""
    pattern = r"\(?(?:not|excluding|except|without|but not|leaving out) (?:including )?today\)?"
    for found in list(sentence.find(pattern)):
        reading.whole_days = True
        take(sentence, found)


def all_time(sentence: Sentence, reading: TimeReading) -> None:
    pattern = LEAD + r"(?:all time|ever|lifetime|since (?:we|the shop|the store) (?:started|"
    pattern += r"opened|began)|since the (?:beginning|start)|whole history|entire history)"
    for found in list(sentence.find(r"(?:of )?" + pattern)):
        add(reading, sentence, found, period="all")


def grains(sentence: Sentence, reading: TimeReading) -> None:
    for found in list(sentence.find("|".join(GRAINS))):
        reading.grain = reading.grain or GRAINS[found.text]
        take(sentence, found, "grain")
    marker = r"(?:per|by|each|every|a|for each|for every|in each|broken down by|split by|"
    marker += r"grouped by|over) "
    pattern = marker + r"(hour|day|week|month|quarter|year|weekday)(?: of the (?:day|week))?"
    for found in list(sentence.find(pattern)):
        reading.grain = reading.grain or found.groups[0]
        take(sentence, found, "grain")
    for found in list(sentence.find(r"(?:by |per |each )?(?:day|time) of (?:the )?week")):
        reading.grain = reading.grain or "weekday"
        take(sentence, found, "grain")
    for found in list(sentence.find(r"(?:by |per )?(?:hour|time) of (?:the )?day")):
        reading.grain = reading.grain or "hour"
        take(sentence, found, "grain")
    for found in list(sentence.find(r"(day|week|month|quarter|year) by \1")):
        reading.grain = reading.grain or found.groups[0]
        take(sentence, found, "grain")
    for found in list(sentence.find(r"over time|trend(?:ing)?|time series|evolution")):
        reading.grain = reading.grain or "trend"
        take(sentence, found, "grain")


def future(sentence: Sentence, reading: TimeReading) -> None:
    pattern = r"tomorrow|next (?:\d+ )?(?:day|week|month|quarter|year|season)|(?:in )?the "
    pattern += r"(?:coming|next|upcoming) (?:\d+ )?(?:day|week|month|quarter|year)"
    for found in list(sentence.find(pattern)):
        reading.future = True
        take(sentence, found, "future")


# ----- dates ---------------------------------------------------------------------------------


def iso_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def day_of(year: str | None, month: str | None, day: str | None, today: date) -> date | None:
    if month not in MONTHS or day is None:
        return None
    number = MONTHS[month]
    chosen = int(year) if year else today.year
    try:
        found = date(chosen, number, int(day))
    except ValueError:
        return None
    if not year and found > today:
        found = found.replace(year=chosen - 1)
    return found


def start_of(text: str | None, today: date) -> date | None:
    """The first day a point names: a day, the 1st of a month (the most recent one without
    a year), 1 January of a year."""
    if text is None:
        return None
    words = text.split()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return iso_day(text)
    if re.fullmatch(YEAR, text):
        return date(int(text), 1, 1)
    month = next((w.rstrip(".") for w in words if w.rstrip(".") in MONTHS), None)
    day = next((w for w in words if re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)?", w)), None)
    year = next((w for w in words if re.fullmatch(YEAR, w)), None)
    if month is None:
        return None
    if day is not None:
        return day_of(year, month, re.sub(r"\D", "", day), today)
    first = date(int(year) if year else today.year, MONTHS[month], 1)
    if not year and first > today:
        first = first.replace(year=first.year - 1)
    return first


def end_of(text: str | None, today: date, after: date | None) -> date | None:
    """The last day a point names (the end of a month or year), not before ``after``."""
    first = start_of(text, today)
    if first is None or text is None:
        return None
    words = text.split()
    has_day = any(re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)?", w) for w in words)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) or has_day:
        last = first
    elif re.fullmatch(YEAR, text):
        last = date(first.year, 12, 31)
    else:
        last = add_months(first, 1) - timedelta(days=1)
        if after is not None and last < after and not re.search(YEAR, text):
            last = last.replace(year=last.year + 1)
    if after is not None and last < after:
        return None
    return min(last, today) if last >= today else last
