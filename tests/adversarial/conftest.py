"""Shared pieces of the adversarial suite: a service against loopback, and what a channel sees.

Every test here is marked ``adversarial`` (``pytest -m adversarial`` runs them alone) and
asserts what a user would see: the error sentence, the rendered Discord payload, the time
taken. Timeouts in the service's config are short so the slow-server cases stay quick.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.news.service import NewsService
from bot.render import render_digest
from tests.news.conftest import Clock, make_config
from tests.news.feeds import BASE


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/adversarial carries the marker, whatever its module says."""
    for item in items:
        if "tests/adversarial/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.adversarial)


@pytest.fixture
def clock() -> Clock:
    return Clock(BASE + timedelta(hours=1))


@pytest.fixture
async def service(tmp_path, clock) -> AsyncIterator[NewsService]:
    config = make_config(tmp_path, fetch={"timeout_s": 2.0, "connect_timeout_s": 1.0})
    svc = await NewsService.open(config, clock=clock)
    try:
        yield svc
    finally:
        await svc.close()


async def channel_payloads(service: NewsService, clock: Clock) -> list[dict[str, Any]]:
    """The digest messages a channel would get now (stories of the last year)."""
    digest = await service.digest(since=timedelta(days=365 * 200), limit=50, widen=False)
    return render_digest(digest, now=clock.now)


def payload_text(payloads: list[dict[str, Any]]) -> str:
    """All the text of the payloads (content, titles, descriptions, fields, footers, URLs)."""
    return json.dumps(payloads, ensure_ascii=False)


_MASKED = re.compile(r"(?<!\\)\[[^\]\n]*(?<!\\)\]\((?!<?https?://)")


def assert_within_discord_limits(payloads: list[dict[str, Any]]) -> None:
    """Discord's documented limits for a message and its embeds."""
    for message in payloads:
        assert len(message.get("content") or "") <= 2000
        embeds = message.get("embeds") or []
        assert len(embeds) <= 10
        total = 0
        for embed in embeds:
            title = embed.get("title") or ""
            description = embed.get("description") or ""
            assert _units(title) <= 256
            assert _units(description) <= 4096
            total += _units(title) + _units(description)
            for fld in embed.get("fields") or []:
                assert _units(fld["name"]) <= 256
                assert _units(fld["value"]) <= 1024
                total += _units(fld["name"]) + _units(fld["value"])
            footer = (embed.get("footer") or {}).get("text") or ""
            author = (embed.get("author") or {}).get("name") or ""
            assert _units(footer) <= 2048 and _units(author) <= 256
            total += _units(footer) + _units(author)
        assert total <= 6000


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
