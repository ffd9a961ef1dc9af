"""What the engine says: every answer starts with its interpretation (what was counted, over
which days, with which filters), then the figure or the first rows; clarifications say what
was understood and ask; greetings and help list what can be asked.

Everything that comes from the shop's data or the asker's words (cells, names, values in the
interpretation, a verified question, what was understood) goes in as text through
``escape_markdown``: a review reading ``[Refund](https://evil.example)`` stays those characters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app import figures
from app.figures import Locale
from app.markdown_text import escape_markdown
from app.questions.intent import Intent
from app.semantic.model import SemanticModel

ROWS_SHOWN = 10
LABEL = "*Answered without a language model (bichat's question engine).*"


def money(value: float, currency: str) -> str:
    return figures.money(value, currency)


def cell(value: Any, fmt: str | None, locale: Locale) -> str:
    """A value as a table cell: numbers and dates formatted, text escaped (it is data)."""
    text = figures.shown(value, fmt, locale)
    if isinstance(value, str) and not (fmt or "").startswith("date"):
        return escape_markdown(text)
    return text.replace("|", "\\|")


def table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], formats: dict[str, str], locale: Locale
) -> str:
    head = "| " + " | ".join(escape_markdown(c.replace("_", " ")) for c in columns) + " |"
    lines = [head, "|" + "---|" * len(columns)]
    for row in rows[:ROWS_SHOWN]:
        cells = [cell(v, formats.get(c), locale) for c, v in zip(columns, row, strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rows_text(output: dict[str, Any], locale: Locale) -> str:
    columns, rows = output.get("columns") or [], output.get("rows") or []
    if not rows:
        return "There is no data for this: the query returned no rows."
    formats = figures.column_formats(columns, rows, output)
    if len(rows) == 1 and len(columns) <= 3:
        pairs = [
            f"{escape_markdown(c.replace('_', ' '))}: **{cell(v, formats.get(c), locale)}**"
            for c, v in zip(columns, rows[0], strict=True)
        ]
        return "; ".join(pairs) + "."
    count = output.get("row_count", len(rows))
    more = (
        ""
        if count <= ROWS_SHOWN
        else f" (the first {ROWS_SHOWN} of {count:,} rows; the full table is attached)"
    )
    return f"{count:,} rows{more}:\n\n" + table(columns, rows, formats, locale)


def metrics_answer(output: dict[str, Any], intent: Intent, locale: Locale) -> str:
    lines = [f"**{escape_markdown(output.get('interpretation', ''))}**", ""]
    lines += [*map(escape_markdown, intent.notes), ""] if intent.notes else []
    lines.append(rows_text(output, locale))
    if output.get("partial"):
        lines += ["", "The period is not over yet: its figures are to date."]
    return "\n".join(lines)


def search_answer(output: dict[str, Any], arguments: dict[str, Any], locale: Locale) -> str:
    currency = locale.currency
    hits = output.get("results") or []
    filters = []
    if arguments.get("min_price") is not None:
        filters.append(f"from {money(arguments['min_price'], currency)}")
    if arguments.get("max_price") is not None:
        filters.append(f"up to {money(arguments['max_price'], currency)}")
    if arguments.get("in_stock"):
        filters.append("in stock")
    if arguments.get("category"):
        filters.append(f"in category {escape_markdown(arguments['category'])}")
    condition = f" ({', '.join(filters)})" if filters else ""
    head = f"**Product search: “{escape_markdown(arguments.get('query', ''))}”{condition}**"
    if not hits:
        return f"{head}\n\nNo product matches. Try other words or wider filters."
    lines = [head, "", f"{len(hits)} product(s), best matches first:", ""]
    for hit in hits[:ROWS_SHOWN]:
        stock = hit.get("stock_quantity")
        stocked = "" if stock is None else (" · in stock" if stock > 0 else " · out of stock")
        price = money(float(hit["price"]), currency) if hit.get("price") is not None else "—"
        name, brand, sku = (escape_markdown(hit.get(key)) for key in ("name", "brand", "sku"))
        lines.append(f"- **{name}** ({brand}, {sku}) · {price}{stocked}")
    return "\n".join(lines)


def bundles_answer(output: dict[str, Any], arguments: dict[str, Any], locale: Locale) -> str:
    what = []
    if arguments.get("product"):
        what.append(f"for {escape_markdown(arguments['product'])}")
    for measure in ("lift", "confidence", "support"):
        if arguments.get(f"min_{measure}") is not None:
            what.append(f"{measure} ≥ {arguments[f'min_{measure}']}")
    if arguments.get("summary"):
        head = "Bought-together rules, summed up"
    else:
        head = f"Top {arguments.get('top', 10)} bought-together rules by {arguments.get('order_by', 'lift')}"
    head += f" ({', '.join(what)})" if what else ""
    head += " · rules computed from paid, shipped and delivered orders (bichat db rules)"
    return f"**{head}**\n\n" + rows_text(output, locale)


def verified_answer(output: dict[str, Any], question: str, locale: Locale) -> str:
    return (
        f"**From the verified question “{escape_markdown(question)}”** "
        "(the same question, checked by a person)"
        f"\n\n{rows_text(output, locale)}"
    )


def options_text(intent: Intent) -> str:
    if not intent.options:
        return intent.text
    lines = [intent.text, "", "You could ask:"]
    lines += [f"- {escape_markdown(option)}" for option in intent.options]
    return "\n".join(lines)


def greeting(model: SemanticModel, thanks: bool) -> str:
    if thanks:
        return "You're welcome! Ask me anything else about your shop's data."
    return (
        "Hello! I answer questions about your shop's data: revenue, orders, products, "
        "customers, reviews and what is bought together. What would you like to know?"
    )


def help_text(model: SemanticModel, examples: Sequence[str]) -> str:
    metrics = ", ".join(m.label.lower() for m in model.public_metrics)
    dimensions = ", ".join(d.label for d in model.dimensions.values())
    lines = [
        "I answer questions about your shop's data, each with the SQL it ran:",
        "",
        f"- **Measures**: {metrics}.",
        f"- **Broken down by**: {dimensions}, and time (day, week, month, quarter, year, "
        "weekday, hour).",
        "- **Periods**: today, yesterday, last week, this month, last quarter, this year so far, "
        "the last 30 days, in March, Q3 2025, since January, between two dates; compared with "
        "the period before or a year earlier.",
        "- **Products**: search by description, price and stock; which products are bought "
        "together.",
        "",
        "For example:",
        *[f"- {example}" for example in examples],
        "",
        "What would you like to know?",
    ]
    return "\n".join(lines)
