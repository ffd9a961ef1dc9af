"""The question an answerer is given, and what an answerer is."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Protocol

from app.answering.events import AnswerEvent
from app.store.conversations import HistoryItem, StoredCall
from app.store.verified import Match
from app.tools.tool import TurnResults
from db.tenants import TenantRecord


@dataclass(frozen=True)
class Question:
    """One question of a conversation, with what the turn already knows about it."""

    tenant: TenantRecord
    session_id: uuid.UUID
    text: str
    history: list[HistoryItem] = field(default_factory=list)  # earlier turns, oldest first
    matches: list[Match] = field(default_factory=list)  # closest verified questions first
    results: TurnResults = field(default_factory=TurnResults)  # what its tool calls produce
    deadline: float | None = None  # time.monotonic() by which the turn must end (None: none)
    user_id: int | None = None  # who asks (None: a command-line question)
    channel: str = "chat"  # where it was asked: chat, cli, api, mcp (labels the audit log)
    calls: list[StoredCall] = field(default_factory=list)  # earlier turns' tool calls


class Answerer(Protocol):
    """Answers questions: reports what it does as events, the last one its outcome."""

    @property
    def offline(self) -> bool:
        """True when it answers without a language model."""
        ...

    @property
    def path(self) -> str:
        """Its name in results and reports: ``engine`` (no model) or ``model``."""
        ...

    async def prepare(self) -> None:
        """Load what every answer needs (once per process)."""
        ...

    def model_label(self) -> str:
        """The model named on a stored failure when the provider reported none."""
        ...

    def answer(self, question: Question) -> AsyncGenerator[AnswerEvent, None]: ...


class Triage(Answerer, Protocol):
    """An answerer that can say, before answering, whether it is sure of a question (the
    question engine: then no model is called)."""

    async def confident(self, question: Question) -> bool: ...
