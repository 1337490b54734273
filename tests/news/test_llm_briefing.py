"""The model-written story briefing against a loopback stand-in model: checked, cached, and
the offline briefing whenever the model is slow, broken or makes a fact up."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from bot.news.llm import CLOSE, OPEN
from bot.news.service import NewsService
from tests.news.conftest import chat_completions, make_config
from tests.news.feeds import BASE, item, rss

FIRST = item(
    1,
    title="EU fines chatbot maker Acme under the AI Act",
    description="<p>The European Commission fined Acme €20 million on Monday under the AI Act. "
    "Acme said it would appeal the decision at the European Court of Justice. "
    "The commission said the chatbot had misled users about its safety tests.</p>",
    published=BASE,
)
SECOND = item(
    2,
    link="https://wire.example/acme-fine",
    guid="wire-1",
    title="EU fines chatbot maker Acme €20 million under the AI Act",
    description="<p>Regulators in Brussels fined the chatbot maker Acme €20 million under the "
    "AI Act. Officials said the penalty was four percent of its European revenue. "
    "Rival firms welcomed the ruling as a sign the rules would be enforced.</p>",
    published=BASE,
)


class Model:
    """Answers briefing requests with ``answer(sentences)`` and records them; the ingest
    condenser's requests (a story, not sentences) get an error, so stories stay extractive."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answer: Callable[[list[dict[str, Any]]], Any] = lambda sentences: {}
        self.delay = 0.0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        user = body["messages"][1]["content"]
        data = json.loads(user.split(OPEN + "\n")[1].split("\n" + CLOSE)[0])
        if "sentences" not in data:
            return web.Response(status=500)
        self.requests.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        content = self.answer(data["sentences"])
        text = content if isinstance(content, str) else json.dumps(content)
        return web.json_response({"choices": [{"message": {"content": text}}]})


@pytest.fixture
async def model() -> AsyncIterator[tuple[Model, str]]:
    stand_in = Model()
    async with chat_completions(stand_in.handle) as url:
        yield stand_in, url


async def _briefing(tmp_path, clock, feed_server, base: str, *, enabled: bool = True, times=1):
    llm = {"enabled": enabled, "base_url": base, "timeout_s": 0.5, "model": "fake-7b"}
    service = await NewsService.open(make_config(tmp_path, llm=llm), clock=clock)
    try:
        feed_server.add("/a.xml", rss([FIRST], title="Policy Daily"))
        feed_server.add("/b.xml", rss([SECOND], title="Policy Wire"))
        await service.add_source(feed_server.url("/a.xml"), backfill=1)
        await service.add_source(feed_server.url("/b.xml"), backfill=1)
        await service.cluster()
        story = (await service.stories(limit=1))[0]
        return [await service.story_briefing(story.id) for _ in range(times)]
    finally:
        await service.close()


def _find(sentences: list[dict[str, Any]], words: str) -> dict[str, Any]:
    return next(s for s in sentences if words in s["text"])


def good(sentences: list[dict[str, Any]]) -> dict[str, Any]:
    fine = _find(sentences, "Commission fined Acme")
    appeal = _find(sentences, "appeal")
    penalty = _find(sentences, "four percent")
    return {
        "headline": "EU fines chatbot maker Acme under the AI Act",
        "lead": fine["text"],
        "lead_source": fine["n"],
        "sections": [
            {
                "title": "The fine and the appeal",
                "summary": {"text": penalty["text"], "source": penalty["n"]},
                "bullets": [
                    {"text": "Acme said it would appeal the decision.", "source": appeal["n"]},
                    # cites the wrong sentence: credited to the one that says it
                    {"text": "Rival firms welcomed the ruling.", "source": fine["n"]},
                ],
            }
        ],
    }


