"""What a digest says: each pinned answer's numbers and their change (a metric tile is asked
again with ``compare: previous`` over its own period; other tiles are compared with the
numbers the previous digest sent), the anomalies found and the top drivers; as plain text
(e-mail) and as Slack-compatible JSON (``{"text", "blocks"}``). Data is text: Slack's
``&``, ``<`` and ``>`` are escaped so a value can make no link or mention."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

MAX_ROWS = 5
MAX_METRICS = 3
ROLE_METRIC = "metric"
LABEL_ROLES = ("dimension", "time", "key")


@dataclass
class Figure:
    label: str  # the row: its dimension values, or "total"
    metric: str
    value: float | None
    previous: float | None = None
    change_pct: float | None = None
    since: str = "previous period"  # or "previous digest"


@dataclass
class TileDigest:
    tile_id: int
    title: str
    figures: list[Figure] = field(default_factory=list)
    interpretation: str | None = None
    drivers: list[str] | None = None
    error: str | None = None


@dataclass
class DigestContent:
    title: str
    due_at: datetime
    timezone: str
    tiles: list[TileDigest]
    anomalies: list[str] | None  # None: no insights library, the section is left out
    link: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["due_at"] = self.due_at.isoformat()
        return data


def number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return float(value) if isinstance(value, str) and value.strip() else None
    except ValueError:
        return None


def figures_of(output: dict[str, Any]) -> list[Figure]:
    """A result's numbers: metric columns (or, without the semantic layer's roles, numeric
    ones) of its first rows, each with the comparison's previous value and change if any."""
    columns: list[str] = list(output.get("columns") or [])
    rows: list[list[Any]] = list(output.get("rows") or [])
    roles: dict[str, str] = output.get("column_roles") or {}
    if roles:
        metrics = [c for c in columns if roles.get(c) == ROLE_METRIC]
        labels = [c for c in columns if roles.get(c) in LABEL_ROLES]
    else:
        metrics = [
            c
            for c in columns
            if rows and all(number(r[columns.index(c)]) is not None for r in rows)
        ]
        labels = [c for c in columns if c not in metrics]
    figures = []
    for row in rows[:MAX_ROWS]:
        cells = dict(zip(columns, row, strict=False))
        label = " · ".join(str(cells[c]) for c in labels) or "total"
        for metric in metrics[:MAX_METRICS]:
            figures.append(
                Figure(
                    label,
                    metric,
                    number(cells.get(metric)),
                    number(cells.get(f"{metric}_previous")),
                    number(cells.get(f"{metric}_change_pct")),
                )
            )
    return figures


def with_changes_since(figures: list[Figure], before: list[dict[str, Any]]) -> list[Figure]:
    """Figures without a comparison of their own, compared with the previous digest's."""
    earlier = {(f["label"], f["metric"]): number(f.get("value")) for f in before}
    for figure in figures:
        old = earlier.get((figure.label, figure.metric))
        if figure.previous is None and old is not None and figure.value is not None:
            figure.previous, figure.since = old, "previous digest"
            figure.change_pct = (figure.value - old) / abs(old) * 100 if old else None
    return figures


def shown(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def figure_line(figure: Figure) -> str:
    where = "" if figure.label == "total" else f"{figure.label}: "
    line = f"{where}{figure.metric} {shown(figure.value)}"
    if figure.change_pct is not None:
        line += f" ({figure.change_pct:+.1f}% vs {figure.since}, {shown(figure.previous)})"
    elif figure.previous is not None:
        line += f" (was {shown(figure.previous)}, {figure.since})"
    return line


def as_text(content: DigestContent) -> str:
    lines = [content.title, f"Due {content.due_at:%Y-%m-%d %H:%M} UTC ({content.timezone})", ""]
    for tile in content.tiles:
        lines.append(f"## {tile.title}")
        if tile.error:
            lines.append(f"Did not run: {tile.error}")
        lines += [f"- {figure_line(f)}" for f in tile.figures] or (
            [] if tile.error else ["(no rows)"]
        )
        if tile.drivers:
            lines.append("Top drivers of the change:")
            lines += [f"  - {d}" for d in tile.drivers]
        lines.append("")
    if content.anomalies is not None:
        lines.append("## Anomalies")
        lines += [f"- {a}" for a in content.anomalies] or ["None found."]
        lines.append("")
    if content.link:
        lines.append(f"Open the dashboard: {content.link}")
    return "\n".join(lines).rstrip() + "\n"


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(text)[:2900]}}


def as_slack(content: DigestContent) -> dict[str, Any]:
    """Slack's incoming-webhook JSON: ``text`` (the notification) and ``blocks``."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": content.title[:150]}}
    ]
    for tile in content.tiles:
        body = [f"*{tile.title}*"]
        body += [f"Did not run: {tile.error}"] if tile.error else []
        body += [f"• {figure_line(f)}" for f in tile.figures]
        if tile.drivers:
            body += ["Top drivers:"] + [f"  ◦ {d}" for d in tile.drivers]
        blocks.append(section("\n".join(body)))
    if content.anomalies is not None:
        found = [f"• {a}" for a in content.anomalies] or ["None found."]
        blocks.append(section("\n".join(["*Anomalies*", *found])))
    summary = f"{content.title}: {len(content.tiles)} pinned answer(s)"
    return {"text": slack_escape(summary), "blocks": blocks[:50]}
