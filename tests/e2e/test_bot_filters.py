"""Filters end to end: /digest options, two channels filtered differently, preview, edit."""

from __future__ import annotations

import pytest
import pytest_asyncio

from tests.e2e.conftest import FEED_PATH, OTHER, REGULATION, Item, rss, text_of, world

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

CHIPS = Item(
    "Nvidia unveils new AI chips for data centres",
    "Nvidia unveiled a new generation of AI chips for data centres on Tuesday. "
    "The chips ship next quarter. Cloud providers have placed orders.",
    "https://news.test/nvidia-chips",
    3,
)
CRYPTO = Item(
    "Crypto exchange launches an AI trading assistant",
    "A large crypto exchange launched an AI assistant that suggests trades. "
    "Regulators have not commented. The feature is free for now.",
    "https://news.test/crypto-ai",
    4,
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def w(tmp_path_factory):
    async with world(tmp_path_factory.mktemp("filters"), [*REGULATION, *OTHER]) as env:
        yield env


async def admin(w, name, options):
    return await w.command(name, options, user_id=w.standin.owner_id)


async def test_digest_include_exclude_and_an_unknown_source(w):
    _, answer = await w.command("digest", {"include": '"AI Act"', "since": "7d"})
    text = text_of(answer)
    assert "EU lawmakers approve the AI Act regulation" in text
    assert "US regulators propose rules" not in text and "warehouse robot" not in text

    _, answer = await w.command("digest", {"exclude": "robot", "since": "7d"})
    text = text_of(answer)
    assert "US regulators propose rules" in text and "warehouse robot" not in text

    record, answer = await w.command("digest", {"sources": "Nowhere Times"})
    assert record.ephemeral
    assert answer["content"] == (
        "There is no source 'Nowhere Times' here; use a name or id from /sources list."
    )
    record, answer = await w.command("digest", {"include": "re:(AI"})
    assert answer["content"].startswith("Re:(AI in the include filter is not a valid regular")


async def test_preview_shows_the_week_and_saves_nothing(w):
    scope = f"guild:{w.standin.guild_id}"
    before = await w.bot.service.subscriptions(scope)
    record, answer = await admin(
        w,
        "subscribe",
        {
            "channel": await w.standin.add_channel("preview"),
            "exclude": "robot",
            "schedule": "instant",  # replayed hourly, the last run now: the stories are recent
            "preview": True,
        },
    )
    assert record.ephemeral
    text = text_of(answer)
    assert "this subscription would have posted 1 digest." in text
    assert "Stories kept out, by filter: exclude 7." in text
    # the digest it would have posted follows the sentences, as the channel would see it
    await w.standin.wait_for(lambda: record.followups, 10)
    assert "EU lawmakers approve" in "\n".join(text_of(m) for m in record.followups)
    assert await w.bot.service.subscriptions(scope) == before


async def test_two_channels_get_different_digests_and_an_edit_reposts_nothing(w):
    chips_ch = await w.standin.add_channel("chips")
    rest_ch = await w.standin.add_channel("everything-else")
    # nothing stored mentions chips yet: a warning, nothing saved, unless forced
    _, answer = await admin(w, "subscribe", {"channel": chips_ch, "include": "chips"})
    assert answer["content"].startswith("The include term 'chips' matches no story")
    assert "force" in answer["content"]
    _, answer = await admin(
        w, "subscribe", {"channel": chips_ch, "include": "chips", "force": True}
    )
    assert "(mentions “chips”)" in answer["content"]
    _, answer = await admin(
        w, "subscribe", {"channel": rest_ch, "exclude": "chips, robot", "force": True}
    )
    subs = {s.channel_id: s for s in await w.bot.service.subscriptions()}
    chips, rest = subs[chips_ch], subs[rest_ch]

    _, listing = await admin(w, "subscriptions", None)
    assert "filters: mentions “chips”" in text_of(listing)
    assert "filters: never “chips” or “robot”" in text_of(listing)

    w.feeds.add(
        FEED_PATH, rss([CHIPS, CRYPTO, *REGULATION, *OTHER]), content_type="application/rss+xml"
    )
    await w.bot.service.poll(due_only=False)  # one poll, two channels
    assert await w.bot.jobs.run_subscription(chips.id) is True
    assert await w.bot.jobs.run_subscription(rest.id) is True
    [to_chips] = w.standin.messages[chips_ch]
    [to_rest] = w.standin.messages[rest_ch]
    assert CHIPS.title in text_of(to_chips) and CRYPTO.title not in text_of(to_chips)
    assert CRYPTO.title in text_of(to_rest) and CHIPS.title not in text_of(to_rest)

    # the chips channel now wants AI news in general: it gets the crypto story, not Nvidia again
    _, answer = await admin(
        w, "subscription edit", {"subscription": str(chips.id), "include": "AI"}
    )
    assert answer["content"].startswith(f"Subscription {chips.id} now has mentions “AI”.")
    assert await w.bot.jobs.run_subscription(chips.id) is True
    after = w.standin.messages[chips_ch][1:]
    assert len(after) == 1 and CRYPTO.title in text_of(after[0])
    assert CHIPS.title not in text_of(after[0])
    assert await w.bot.jobs.run_subscription(chips.id) is False  # and nothing more
