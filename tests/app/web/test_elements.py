"""Result elements: the table and CSV carry the whole result, values as text."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

from app.figures import Locale
from app.tools.json_values import json_value
from app.tools.sql import SqlResult
from app.web.elements import csv_bytes, table_payload

COLUMNS = ["name", "price", "specs", "sold"]
ROWS = [
    ["<img src=x onerror=alert(1)>", json_value(Decimal("12.50")), {"a": 1}, None],
    ['comma, "quote"', 3, [1, 2], json_value(date(2026, 1, 2))],
]


def test_the_csv_has_every_row_and_survives_commas_quotes_and_json():
    parsed = list(csv.reader(io.StringIO(csv_bytes(COLUMNS, ROWS).decode())))
    assert parsed[0] == COLUMNS
    assert parsed[1] == ["<img src=x onerror=alert(1)>", "12.5", '{"a": 1}', ""]
    assert parsed[2] == ['comma, "quote"', "3", "[1, 2]", "2026-01-02"]


def test_elements_carry_the_full_result():
    result = SqlResult("SELECT ...", COLUMNS, ROWS * 300, 600, False, 1.0)
    table = json.loads(table_payload(result, {}, Locale()))
    assert table["columns"] == COLUMNS and len(table["data"]) == 600
    assert csv_bytes(result.columns, result.rows).count(b"\n") == 601


def test_step_ids_round_trip_and_cannot_be_forged(monkeypatch):
    import uuid

    from app.web.data_layer import message_id_of, step_id

    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", "secret-one")
    assert message_id_of(step_id(42)) == 42
    forged = str(uuid.UUID(int=(43 << 64) | 12345))
    assert message_id_of(forged) is None
    assert message_id_of(str(uuid.UUID(int=43))) is None
    issued = step_id(42)
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", "secret-two")
    assert message_id_of(issued) is None
    assert message_id_of("not-a-uuid") is None


FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def test_the_csv_defuses_spreadsheet_formulas_in_text_cells_and_names():
    rows = [[formula, -5, 2.5] for formula in FORMULAS]
    parsed = list(csv.reader(io.StringIO(csv_bytes(["=title", "n", "x"], rows).decode())))
    assert parsed[0] == ["'=title", "n", "x"]
    assert [row[0] for row in parsed[1:]] == ["'" + formula for formula in FORMULAS]
    assert all(row[1:] == ["-5", "2.5"] for row in parsed[1:])  # numbers stay numbers


def test_chart_texts_are_inert_for_plotly():
    import plotly.graph_objects as go

    from app.tools.charts import ChartSpec, build_figure
    from app.web.elements import plotly_inert

    link = '<a href="http://evil.example/x">Refund</a>'
    spec = ChartSpec(kind="bar", x="name", y=["n"], series="city", title="<b>Top</b> & co")
    rows = [[link, 3, "<i>Berlin</i>"], ["plain", 2, "<i>Berlin</i>"]]
    figure = go.Figure(plotly_inert(build_figure(spec, ["name", "n", "city"], rows)))
    figure = figure.to_plotly_json()  # what chart_element sends
    (trace,) = figure["data"]
    assert list(trace["x"]) == ['&lt;a href="http://evil.example/x"&gt;Refund&lt;/a&gt;', "plain"]
    assert trace["name"] == "&lt;i&gt;Berlin&lt;/i&gt;"
    assert figure["layout"]["title"]["text"] == "&lt;b&gt;Top&lt;/b&gt; &amp; co"
    assert "<" not in json.dumps({k: v for k, v in figure["layout"].items() if k != "template"})
