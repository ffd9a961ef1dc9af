"""A client of the chat as the browser talks to it: login over HTTP (cookie), turns over
socket.io (Chainlit's protocol), history, feedback, rename and delete over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import socketio


@dataclass
class Turn:
    session_id: str
    events: list[tuple[float, str, Any]] = field(default_factory=list)
    sent_at: float = 0.0
    cut: bool = False  # the server went away before the turn's end

    def of(self, name: str) -> list[Any]:
        return [data for _, event, data in self.events if event == name]

    @property
    def thread_id(self) -> str | None:
        found = self.of("first_interaction")
        return found[0]["thread_id"] if found else None

    @property
    def steps(self) -> list[dict[str, Any]]:
        """Latest version of every step (messages included), in order of first appearance."""
        latest: dict[str, dict[str, Any]] = {}
        for _, event, data in self.events:
            if event in ("new_message", "update_message") and isinstance(data, dict):
                latest[data["id"]] = {**latest.get(data["id"], {}), **data}
        return list(latest.values())

    def answer(self) -> dict[str, Any]:
        return [s for s in self.steps if s.get("type") == "assistant_message"][-1]

    @property
    def tokens(self) -> list[str]:
        start = [d["output"] for d in self.of("stream_start")]
        return start + [d["token"] for d in self.of("stream_token")]

    def first_token_ms(self) -> float | None:
        times = [t for t, e, _ in self.events if e in ("stream_start", "stream_token")]
        return (times[0] - self.sent_at) * 1000 if times else None

    def final_ms(self) -> float | None:
        times = [
            t
            for t, e, d in self.events
            if e == "new_message" and isinstance(d, dict) and d.get("type") == "assistant_message"
        ]
        return (times[-1] - self.sent_at) * 1000 if times else None


class ChatClient:
    def __init__(self, base_url: str, *, mount: str = "/chat") -> None:
        self.base_url, self.mount = base_url.rstrip("/"), mount
        self.http = httpx.AsyncClient(base_url=self.base_url + mount, timeout=30)
        self.cookie: str | None = None

    async def close(self) -> None:
        await self.http.aclose()

    async def login(self, username: str, password: str) -> httpx.Response:
        response = await self.http.post("/login", data={"username": username, "password": password})
        self.cookie = response.cookies.get("access_token")
        return response

    async def turn(
        self,
        text: str | None,
        *,
        thread_id: str | None = None,
        timeout_s: float = 60,
        before_send: Callable[[], Awaitable[None]] | None = None,
        session_id: str | None = None,
        headers: dict[str, str] | None = None,
        speech: list[bytes] | None = None,
    ) -> Turn:
        """Connect (resuming ``thread_id`` if given), send ``text``, wait for the answer;
        ``before_send`` runs once the socket is connected, before the question goes.
        ``speech`` (with ``text`` None): a spoken question instead, its 16-bit PCM chunks sent
        as the page sends the microphone's (``audio_start``, ``audio_chunk``s, ``audio_end``)."""
        client = socketio.AsyncClient(reconnection=False)  # a test reconnects itself
        turn = Turn(session_id=session_id or str(uuid.uuid4()))
        finished, sent = asyncio.Event(), asyncio.Event()
        resumed, interacted = asyncio.Event(), asyncio.Event()

        @client.on("disconnect")
        async def gone(*_: Any) -> None:
            turn.cut = not finished.is_set()
            finished.set()

        @client.on("*")
        async def record(event: str, *data: Any) -> None:
            turn.events.append((time.perf_counter(), event, data[0] if data else None))
            if event == "task_end" and sent.is_set():
                finished.set()
            if event == "resume_thread":
                resumed.set()
            if event == "first_interaction":
                interacted.set()

        await client.connect(
            self.base_url,
            socketio_path=f"{self.mount}/ws/socket.io",
            headers={"Cookie": self.cookie_header(), **(headers or {})},
            auth={
                "sessionId": turn.session_id,
                "clientType": "webapp",
                "userEnv": "{}",
                "chatProfile": "",
                "threadId": thread_id or "",
            },
            transports=["websocket"],
        )
        try:
            await client.emit("connection_successful")
            await asyncio.sleep(0.3)
            if before_send is not None:
                await before_send()
            if speech is not None:
                turn.sent_at = time.perf_counter()
                await self.speak(client, speech)
                sent.set()
                await client.emit("audio_end")
                await asyncio.wait_for(finished.wait(), timeout_s)
            elif text is not None:
                message = {
                    "threadId": thread_id or "",
                    "id": str(uuid.uuid4()),
                    "name": "user",
                    "type": "user_message",
                    "output": text,
                    "createdAt": datetime.now(UTC).isoformat(),
                }
                turn.sent_at = time.perf_counter()
                sent.set()
                await client.emit("client_message", {"message": message, "fileReferences": []})
                await asyncio.wait_for(finished.wait(), timeout_s)
                if not thread_id and not turn.cut:  # a new thread's id comes from a task of
                    with contextlib.suppress(TimeoutError):  # its own, after the thread's writes
                        await asyncio.wait_for(interacted.wait(), 10)
            elif thread_id:  # resume: wait for the thread (a busy server sends it late) ...
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(resumed.wait(), timeout_s)
                await asyncio.sleep(0.5)  # ... and let its elements arrive
            else:
                await asyncio.sleep(1.0)
        finally:
            finished.set()  # our own disconnect is no cut
            await client.disconnect()
        return turn

    @staticmethod
    async def speak(client: socketio.AsyncClient, chunks: list[bytes]) -> None:
        """The microphone switched on, then its chunks (PCM16, as the page's recorder)."""
        await client.emit("audio_start")
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        for index, chunk in enumerate(chunks):
            elapsed = (time.perf_counter() - started) * 1000
            payload = {"isStart": index == 0, "mimeType": "pcm16", "elapsedTime": elapsed}
            await client.emit("audio_chunk", {**payload, "data": chunk})
        await asyncio.sleep(0.2)  # the last chunk is kept before the microphone stops

    def cookie_header(self) -> str:
        """The login token, and any other cookie the server set (a balancer's stickiness
        cookie, say), as a browser would send them on the socket."""
        others = [f"{k}={v}" for k, v in self.http.cookies.items() if k != "access_token"]
        return "; ".join([f"access_token={self.cookie}", *others])

    async def threads(self, **filters: Any) -> list[dict[str, Any]]:
        response = await self.http.post(
            "/project/threads",
            json={"pagination": {"first": 20, "cursor": None}, "filter": filters},
        )
        response.raise_for_status()
        return list(response.json()["data"])

    async def thread(self, thread_id: str) -> httpx.Response:
        return await self.http.get(f"/project/thread/{thread_id}")

    async def feedback(
        self, session_id: str, for_id: str, value: int, comment: str | None
    ) -> httpx.Response:
        return await self.http.put(
            "/feedback",
            json={
                "sessionId": session_id,
                "feedback": {"forId": for_id, "value": value, "comment": comment},
            },
        )

    async def rename(self, thread_id: str, name: str) -> httpx.Response:
        return await self.http.put("/project/thread", json={"threadId": thread_id, "name": name})

    async def delete(self, thread_id: str) -> httpx.Response:
        return await self.http.request("DELETE", "/project/thread", json={"threadId": thread_id})
