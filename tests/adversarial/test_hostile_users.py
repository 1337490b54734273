"""Hostile or careless users, end to end: the real bot behind the Discord stand-in.

Members without Manage Server try every admin command; option values arrive at their limits
and beyond (Discord's client enforces the registered lengths, a hostile client need not); a
server adds sources past its cap; one server reaches for another's sources, subscriptions and
stories by id; one member spams the expensive commands. Each case asserts what the user sees
(a sentence, ephemeral where it is an error), that the database did not change where it must
not, and that the bot still serves the next command.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import pytest_asyncio

from cogs.errors import UNEXPECTED
from tests.discord_standin import CommandNotAvailable
from tests.discord_standin.records import MEMBER_PERMISSIONS
from tests.e2e.conftest import (
    FEED_PATH,
    OTHER,
    REGULATION,
    Item,
    World,
    custom_ids,
    make_config,
    rss,
    start,
    started_standin,
    text_of,
)
from tests.feedserver import FeedServer

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

MANAGE_GUILD = 1 << 5
ADMIN = str(MEMBER_PERMISSIONS | MANAGE_GUILD)
MEMBER = str(MEMBER_PERMISSIONS)
CAP = 3

ZEBRA = Item(
    "Zebra crossing robots reach the savanna",
    "A private feed's story about zebra crossing robots. Only its own server should see it. "
    "The robots count zebras.",
    "https://private.test/zebra",
    15,
)


def _feed(n: int) -> str:
    return rss(
        [Item(f"Feed {n} story", f"Story of extra feed {n}. It is short.", f"https://x.test/{n}")],
        title=f"Extra Feed {n}",
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def w(tmp_path_factory):
    """One bot; guild A (the stand-in's default), guild B and guild C (for the cap)."""
    tmp = tmp_path_factory.mktemp("users")
    async with FeedServer() as feeds, started_standin() as standin:
        b = standin.world.add_guild("Guild B", ("general", "news"))
        c = standin.world.add_guild("Guild C", ("general",))
        feeds.add(FEED_PATH, rss([*REGULATION, *OTHER]), content_type="application/rss+xml")
        feeds.add("/private.xml", rss([ZEBRA], title="Private Wire"))
        for n in range(1, 8):
            feeds.add(f"/extra{n}.xml", _feed(n))
        config = make_config(tmp, standin, feeds.url(FEED_PATH), max_sources_per_guild=CAP)
        async with start(config, standin) as bot:
            await bot.service.poll(due_only=False)
            env = World(standin, feeds, bot, config, tmp)
            env.extra.update(b=b, c=c)
            yield env


def fresh_user(w: World, guild=None) -> int:
    """A new member (so no cooldown carries over from another case)."""
    uid = w.standin.world.add_user(f"user{len(w.standin.world.users)}").id
    (guild or w.standin.guild).member_ids.append(uid)
    return uid


async def admin(w: World, name: str, options: dict[str, Any] | None = None, guild=None):
    """A command by a fresh member with Manage Server, in guild A (or ``guild``)."""
    guild = guild or w.standin.guild
    channel = next(iter(guild.channels))
    return await w.command(
        name,
        options,
        guild_id=guild.id,
        channel_id=channel,
        user_id=fresh_user(w, guild),
        permissions=ADMIN,
    )


async def snapshot(w: World) -> dict[str, list[tuple]]:
    """What commands may change: sources, who owns them, subscriptions and their filters."""
    db = w.bot.service.store.db
    queries = {
        "sources": "SELECT id, url, name, interval_s FROM sources ORDER BY id",
        "scopes": "SELECT source_id, scope, from_config FROM source_scopes ORDER BY 1, 2",
        "subscriptions": "SELECT id, scope, channel_id, webhook_url, topics, schedule, timezone,"
        " paused_reason, filters FROM subscriptions ORDER BY id",
        "deliveries": "SELECT count(*) FROM deliveries",
    }
    return {k: [tuple(r) for r in await db.fetch(q)] for k, q in queries.items()}


def is_sentence(text: str) -> bool:
    return text != UNEXPECTED and len(re.findall(r"[A-Za-z]{2,}", text)) >= 4


async def still_serving(w: World) -> None:
    _, answer = await w.command("topics", user_id=fresh_user(w))
    assert "Topics · last 7 days" in text_of(answer)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def guild_a_setup(w):
    """Guild A's own source (Private Wire) and a subscription, made by its admin."""
    _, answer = await admin(w, "sources add", {"url": w.feeds.url("/private.xml")})
    assert answer["content"].startswith("Added **Private Wire**"), answer
    source = next(s for s in await w.bot.service.list_sources() if s.name == "Private Wire")
    _, answer = await admin(
        w, "subscribe", {"channel": w.standin.channel("news"), "include": "zebra"}
    )
    assert answer["content"].startswith("Subscription"), answer
    (sub,) = await w.bot.service.subscriptions(f"guild:{w.standin.guild_id}")
    (story,) = await w.bot.service.search("zebra")
    return {"source": source, "sub": sub, "story": story}


# ------------------------------------------------------------------ members without Manage Server

ADMIN_COMMANDS = [
    ("sources add", lambda w, s: {"url": w.feeds.url("/extra7.xml")}),
    ("sources remove", lambda w, s: {"source": str(s["source"].id)}),
    ("sources list", lambda w, s: {}),
    ("sources test", lambda w, s: {"url": w.feeds.url("/extra7.xml")}),
    ("subscribe", lambda w, s: {"channel": w.standin.channel("general")}),
    ("subscribe", lambda w, s: {"channel": w.standin.channel("general"), "preview": True}),
    ("unsubscribe", lambda w, s: {"subscription": str(s["sub"].id)}),
    ("subscriptions", lambda w, s: {}),
    ("subscription edit", lambda w, s: {"subscription": str(s["sub"].id), "include": "x"}),
]


@pytest.mark.parametrize(("name", "options"), ADMIN_COMMANDS, ids=[c[0] for c in ADMIN_COMMANDS])
async def test_admin_command_as_member_is_refused_and_changes_nothing(
    w, guild_a_setup, name, options
):
    opts = options(w, guild_a_setup)
    # Discord's client hides the command (default_member_permissions) ...
    with pytest.raises(CommandNotAvailable):
        await w.standin.send_interaction(None, None, fresh_user(w), name, opts, permissions=MEMBER)
    # ... a server can override that; the bot's own check still refuses
    before = await snapshot(w)
    requests = len(w.feeds.requests)
    record, answer = await w.command(
        name, opts, user_id=fresh_user(w), permissions=MEMBER, enforce_default_permissions=False
    )
    assert record.ephemeral
    assert answer["content"] == "You need the Manage Server permission to use this command."
    assert not answer.get("embeds")
    assert await snapshot(w) == before
    assert len(w.feeds.requests) == requests  # nothing was fetched for them
    await still_serving(w)


@pytest.mark.parametrize("command", ["sources remove", "unsubscribe", "subscription edit"])
async def test_member_autocomplete_suggests_no_admin_data(w, guild_a_setup, command):
    option = "source" if command == "sources remove" else "subscription"
    for permissions, expect_any in ((MEMBER, False), (ADMIN, True)):
        record = await w.standin.send_autocomplete(
            command,
            {option: ""},
            focused=option,
            user_id=fresh_user(w),
            permissions=permissions,
            enforce_default_permissions=False,
        )
        choices = (await w.standin.wait_for_response(record))["choices"]
        assert bool(choices) is expect_any, (permissions, choices)


# ------------------------------------------------------------------ option values past limits

HUGE = "x" * 6000
CONTROL = "a\x00b\x07c\x1b[31m\u202e\u200bd\r\ne"
SQL = "'; DROP TABLE sources; --"
FTS = ["NEAR(", '"', "*", "AND OR NOT", 'title:"', "^x", "(((", "a NEAR/3 b", "-", "{x}"]
HOSTILE = [HUGE, "", " ", CONTROL, SQL, *FTS]

TEXT_OPTIONS = [
    ("search", "query", {}),
    ("search", "topic", {"query": "robot"}),
    ("digest", "topic", {}),
    ("digest", "include", {}),
    ("digest", "exclude", {}),
    ("digest", "sources", {}),
    ("sources add", "url", {}),
    ("sources test", "url", {}),
    ("sources remove", "source", {}),
    ("subscribe", "topics", {"preview": True}),
    ("subscribe", "schedule", {"preview": True}),
    ("subscribe", "timezone", {"preview": True}),
    ("subscribe", "webhook_url", {}),
    ("subscribe", "include", {"preview": True}),
    ("subscribe", "sources", {"preview": True}),
    ("unsubscribe", "subscription", {}),
    ("subscription edit", "subscription", {}),
    ("subscription edit", "include", {"subscription": "999"}),
]


@pytest.mark.parametrize(
    ("name", "option", "base"), TEXT_OPTIONS, ids=[f"{n}.{o}" for n, o, _ in TEXT_OPTIONS]
)
async def test_hostile_option_values_get_an_answer_never_a_crash(w, name, option, base):
    tables = await snapshot(w)
    for value in HOSTILE:
        options = {**base, option: value}
        if name == "subscribe":
            options["channel"] = w.standin.channel("general")
        record, answer = await admin(w, name, options)
        shown = text_of(answer)
        assert shown and UNEXPECTED not in shown, (name, option, value[:40], shown[:300])
        assert len(answer.get("content") or "") <= 2000
        if record.ephemeral and not answer.get("embeds"):
            assert is_sentence(shown), (name, option, value[:40], shown)
    after = await snapshot(w)
    if name not in ("sources add", "subscribe", "subscription edit"):
        assert after == tables  # reading commands and refusals change nothing
    assert after["sources"][: len(tables["sources"])] == tables["sources"]  # no table dropped
    await still_serving(w)


async def test_hostile_source_names_are_stored_shown_and_removed_safely(w):
    for n, name in enumerate(HOSTILE):
        path = f"/named{n}.xml"
        w.feeds.add(path, _feed(100 + n))
        _, answer = await admin(w, "sources add", {"url": w.feeds.url(path), "name": name})
        assert answer["content"].startswith("Added **"), (name[:40], answer)
        (source,) = [s for s in await w.bot.service.list_sources() if s.url.endswith(path)]
        assert source.name.strip(), repr(name[:40])  # never a blank name
        assert len(source.name) <= 100 and "\x00" not in source.name
        _, answer = await admin(w, "sources list")
        assert f"`#{source.id}`" in text_of(answer)
        _, answer = await admin(w, "sources remove", {"source": str(source.id)})
        assert answer["content"].startswith("Removed **"), answer
    await still_serving(w)


@pytest.mark.parametrize("value", [0, -1, 2**53, 2**63 - 1, 2**64])
async def test_story_ids_out_of_range_get_a_sentence(w, value):
    record, answer = await w.command("story", {"id": value}, user_id=fresh_user(w))
    assert record.ephemeral and is_sentence(answer["content"]), answer


# ------------------------------------------------------------------ per-guild source cap


async def test_source_cap_per_guild_refuses_one_more_with_a_sentence(w):
    c = w.extra["c"]
    for n in range(1, CAP + 1):
        _, answer = await admin(w, "sources add", {"url": w.feeds.url(f"/extra{n}.xml")}, c)
        assert answer["content"].startswith(f"Added **Extra Feed {n}**"), answer
    before = await snapshot(w)
    record, answer = await admin(w, "sources add", {"url": w.feeds.url("/extra4.xml")}, c)
    assert record.ephemeral
    assert f"already has {CAP} sources of its own" in answer["content"], answer
    assert "remove one" in answer["content"]
    assert await snapshot(w) == before
    # the config's sources do not count, and other servers have their own cap
    _, answer = await admin(w, "sources list", guild=c)
    assert f"Sources ({CAP + 1})" in text_of(answer)
    _, answer = await admin(w, "sources add", {"url": w.feeds.url("/extra4.xml")}, w.extra["b"])
    assert answer["content"].startswith("Added **Extra Feed 4**"), answer
    # removing one makes room again
    _, answer = await admin(w, "sources remove", {"source": "Extra Feed 1"}, c)
    assert answer["content"].startswith("Removed **Extra Feed 1**"), answer
    _, answer = await admin(w, "sources add", {"url": w.feeds.url("/extra5.xml")}, c)
    assert answer["content"].startswith("Added **Extra Feed 5**"), answer


# ------------------------------------------------------------------ one guild reaching into another


async def test_guild_b_cannot_remove_or_change_guild_a_things_by_id(w, guild_a_setup):
    b = w.extra["b"]
    source, sub = guild_a_setup["source"], guild_a_setup["sub"]
    before = await snapshot(w)
    attempts = [
        ("sources remove", {"source": str(source.id)}, f"no source '{source.id}' here"),
        ("sources remove", {"source": source.url}, "no source"),
        ("sources remove", {"source": "Private Wire"}, "no source 'Private Wire' here"),
        ("unsubscribe", {"subscription": str(sub.id)}, f"no subscription {sub.id}"),
        ("subscription edit", {"subscription": str(sub.id), "include": "x"}, "no subscription"),
    ]
    for name, options, expected in attempts:
        record, answer = await admin(w, name, options, b)
        assert record.ephemeral and expected.lower() in answer["content"].lower(), (name, answer)
    assert await snapshot(w) == before
    assert w.bot.jobs.next_run(sub.id) is not None  # A's digest is still scheduled


async def test_guild_b_cannot_read_guild_a_sources_subscriptions_or_stories(w, guild_a_setup):
    b = w.extra["b"]
    source, sub, story = (guild_a_setup[k] for k in ("source", "sub", "story"))
    _, answer = await admin(w, "sources list", guild=b)
    assert "Private Wire" not in text_of(answer) and f"#{source.id}`" not in text_of(answer)
    _, answer = await admin(w, "subscriptions", guild=b)
    assert f"**{sub.id}**" not in text_of(answer)
    _, answer = await admin(w, "search", {"query": "zebra"}, b)
    assert "Zebra" not in text_of(answer)
    _, answer = await admin(w, "digest", {"topic": "zebra", "since": "7d"}, b)
    assert "Zebra" not in text_of(answer)
    _, answer = await admin(w, "digest", {"sources": str(source.id)}, b)
    assert "Zebra" not in text_of(answer)
    record, answer = await admin(w, "story", {"id": story.id}, b)
    assert record.ephemeral and "Zebra" not in text_of(answer) and is_sentence(answer["content"])
    for command, option in (("sources remove", "source"), ("unsubscribe", "subscription")):
        record = await w.standin.send_autocomplete(
            command,
            {option: ""},
            focused=option,
            guild_id=b.id,
            channel_id=next(iter(b.channels)),
            user_id=fresh_user(w, b),
            permissions=ADMIN,
        )
        choices = (await w.standin.wait_for_response(record))["choices"]
        assert all("Private Wire" not in c["name"] for c in choices), choices
        assert all(c["value"] not in (str(source.id), str(sub.id)) for c in choices), choices
    # A still sees its own
    _, answer = await admin(w, "search", {"query": "zebra"})
    assert "Zebra" in text_of(answer)


async def test_guild_b_cannot_point_a_subscription_at_guild_a_channel(w, guild_a_setup):
    b = w.extra["b"]
    before = await snapshot(w)
    record, answer = await admin(w, "subscribe", {"channel": w.standin.channel("general")}, b)
    assert record.ephemeral and "not a text channel in this server" in answer["content"], answer
    assert await snapshot(w) == before


# ------------------------------------------------------------------ command spam


EXPENSIVE = [
    ("digest", {"topic": "regulation"}),
    ("search", {"query": "robot"}),
    ("story", {"id": 1}),
    ("sources add", {"url": "https://nowhere.invalid/feed"}),
    ("sources test", {"url": "not a url at all"}),
]


@pytest.mark.parametrize(("name", "options"), EXPENSIVE, ids=[c[0] for c in EXPENSIVE])
async def test_spamming_an_expensive_command_gets_a_polite_wait(w, name, options):
    from cogs._ui.checks import EXPENSIVE_PER, EXPENSIVE_RATE

    spammer = fresh_user(w)
    for _ in range(EXPENSIVE_RATE):
        _, answer = await w.command(name, options, user_id=spammer, permissions=ADMIN)
        assert "going a little fast" not in text_of(answer)
    record, answer = await w.command(name, options, user_id=spammer, permissions=ADMIN)
    assert record.ephemeral
    text = answer["content"]
    assert text.startswith("You are going a little fast: please try /" + name), text
    seconds = int(re.search(r"again in (\d+) seconds?", text).group(1))
    assert 1 <= seconds <= EXPENSIVE_PER
    # someone else is served meanwhile, and the spammer's other commands still work
    _, answer = await w.command(name, options, user_id=fresh_user(w), permissions=ADMIN)
    assert "going a little fast" not in text_of(answer)
    _, answer = await w.command("topics", user_id=spammer)
    assert "Topics · last 7 days" in text_of(answer)


async def test_spamming_a_brief_button_gets_a_polite_wait(w):
    from cogs._ui.checks import EXPENSIVE_RATE

    _, digest = await w.command("digest", {"since": "7d"}, user_id=fresh_user(w))
    button = next(i for i in custom_ids(digest) if i.startswith("brief:"))
    spammer = fresh_user(w)

    async def press(user_id: int) -> tuple[Any, dict[str, Any]]:
        pressed = await w.standin.press_button(digest, button, user_id=user_id)
        await w.standin.wait_for(lambda: pressed.acknowledged, 5)
        return pressed, pressed.callbacks[0]["data"] if pressed.callbacks else pressed.edits[-1]

    for _ in range(EXPENSIVE_RATE):
        _, reply = await press(spammer)
        assert "going a little fast" not in text_of(reply)
    pressed, reply = await press(spammer)
    assert pressed.ephemeral
    assert reply["content"].startswith("You are going a little fast: please try a Brief button")
    _, reply = await press(fresh_user(w))  # someone else is served meanwhile
    assert "going a little fast" not in text_of(reply)
