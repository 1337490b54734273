"""/story and the digest's Brief buttons, end to end through the Discord stand-in."""

from __future__ import annotations

import pytest
import pytest_asyncio

from tests.e2e.conftest import OTHER, REGULATION, Item, custom_ids, rss, text_of, world

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

#: the AI Act story again, from a second outlet with more to say
SECOND = Item(
    "EU lawmakers approve the AI Act, the first AI regulation",
    "European lawmakers approved the AI Act, the first broad regulation of artificial "
    "intelligence, on Tuesday. Providers of high-risk systems must register them in an EU "
    "database. Fines reach seven percent of a company's global revenue. Regulators will "
    "enforce the law from next year.",
    "https://wire.test/ai-act",
    25,
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def w(tmp_path_factory):
    async with world(tmp_path_factory.mktemp("story"), [*REGULATION, *OTHER]) as env:
        env.feeds.add("/wire.xml", rss([SECOND], title="Policy Wire"), content_type="text/xml")
        await env.bot.service.add_source(env.feeds.url("/wire.xml"), name="Policy Wire")
        await env.bot.service.poll(due_only=False)
        yield env


async def story_id(w, headline: str) -> int:
    stories = await w.bot.service.stories(limit=50)
    return next(s.id for s in stories if s.headline == headline)


async def test_story_shows_the_briefing_from_every_outlet(w):
    sid = await story_id(w, REGULATION[0].title)
    _, answer = await w.command("story", {"id": sid})
    text = text_of(answer)
    assert "EU lawmakers approve the AI Act" in text
    assert "European lawmakers approved the AI Act" in text  # the lead
    footer = answer["embeds"][0]["footer"]["text"]
    assert "2 outlets: " in footer and "Loopback News" in footer and "Policy Wire" in footer
    assert "Fines reach seven percent of a company's global revenue." in text  # the 2nd outlet
    assert "*— Policy Wire*" in text  # each fact credits its outlet


async def test_an_unknown_story_gets_one_short_sentence(w):
    record, _ = await w.command("story", {"id": 987654})
    await w.standin.wait_for(lambda: record.acknowledged, 5)
    reply = record.callbacks[0]["data"] if record.callbacks else record.edits[-1]
    assert reply["content"].startswith("There is no story 987654 here")
    assert "Traceback" not in reply["content"] and len(reply["content"]) < 200


async def test_each_digest_story_has_a_brief_button_that_answers_only_the_presser(w):
    _, answer = await w.command("digest", {"since": "7d"})
    ids = [i for i in custom_ids(answer) if i.startswith("brief:")]
    assert ids, custom_ids(answer)
    sid = await story_id(w, REGULATION[1].title)
    assert f"brief:{sid}" in ids
    pressed = await w.standin.press_button(answer, f"brief:{sid}")
    await w.standin.wait_for(lambda: pressed.acknowledged, 5)
    reply = pressed.callbacks[0]["data"] if pressed.callbacks else pressed.edits[-1]
    assert pressed.ephemeral
    assert "US regulators propose rules for AI chatbots" in text_of(reply)
    assert "Loopback News" in reply["embeds"][0]["footer"]["text"]


async def test_a_button_for_a_story_gone_since_says_so(w):
    _, answer = await w.command("digest", {"since": "7d"})
    first = next(i for i in custom_ids(answer) if i.startswith("brief:"))
    message = dict(answer)
    gone = "brief:999999"
    message["components"] = [
        {"type": 1, "components": [{"type": 2, "style": 2, "label": "Brief", "custom_id": gone}]}
    ]
    assert first != gone
    pressed = await w.standin.press_button(message, gone)
    await w.standin.wait_for(lambda: pressed.acknowledged, 5)
    reply = pressed.callbacks[0]["data"] if pressed.callbacks else pressed.edits[-1]
    assert reply["content"].startswith("There is no story 999999 here")
