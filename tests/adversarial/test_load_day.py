"""A shortened simulated day (bench/load_day.py): the jobs keep up and nothing is lost or doubled.

50 sources, 3 guilds, 20 subscriptions (daily, hourly, weekdays, instant), a poll every
simulated minute for two simulated hours, the clock moved rather than waited for.
"""

from __future__ import annotations

from bench.load_day import run_day


async def test_a_short_day_of_polls_and_digests_keeps_every_promise(tmp_path) -> None:
    figures = await run_day(
        sources=50, guilds=3, subs=20, hours=2, story_every_h=1.0, workdir=tmp_path
    )

    # every story the feeds published is stored once, and none reached a channel twice
    assert figures["stories_published"] > figures["sources"] * 5  # news arrived during the day
    assert figures["lost_stories"] == 0
    assert figures["duplicate_stories"] == 0
    assert figures["duplicates_posted"] == 0

    # every digest that fell due ran and went out; nothing is left pending or failed
    assert figures["runs_due"] > 0
    assert figures["runs_done"] == figures["runs_due"]
    assert figures["missed_digests"] == 0
    assert figures["digests_posted"] > 0 and figures["instant_messages"] > 0
    assert figures["deliveries_pending"] == 0 and figures["deliveries_failed"] == 0

    # the jobs never ran into each other. How responsive the event loop stayed (lag p99,
    # the longest minute) is a speed figure: `python -m bench.load_day` prints it, as it
    # depends on what else the machine runs (on a shared 2-core machine, 20-90 ms here)
    assert figures["job_overlaps"] == 0
    # memory does not climb with every poll (allowing for the stories the day adds)
    assert figures["rss_end_mib"] - figures["rss_start_mib"] < 30
