"""``bichat explain``, ``bichat anomalies`` and ``bichat forecast`` (JSON), on one seeded shop
(so ``--tenant`` may be left out)."""

from __future__ import annotations

import json

import pytest

from tests.app.cli.conftest import seeded_through_cli


@pytest.fixture(scope="module")
def seeded(database_url, tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("data"))
    return seeded_through_cli(database_url, data_dir, "cli-ins", "--orders", "3000")


def test_explain_prints_the_change_and_ranked_drivers(bichat, seeded):
    result = bichat(
        "explain",
        "--metric",
        "revenue",
        "--period",
        "last-month",
        "--compare",
        "previous",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["metric"] == "revenue" and data["change"] is not None
    assert data["drivers"], data["text"]
    for driver in data["drivers"]:
        assert {"dimension", "value", "contribution", "share_of_change"} <= set(driver)
    scores = [abs(d["score"]) for d in data["drivers"]]
    assert scores == sorted(scores, reverse=True)


def test_explain_refuses_an_unknown_metric_and_comparison(bichat, seeded):
    result = bichat("explain", "--metric", "reveune", "--period", "last-month", "--json")
    assert result.exit_code == 1 and "revenue" in json.loads(result.stdout)["error"]["message"]
    result = bichat("explain", "--metric", "revenue", "--period", "last-month", "--compare", "x")
    assert result.exit_code == 1 and "previous or year" in result.stderr


def test_anomalies_and_forecast_print_json(bichat, seeded):
    result = bichat("anomalies", "--tenant", seeded, "--days", "14", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["days"] == 14
    result = bichat(
        "forecast", "--metric", "orders", "--horizon", "3", "--grain", "month", "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["points"]) == 3 and data["grain"] == "month"
    assert all(p["lower"] <= p["value"] <= p["upper"] for p in data["points"])
