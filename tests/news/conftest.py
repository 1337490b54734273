"""Fixtures for service-level tests: a real store in a temporary folder and a movable clock."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from aiohttp import web

from bot.config import Config, load_config
from bot.news.service import NewsService
from tests.news.feeds import BASE


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def make_config(tmp_path, **sections) -> Config:
    data = {
        "default_sources": False,
        "storage": {"path": str(tmp_path / "briefbot.sqlite3")},
        # article pages of teasers live at made-up hosts here: tests that fetch them ask
        "fetch": {"allowed_hosts": ["127.0.0.1"], "timeout_s": 5.0, "articles": False},
        "taxonomy": {"embeddings": False},
    }
    for key, value in sections.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    return load_config(data)


@pytest.fixture
def clock() -> Clock:
    return Clock(BASE + timedelta(hours=1))


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path) -> dict:
    """The ``[storage]`` section of one engine: every test that takes it runs on both."""
    if request.param == "sqlite":
        return {"path": str(tmp_path / "briefbot.sqlite3")}
    return {"url": request.getfixturevalue("pg_url")}


@pytest.fixture
async def service(tmp_path, clock, storage) -> AsyncIterator[NewsService]:
    svc = await NewsService.open(make_config(tmp_path, storage=storage), clock=clock)
    try:
        yield svc
    finally:
        await svc.close()


@contextlib.asynccontextmanager
async def chat_completions(
    handle: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[str]:
    """A loopback OpenAI-style endpoint answering ``POST /v1/chat/completions`` with
    ``handle``; yields its base URL (``http://127.0.0.1:<port>/v1``)."""
    app = web.Application()
    app.router.add_post("/v1/chat/completions", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()
