"""The verified-query pages: the library searched and paged, and a form that shows the dry
run (columns and first rows, or the guard's refusal) before anything is saved."""

from __future__ import annotations

import re

import pytest

from tests.app.web.conftest import db_scalar
from tests.app.web.test_admin import GOOD_SQL, add_verified, client_for, csrf, text_of


def ids_on(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr id="verified-(\d+)"', page)]


async def test_the_library_is_searched_and_paged(web_server):
    client = client_for(web_server, "ann")
    shared = await db_scalar(
        web_server.database_url,
        "SELECT count(*) FROM verified_queries WHERE tenant_id IS NULL AND is_active",
    )
    assert shared > 40  # prompts/examples.yaml
    first = client.get("/admin/verified", params={"scope": "shared"}).text
    assert len(ids_on(first)) == 20 and 'id="next"' in first and 'id="previous"' not in first
    pages = -(-shared // 20)
    assert f"{shared} queries, page 1 of {pages}" in text_of(first)
    last = client.get("/admin/verified", params={"scope": "shared", "page": pages}).text
    assert len(ids_on(last)) == shared - 20 * (pages - 1) and 'id="previous"' in last
    every = set(ids_on(first)) | set(ids_on(last))
    for page in range(2, pages):
        every |= set(
            ids_on(client.get("/admin/verified", params={"scope": "shared", "page": page}).text)
        )
    assert len(every) == shared  # every query once

    found = client.get("/admin/verified", params={"q": "revenue month", "scope": "shared"}).text
    expected = await db_scalar(
        web_server.database_url,
        "SELECT count(*) FROM verified_queries WHERE tenant_id IS NULL AND is_active "
        "AND (question ILIKE '%revenue%' OR sql ILIKE '%revenue%') "
        "AND (question ILIKE '%month%' OR sql ILIKE '%month%')",
    )
    assert 0 < len(ids_on(found)) == expected
    nothing = client.get("/admin/verified", params={"q": "no_such_word_anywhere"}).text
    assert ids_on(nothing) == [] and "No verified query matches" in nothing
    assert client.get("/admin/verified", params={"q": "100%_"}).status_code == 200  # LIKE escaped
    assert client.get("/admin/verified", params={"page": "zwei"}).status_code == 400
    assert client.get("/admin/verified", params={"scope": "theirs"}).status_code == 400


def test_check_shows_the_first_rows_and_saves_nothing(web_server):
    client = client_for(web_server, "ann")
    form = client.get("/admin/verified/new").text
    assert 'id="check"' in form and 'id="save"' not in form  # check first
    question = "Orders per status (check test)?"
    checked = client.post(
        "/admin/verified",
        data={"question": question, "sql": GOOD_SQL + ";", "csrf": csrf(client), "action": "check"},
    )
    assert checked.status_code == 200
    page = checked.text
    assert 'id="preview"' in page and 'id="save"' in page
    header = re.search(r'<table class="data" id="preview-rows".*?</thead>', page, re.S).group(0)
    assert re.findall(r"<th scope=\"col\">([^<]+)</th>", header) == ["status", "orders"]
    assert "delivered" in page  # a status of the demo data, from the dry run
    assert f'name="checked_sql" value="{GOOD_SQL};"' in page
    saved = client.get("/admin/verified", params={"q": "check test", "scope": "own"}).text
    assert ids_on(saved) == []


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DELETE FROM orders", "not verified"),
        ("SELECT * FROM app_users", "not verified"),
        ("SELECT no_such_column FROM orders", "not verified"),
        ("   ", "the SQL is empty"),
    ],
)
def test_check_shows_why_sql_is_refused(web_server, sql, reason):
    client = client_for(web_server, "ann")
    response = client.post(
        "/admin/verified",
        data={"question": "Refused?", "sql": sql, "csrf": csrf(client), "action": "check"},
    )
    assert response.status_code == 400
    assert 'id="refusal"' in response.text and reason in response.text
    assert 'id="save"' not in response.text


async def test_saving_sql_changed_after_its_check_checks_it_again(web_server):
    client = client_for(web_server, "ann")
    token = csrf(client)
    question = "Statuses changed after check?"
    changed = "SELECT status FROM orders GROUP BY status"
    response = client.post(
        "/admin/verified",
        data={
            "question": question,
            "sql": changed,
            "checked_sql": GOOD_SQL,
            "csrf": token,
            "action": "save",
        },
    )
    assert response.status_code == 200 and 'id="check-note"' in response.text
    count = "SELECT count(*) FROM verified_queries WHERE question = :q"
    assert await db_scalar(web_server.database_url, count, q=question) == 0
    response = client.post(
        "/admin/verified",
        data={
            "question": question,
            "sql": changed,
            "checked_sql": changed,
            "csrf": token,
            "action": "save",
        },
    )
    assert response.status_code == 303
    assert await db_scalar(web_server.database_url, count, q=question) == 1


async def test_the_edit_form_is_for_this_shops_own_queries(web_server):
    client = client_for(web_server, "ann")
    token = csrf(client)
    question = "Edit form test: orders per status?"
    query_id = await add_verified(web_server, client, token, question)
    listing = client.get("/admin/verified", params={"q": "edit form test"}).text
    assert ids_on(listing) == [query_id] and f'id="edit-{query_id}"' in listing
    form = client.get(f"/admin/verified/{query_id}/edit")
    assert form.status_code == 200
    assert f'value="{question}"' in form.text and 'id="retire"' in form.text
    assert GOOD_SQL in text_of(form.text)
    checked = client.post(
        f"/admin/verified/{query_id}",
        data={"question": question, "sql": GOOD_SQL, "csrf": token, "action": "check"},
    )
    assert checked.status_code == 200 and 'id="preview"' in checked.text
    olga = client_for(web_server, "olga")
    assert olga.get(f"/admin/verified/{query_id}/edit").status_code == 404
    stolen = olga.post(
        f"/admin/verified/{query_id}",
        data={"question": question, "sql": GOOD_SQL, "csrf": csrf(olga), "action": "check"},
    )
    assert stolen.status_code == 404 and GOOD_SQL not in text_of(stolen.text)
    shared = await db_scalar(
        web_server.database_url, "SELECT min(id) FROM verified_queries WHERE tenant_id IS NULL"
    )
    refused = client.get(f"/admin/verified/{shared}/edit")
    assert refused.status_code == 400 and "examples.yaml" in refused.text
