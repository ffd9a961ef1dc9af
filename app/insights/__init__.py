"""Insights on the semantic layer: why a number changed (``explain``), which days were not as
expected (``anomalies``) and what comes next (``forecast``). Every figure comes from a
semantic query compiled by ``app.semantic`` and run by the caller's SQL executor (guard,
tenant reader role); nothing here writes SQL. It sits above the semantic layer and below the
tools (``explain_change``, ``forecast_metric``), the question engine and the CLI."""