async def test_a_good_answer_is_used_credited_and_cached(
    tmp_path, clock, feed_server, model
) -> None:
    stand_in, base = model
    stand_in.answer = good
    first, second = await _briefing(tmp_path, clock, feed_server, base, times=2)
    assert len(stand_in.requests) == 1, "the second briefing comes from the cache"
    assert first == second
    assert first.written_by == "fake-7b"
    assert first.lead.startswith("The European Commission fined Acme")
    assert first.lead_outlet == "Policy Daily"
    [section] = first.sections
    assert section.title == "The fine and the appeal"
    assert section.summary.outlet == "Policy Wire"
    appeal, rivals = section.bullets
    assert (appeal.outlet, rivals.outlet) == ("Policy Daily", "Policy Wire")
    assert set(first.outlets) == {"Policy Daily", "Policy Wire"}
    system, user = stand_in.requests[0]["messages"]
    assert "Use only facts stated in those sentences" in system["content"]
    assert '"outlet": "Policy Wire"' in user["content"]


def invented(sentences: list[dict[str, Any]]) -> dict[str, Any]:
    answer = good(sentences)
    answer["sections"][0]["bullets"].append(
        {"text": "Acme's chief executive resigned after the verdict.", "source": 1}
    )
    return answer


def invented_figure(sentences: list[dict[str, Any]]) -> dict[str, Any]:
    answer = good(sentences)
    fine = _find(sentences, "Commission fined Acme")
    answer["sections"][0]["bullets"][0] = {
        "text": "The European Commission fined Acme €90 million under the AI Act.",
        "source": fine["n"],
    }
    return answer


def no_sections(sentences: list[dict[str, Any]]) -> dict[str, Any]:
    return {**good(sentences), "sections": []}


def mention(sentences: list[dict[str, Any]]) -> dict[str, Any]:
    answer = good(sentences)
    answer["sections"][0]["title"] = "@everyone read this"
    return answer


@pytest.mark.parametrize(
    "answer",
    [
        invented,
        invented_figure,
        no_sections,
        mention,
        lambda sentences: "this is not json {",
        lambda sentences: ["a", "list"],
        lambda sentences: {"headline": "Aliens land in Brussels", "sections": []},
    ],
    ids=["invented", "figure", "empty", "mention", "nonsense", "list", "made-up-headline"],
)
async def test_a_bad_answer_gives_the_offline_briefing(
    tmp_path, clock, feed_server, model, answer, caplog
) -> None:
    stand_in, base = model
    stand_in.answer = answer
    with caplog.at_level(logging.WARNING, logger="bot.news.llm_briefing"):
        first, second = await _briefing(tmp_path, clock, feed_server, base, times=2)
    assert first.written_by == second.written_by == "offline"
    assert len(stand_in.requests) == 2, "a rejected answer is not cached"
    warnings = [r for r in caplog.records if r.name == "bot.news.llm_briefing"]
    assert len(warnings) == 2 and all(r.exc_info is None for r in warnings)


async def test_a_timeout_gives_the_offline_briefing(
    tmp_path, clock, feed_server, model, caplog
) -> None:
    stand_in, base = model
    stand_in.answer = good
    stand_in.delay = 2.0
    with caplog.at_level(logging.WARNING, logger="bot.news.llm_briefing"):
        [briefing] = await _briefing(tmp_path, clock, feed_server, base)
    assert briefing.written_by == "offline"
    [warning] = [r for r in caplog.records if r.name == "bot.news.llm_briefing"]
    assert warning.getMessage().endswith(": TimeoutError") and warning.exc_info is None


async def test_an_unreachable_model_gives_the_offline_briefing(
    tmp_path, clock, feed_server, model
) -> None:
    _, base = model
    [briefing] = await _briefing(tmp_path, clock, feed_server, base.replace("/v1", "/nowhere"))
    assert briefing.written_by == "offline"


async def test_llm_disabled_never_asks(tmp_path, clock, feed_server, model) -> None:
    stand_in, base = model
    stand_in.answer = good
    [briefing] = await _briefing(tmp_path, clock, feed_server, base, enabled=False)
    assert briefing.written_by == "offline"
    assert stand_in.requests == []
