"""``/admin/verified``: the verified-query library (search, pages) and its form.

The form checks before it saves: **Check** runs the SQL through the guard and a dry run on the
shop's data as its reader role and shows the columns and first rows, or why it was refused;
**Save** appears once a check passed, and saving verifies again (``app.agent.curation``).
Saving SQL that changed since its check shows the new check instead of saving.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.agent import curation
from app.errors import BichatError, InvalidInput, NotFound
from app.store import library, review
from app.tools.sql import SqlResult
from app.web.admin_auth import Admin, check_csrf
from app.web.admin_pages import admin_for, error_page, page, secret
from app.web.state import get_state

router = APIRouter(prefix="/admin/verified")
PREVIEW_ROWS = 10
NOTICES = {"saved": "Saved.", "retired": "Retired."}
SHARED_ONLY_IN_FILE = "shared examples are edited in prompts/examples.yaml, not here"


@dataclass
class Draft:
    """What the form shows: the question and SQL, where they came from, the last check."""

    question: str = ""
    sql: str = ""
    message: str = ""  # the answer being promoted, if any
    query_id: int | None = None  # the query being edited, if any
    result: SqlResult | None = None
    refusal: str | None = None
    note: str | None = None

    @property
    def checked(self) -> bool:
        return self.result is not None


@router.get("", response_class=HTMLResponse)
async def library_page(request: Request, message: int | None = None) -> Response:
    admin = await admin_for(request)
    if message:  # an answer to promote: the form, filled in
        return await form_page(request, admin, await promotion_draft(admin, message) or Draft())
    try:
        query = library.parse_library_query(dict(request.query_params))
    except InvalidInput as error:
        return error_page(request, admin, error)
    engine = get_state().runtime.engine
    listing = await library.library_page(engine, tenant_id=admin.tenant_id, query=query)
    return page(
        request,
        "admin/verified.html",
        admin,
        listing=listing,
        query=query,
        link=lambda **change: "?" + urlencode(query.query_items(**change)),
        suggestions=await curation.suggestions(engine, tenant_id=admin.tenant_id),
        notice=NOTICES.get(request.query_params.get("notice", "")),
    )


@router.get("/new", response_class=HTMLResponse)
async def new_form(request: Request, message: int | None = None) -> Response:
    admin = await admin_for(request)
    draft = await promotion_draft(admin, message) if message else None
    return await form_page(request, admin, draft or Draft())


@router.get("/{query_id}/edit", response_class=HTMLResponse)
async def edit_form(request: Request, query_id: int) -> Response:
    admin = await admin_for(request)
    engine = get_state().runtime.engine
    entry = await library.library_entry(engine, tenant_id=admin.tenant_id, query_id=query_id)
    if entry is None:
        return error_page(request, admin, NotFound(f"no verified query {query_id} in this shop"))
    if entry.shared:
        return error_page(request, admin, InvalidInput(SHARED_ONLY_IN_FILE))
    draft = Draft(question=entry.question, sql=entry.sql, query_id=entry.id)
    return await form_page(request, admin, draft, entry=entry)


async def form_page(
    request: Request,
    admin: Admin,
    draft: Draft,
    *,
    entry: library.LibraryEntry | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return page(
        request, "admin/verified_form.html", admin, status, draft=draft, entry=entry, error=error
    )


async def promotion_draft(admin: Admin, message_id: int) -> Draft | None:
    """The question and SQL of the turn whose answer is ``message_id`` (this tenant's)."""
    engine = get_state().runtime.engine
    session_id = await review.session_of_message(
        engine, tenant_id=admin.tenant_id, message_id=message_id
    )
    if session_id is None:
        return None
    detail = await review.session_detail(engine, tenant_id=admin.tenant_id, session_id=session_id)
    pair = curation.promotable_answers(detail).get(message_id)
    return Draft(question=pair[0], sql=pair[1], message=str(message_id)) if pair else None


async def checked(admin: Admin, draft: Draft) -> Draft:
    """The draft with its check: the first rows of a dry run, or why the SQL is refused."""
    try:
        curation.clean_question(draft.question)
    except InvalidInput as error:
        draft.refusal = error.message
        return draft
    sql = draft.sql.strip().rstrip(";").strip()
    if not sql:
        draft.refusal = "the SQL is empty"
        return draft
    try:
        draft.result = await get_state().runtime.executor.run(
            tenant_id=admin.tenant_id, sql=sql, max_rows=PREVIEW_ROWS, context="curation"
        )
    except BichatError as error:
        draft.refusal = f"not verified: {error.message}"
    return draft


@router.post("")
async def add_verified(
    request: Request,
    question: str = Form(""),
    sql: str = Form(""),
    message: str = Form(""),
    checked_sql: str | None = Form(None),
    action: str = Form("save"),
    csrf: str = Form(""),
) -> Response:
    admin = await admin_for(request)
    check_csrf(request, secret=secret(), token=csrf)
    draft = Draft(question=question, sql=sql, message=message)
    if action == "check" or changed_since_check(sql, checked_sql):
        return await check_page(request, admin, draft, checked_sql)
    runtime = get_state().runtime
    try:
        await curation.add_verified(
            runtime.engine,
            executor=runtime.executor,
            embeddings=runtime.agent.embeddings,
            tenant_id=admin.tenant_id,
            question=question,
            sql=sql,
            source=curation.PROMOTED if message else curation.ADDED,
            source_message_id=int(message) if message.isdigit() else None,
        )
    except BichatError as error:
        return await form_page(
            request, admin, await checked(admin, draft), error=error.message, status=400
        )
    return RedirectResponse("/admin/verified?notice=saved", status_code=303)


@router.post("/{query_id}")
async def edit_verified(
    request: Request,
    query_id: int,
    question: str = Form(""),
    sql: str = Form(""),
    checked_sql: str | None = Form(None),
    action: str = Form("save"),
    csrf: str = Form(""),
) -> Response:
    admin = await admin_for(request)
    check_csrf(request, secret=secret(), token=csrf)
    draft = Draft(question=question, sql=sql, query_id=query_id)
    if action == "check" or (action == "save" and changed_since_check(sql, checked_sql)):
        return await check_page(request, admin, draft, checked_sql)
    try:
        await change(admin, query_id, action=action, question=question, sql=sql)
    except NotFound as error:  # another shop's query, or none
        return error_page(request, admin, error)
    except BichatError as error:
        return await form_page(
            request, admin, await checked(admin, draft), error=error.message, status=400
        )
    notice = "retired" if action == "retire" else "saved"
    return RedirectResponse(f"/admin/verified?notice={notice}", status_code=303)


async def change(admin: Admin, query_id: int, *, action: str, question: str, sql: str) -> Any:
    runtime = get_state().runtime
    if action == "retire":
        return await curation.retire_verified(
            runtime.engine, tenant_id=admin.tenant_id, query_id=query_id
        )
    return await curation.update_verified(
        runtime.engine,
        executor=runtime.executor,
        embeddings=runtime.agent.embeddings,
        tenant_id=admin.tenant_id,
        query_id=query_id,
        question=question,
        sql=sql,
    )


def changed_since_check(sql: str, checked_sql: str | None) -> bool:
    """The form says which SQL its shown check was for; saving other SQL checks it first."""
    return checked_sql is not None and checked_sql.strip() != sql.strip()


async def check_page(
    request: Request, admin: Admin, draft: Draft, checked_sql: str | None
) -> Response:
    entry = None
    if draft.query_id is not None:  # editing: this shop's own query, before anything runs
        engine = get_state().runtime.engine
        entry = await library.library_entry(
            engine, tenant_id=admin.tenant_id, query_id=draft.query_id
        )
        if entry is None or entry.shared:
            return error_page(request, admin, NotFound("no such verified query of this shop"))
    draft = await checked(admin, draft)
    if checked_sql and checked_sql.strip() != draft.sql.strip():
        draft.note = "The SQL changed after its check: here is the check of the new SQL."
    status = 200 if draft.checked else 400
    return await form_page(request, admin, draft, entry=entry, status=status)
