"""Slash commands end to end: one bot for the module, driven through the Discord stand-in."""

from __future__ import annotations

import pytest
import pytest_asyncio

from tests.discord_standin import CommandNotAvailable
from tests.e2e.conftest import MENTIONS, OTHER, REGULATION, custom_ids, text_of, world

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

COMMANDS = {
    "digest",
    "search",
    "topics",
    "sources",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "subscription",
    "status",
}
MANAGE_GUILD = str(1 << 5)
LOG: dict[str, str] = {}  # command -> a sample answer, printed for the issue note


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def w(tmp_path_factory):
    async with world(tmp_path_factory.mktemp("cmds"), [*REGULATION, *OTHER, MENTIONS]) as env:
        yield env
    if LOG:
        print("\n".join(f"--- {k}\n{v}" for k, v in LOG.items()))


def answer_body(record) -> dict:
    """What the bot sent as its answer: the callback's data, or the edit of a deferred one."""
    if record.response_type == 4:
        return record.callbacks[0]["data"]
    return record.edits[-1]


def every_option_described(options):
    for option in options or []:
        assert option.get("description"), option
        every_option_described(option.get("options"))


async def test_commands_synced_with_descriptions_and_permissions(w):
    synced = {c["name"]: c for c in w.standin.commands}
    assert set(synced) == COMMANDS
    for command in synced.values():
        assert command["description"]
        every_option_described(command.get("options"))
    for admin in ("sources", "subscribe", "unsubscribe", "subscriptions", "subscription"):
        assert synced[admin]["default_member_permissions"] == MANAGE_GUILD
        assert synced[admin]["contexts"] == [0]  # guild only
    assert synced["digest"]["default_member_permissions"] is None
    intents = w.standin.gateway.identify_payloads[0]["intents"]
    privileged = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content
    assert intents & privileged == 0


async def test_digest_regulation_answers_with_its_stories(w):
    record, answer = await w.command("digest", {"topic": "regulation"})
    text = text_of(answer)
    LOG["/digest topic:regulation"] = text[:600]
    assert "EU lawmakers approve the AI Act regulation" in text
    assert "US regulators propose rules for AI chatbots" in text
    assert "warehouse robot" not in text  # other topics stay out
    assert not record.ephemeral
    assert answer_body(record)["allowed_mentions"]["parse"] == []


async def test_private_digest_is_ephemeral(w):
    record = await w.standin.send_interaction(
        None, None, None, "digest", {"topic": "regulation", "private": True}
    )
    await w.standin.wait_for(lambda: record.original is not None or record.followups, 10)
    flags = (record.callbacks[0].get("data") or {}).get("flags", 0)
    assert flags & 64, record.callbacks


async def test_topic_autocomplete_suggests_taxonomy(w):
    record = await w.standin.send_autocomplete("digest", {"topic": "regul"}, focused="topic")
    answer = await w.standin.wait_for_response(record)
    assert "regulation" in [c["value"] for c in answer["choices"]]


async def test_timezone_autocomplete(w):
    record = await w.standin.send_autocomplete(
        "subscribe",
        {"channel": w.standin.channel_id, "timezone": "berl"},
        focused="timezone",
        user_id=w.standin.owner_id,
    )
    answer = await w.standin.wait_for_response(record)
    assert [c["value"] for c in answer["choices"]] == ["Europe/Berlin"]


async def test_search_pages_with_buttons_only_for_the_invoker(w):
    _, answer = await w.command("search", {"query": "robot"})
    first = text_of(answer)
    LOG["/search query:robot"] = first[:400]
    assert "Page 1/2" in first
    ids = custom_ids(answer)
    assert len(ids) == 2

    other = w.standin.add_user("stranger")
    refused = await w.standin.press_button(answer, ids[1], user_id=other)
    await w.standin.wait_for(lambda: refused.acknowledged, 5)
    assert refused.ephemeral
    assert "Only the person who ran" in refused.callbacks[0]["data"]["content"]
    assert "Page 1/2" in text_of(w.standin.world.message_index[int(answer["id"])])

    pressed = await w.standin.press_button(answer, ids[1])
    await w.standin.wait_for(lambda: pressed.acknowledged, 5)
    assert pressed.response_type == 7  # the message was updated in place
    shown = w.standin.world.message_index[int(answer["id"])]
    assert "Page 2/2" in text_of(shown)


async def test_topics_lists_counts(w):
    _, answer = await w.command("topics")
    text = text_of(answer)
    LOG["/topics"] = text[:400]
    assert "Regulation" in text and "2 stories" in text


async def test_status(w):
    _, answer = await w.command("status")
    text = text_of(answer)
    LOG["/status"] = text[:400]
    assert "1 ok" in text and "Stories stored" in text and "briefbot 0.1.0" in text


async def test_admin_commands_hidden_and_refused_without_manage_server(w):
    with pytest.raises(CommandNotAvailable):
        await w.standin.send_interaction(None, None, None, "sources list")
    # a server owner may override the hint; the run-time check still refuses
    record, answer = await w.command("sources list", enforce_default_permissions=False)
    assert record.ephemeral
    assert answer["content"] == "You need the Manage Server permission to use this command."
    record, answer = await w.command(
        "subscriptions", enforce_default_permissions=False, permissions="0"
    )
    assert "Manage Server" in answer["content"]


