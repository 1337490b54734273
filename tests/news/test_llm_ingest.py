"""Optional LLM condensing at ingest: used when it answers well, cached, and never required."""

from __future__ import annotations

import json
from datetime import timedelta

from aiohttp import web

from bot.news.service import NewsService
from tests.news.conftest import make_config
from tests.news.feeds import item, rss


async def _model_server(answer) -> tuple[web.AppRunner, str, list]:
    calls: list = []

    async def completions(request: web.Request) -> web.Response:
        body = await request.json()
        calls.append(body)
        return web.json_response({"choices": [{"message": {"content": answer(body)}}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/v1", calls


async def _service(tmp_path, clock, base_url) -> NewsService:
    config = make_config(tmp_path, llm={"enabled": True, "base_url": base_url, "timeout_s": 2.0})
    return await NewsService.open(config, clock=clock)


GOOD = json.dumps(
    {
        "lead": "Regulators fined the company for breaking the new rules.",
        "points": ["The fine is the first under the law.", "The company says it will appeal."],
        "topics": ["regulation"],
    }
)


async def test_model_answer_is_used_and_cached(tmp_path, clock, feed_server) -> None:
    runner, base, calls = await _model_server(lambda body: GOOD)
    service = await _service(tmp_path, clock, base)
    try:
        feed_server.add("/feed.xml", rss([item(1)]))
        await service.add_source(feed_server.url("/feed.xml"))
        [story] = await service.stories(since=timedelta(days=30))
        assert story.lead == "Regulators fined the company for breaking the new rules."
        assert story.points == (
            "The fine is the first under the law.",
            "The company says it will appeal.",
        )
        assert story.topics == ("regulation",)
        # the same story text from another feed: answered from the cache, not the model
        feed_server.add("/other.xml", rss([item(1, link="https://other.example/1", guid="x")]))
        await service.add_source(feed_server.url("/other.xml"))
        assert len(calls) == 1
    finally:
        await service.close()
        await runner.cleanup()


async def test_bad_model_answers_fall_back_to_extractive(tmp_path, clock, feed_server) -> None:
    answers = iter(
        ["not json at all", json.dumps({"lead": "@everyone look", "points": [], "topics": []})]
    )
    runner, base, calls = await _model_server(lambda body: next(answers))
    service = await _service(tmp_path, clock, base)
    try:
        feed_server.add("/feed.xml", rss([item(1), item(2)]))
        await service.add_source(feed_server.url("/feed.xml"))
        stories = await service.stories(since=timedelta(days=30))
        assert len(calls) == 2
        for story in stories:
            assert story.lead.startswith("Story ")  # the extractive lead from the feed text
            assert "@everyone" not in story.lead
    finally:
        await service.close()
        await runner.cleanup()


async def test_unreachable_model_loses_nothing(tmp_path, clock, feed_server) -> None:
    service = await _service(tmp_path, clock, "http://127.0.0.1:9/v1")
    try:
        feed_server.add("/feed.xml", rss([item(1)]))
        await service.add_source(feed_server.url("/feed.xml"))
        [story] = await service.stories(since=timedelta(days=30))
        assert story.lead.startswith("Story 1 opens with its lead sentence")
    finally:
        await service.close()
