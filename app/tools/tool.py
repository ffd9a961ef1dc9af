"""What a tool is (``Tool``: one record says everything the rest of bichat needs to know about
it), what a call may use (``ToolContext``) and what a call leaves behind (``ToolReply`` for the
caller, ``ToolCallRecord`` for the store and the channels).

Every tool is a module of ``app.tools`` holding one ``Tool``; ``app.tools.registry`` lists
them. Nothing outside a tool's own module branches on its name."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from app.errors import InvalidInput
from app.tools.charts import Chart
from app.tools.sql import SqlResult
from db.tenants import TenantRecord

if TYPE_CHECKING:
    from app.semantic.service import SemanticLayer
    from app.tools.search import ProductSearch
    from app.tools.sql import SqlExecutor

InputT = TypeVar("InputT", bound=BaseModel)
Output = dict[str, Any]
Shown = SqlResult | Chart  # what a call shows the owner: a table (with its CSV) or a chart


@dataclass
class ToolServices:
    """The process-wide services tools run on (one of each per process)."""

    executor: SqlExecutor
    search: ProductSearch
    semantic: SemanticLayer | None = None  # query_metrics needs it


@dataclass
class TurnResults:
    """What the calls of one turn produced and later calls may use (a chart draws a result)."""

    results: dict[str, SqlResult] = field(default_factory=dict)
    charts: list[Chart] = field(default_factory=list)

    def add_result(self, result: SqlResult) -> str:
        result_id = f"r{len(self.results) + 1}"
        self.results[result_id] = result
        return result_id

    def result_for(self, result_id: str | None) -> SqlResult:
        """The result of that id, by default the latest; ``InvalidInput`` saying what exists."""
        if not self.results:
            raise InvalidInput(
                "no run_sql result in this turn yet: run the query first", code="invalid_chart"
            )
        key = result_id or list(self.results)[-1]
        if key not in self.results:
            raise InvalidInput(
                f"no result {key!r} in this turn; results are {', '.join(self.results)}",
                code="invalid_chart",
            )
        return self.results[key]


@dataclass
class ToolContext:
    """Everything a call may use: whose data, which conversation, the services, this turn's
    results. ``purpose`` labels the audit log (the channel: ``chat``, ``api``, ``mcp``...,
    ``resume``; a call made outside a conversation names who made it: ``mcp:token-7``)."""

    tenant: TenantRecord
    session_id: uuid.UUID | None
    services: ToolServices
    turn: TurnResults = field(default_factory=TurnResults)
    purpose: str = "chat"
    user_id: int | None = None  # who asks, when known

    @property
    def audit_label(self) -> str:
        return f"{self.purpose}:{self.session_id}" if self.session_id else self.purpose

    @property
    def requester(self) -> str:
        """Whose share of the shop's connections a call takes (``app.tools.reader_gate``)."""
        return f"user:{self.user_id}" if self.user_id is not None else self.audit_label


@dataclass
class ToolReply:
    """One call's outcome: the JSON text the model reads, and for the rest of bichat the output
    object (None on failure), the error (``code: message``) and what it shows the owner."""

    content: str
    output: Output | None = None
    error: str | None = None
    shown: list[Shown] = field(default_factory=list)


@dataclass
class ToolCallRecord:
    """One finished call as the store keeps it: input, a summary of the output, error, time."""

    id: str
    name: str
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None
    elapsed_ms: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Facts:
    """A stored call in the admin transcript: facts for its heading, and lines below it."""

    heading: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


class Tool(Generic[InputT]):
    """One tool, all of it: the model-facing part (name, description, input model, ``run``) and
    how the rest of bichat treats its calls. Each tool module subclasses it once and keeps the
    one instance as ``TOOL``.

    - ``run`` returns the output object the model reads as JSON, or raises ``BichatError``
      (the model reads the error and may correct itself); ``Shown`` items it returns beside
      the output are shown to the owner (tables, charts).
    - ``summarise``: what the store keeps of a successful output (kept small).
    - ``outcome``: one line for a finished call in the chat and ``bichat ask``; None: "done".
    - ``facts``: the call in the admin transcript (web page and ``bichat admin show``).
    - ``sql_input``: its ``sql`` input is SQL that runs as written: shown as SQL, counted as
      the turn's SQL, promotable to a verified query.
    - ``runs_sql`` / ``sql_ran``: its calls run SQL; the SQL a call ran (by default the ``sql`` input of ``sql_input`` tools; a
      tool that writes its own SQL finds it in its output): listed with the turn, scored by
      the evals, promotable.
    - ``replays``: run again when a conversation is reopened, to show its tables or charts.
    - ``offline``: the question engine (no language model) may call it.
    - ``standalone``: a call makes sense on its own, outside a turn (it needs no earlier
      result of the same turn): offered as a tool of the MCP server and by the REST API.
    """

    name: str
    description: str
    input: type[InputT]
    sql_input = False
    runs_sql = False  # its calls run SQL (``sql_ran`` says which)
    replays = False
    offline = False
    standalone = False

    async def run(self, context: ToolContext, arguments: InputT) -> tuple[Output, list[Shown]]:
        raise NotImplementedError

    def summarise(self, output: Output) -> Output:
        return output

    def sql_ran(self, arguments: Mapping[str, Any], output: Mapping[str, Any] | None) -> str | None:
        sql = arguments.get("sql") if self.sql_input else None
        return sql if isinstance(sql, str) else None

    def outcome(self, output: Mapping[str, Any]) -> str | None:
        return None

    def facts(self, output: Mapping[str, Any]) -> Facts:
        return Facts()