async def test_sources_commands_with_manage_server(w):
    w.feeds.add("/extra.xml", _extra_feed(), content_type="application/rss+xml")
    url = w.feeds.url("/extra.xml")
    record, answer = await w.command("sources test", {"url": url}, user_id=w.standin.owner_id)
    LOG["/sources test"] = text_of(answer)[:300]
    assert "Preview: Extra Feed" in text_of(answer) and record.ephemeral

    _, answer = await w.command("sources add", {"url": url}, permissions=MANAGE_GUILD)
    LOG["/sources add"] = answer["content"]
    assert answer["content"].startswith("Added **Extra Feed**")

    _, answer = await w.command("sources list", user_id=w.standin.owner_id)
    text = text_of(answer)
    LOG["/sources list"] = text[:400]
    assert "Extra Feed" in text and "server-wide (bot config)" in text

    record = await w.standin.send_autocomplete(
        "sources remove", {"source": "extra"}, focused="source", user_id=w.standin.owner_id
    )
    choices = (await w.standin.wait_for_response(record))["choices"]
    assert [c["name"].split(" — ")[0] for c in choices] == ["Extra Feed"]  # own sources only

    _, answer = await w.command(
        "sources remove", {"source": "Loopback News"}, user_id=w.standin.owner_id
    )
    assert "server-wide source from the bot's configuration" in answer["content"]
    _, answer = await w.command(
        "sources remove", {"source": choices[0]["value"]}, user_id=w.standin.owner_id
    )
    LOG["/sources remove"] = answer["content"]
    assert answer["content"].startswith("Removed **Extra Feed**")


async def test_bad_input_gets_a_sentence_not_a_traceback(w):
    record, answer = await w.command(
        "subscribe",
        {"channel": w.standin.channel_id, "schedule": "every other tuesday"},
        user_id=w.standin.owner_id,
    )
    assert record.ephemeral
    assert answer["content"].startswith("'every other tuesday' is not a schedule")


async def test_subscribe_then_scheduled_digest_is_delivered_once(w):
    news = w.standin.channel("news")
    _, answer = await w.command(
        "subscribe",
        {
            "channel": news,
            "topics": "regulation",
            "schedule": "daily 08:00",
            "timezone": "Europe/Berlin",
        },
        user_id=w.standin.owner_id,
    )
    LOG["/subscribe"] = answer["content"]
    assert "daily 08:00 (Europe/Berlin)" in answer["content"]
    sub = (await w.bot.service.subscriptions(f"guild:{w.standin.guild_id}"))[-1]
    assert w.bot.jobs.next_run(sub.id) is not None

    before = len(w.standin.messages.get(news, []))
    # nothing new since subscribing (the first poll's stories are backlog): nothing posted
    assert await w.bot.jobs.run_subscription(sub.id) is False
    assert len(w.standin.messages.get(news, [])) == before

    w.feeds.add("/news.xml", _with_new_regulation_story(), content_type="application/rss+xml")
    await w.bot.service.poll(due_only=False)
    assert await w.bot.jobs.run_subscription(sub.id) is True
    posted = w.standin.messages[news][before:]
    assert len(posted) == 1
    LOG["scheduled digest"] = text_of(posted[0])[:400]
    assert "UK watchdog opens AI regulation consultation" in text_of(posted[0])
    assert posted[0]["nonce"]

    assert await w.bot.jobs.run_subscription(sub.id) is False  # already had it: nothing again
    assert len(w.standin.messages[news]) == before + 1

    _, answer = await w.command("subscriptions", user_id=w.standin.owner_id)
    LOG["/subscriptions"] = text_of(answer)[:300]
    assert f"**{sub.id}**" in text_of(answer) and "next digest" in text_of(answer)

    _, answer = await w.command(
        "unsubscribe", {"subscription": str(sub.id)}, user_id=w.standin.owner_id
    )
    LOG["/unsubscribe"] = answer["content"]
    assert answer["content"] == f"Subscription {sub.id} removed."
    assert w.bot.jobs.next_run(sub.id) is None


async def test_feed_text_never_pings(w):
    record, answer = await w.command("search", {"query": "ping"})
    text = text_of(answer)
    assert "Ping test" in text
    assert "@everyone" not in text and "<@&123>" not in text
    assert answer_body(record)["allowed_mentions"] == {"parse": []}
    for messages in w.standin.messages.values():
        for message in messages:
            assert not message.get("mention_everyone")
            assert not message.get("mention_roles")


def _extra_feed() -> str:
    from tests.e2e.conftest import Item, rss

    items = [
        Item(
            f"Extra story {n} about chips",
            f"Chip story {n}. More text here.",
            f"https://extra.test/{n}",
            n,
        )
        for n in range(1, 5)
    ]
    return rss(items, title="Extra Feed")


def _with_new_regulation_story() -> str:
    from tests.e2e.conftest import Item, rss

    new = Item(
        "UK watchdog opens AI regulation consultation",
        "The UK competition watchdog opened a consultation on regulation of AI foundation "
        "models. Lawmakers asked for evidence by June.",
        "https://news.test/uk-watchdog",
        1,
    )
    return rss([new, *REGULATION, *OTHER, MENTIONS])
