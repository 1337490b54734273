"""How many condensed points are filler a reader would skip, by kind, on real feeds.

Run from the repository root::

    python -m bench.filler                 # the table (about 10 s)
    python -m bench.filler --show 5        # also five examples of each kind
    python -m bench.filler --stories 20    # also print 20 condensed stories, as a reader sees them
    python -m bench.filler --corpus real-world

Every story goes through what ingest does (``Enricher.enrich``: ``clean_text`` of the
richest body, ``condense`` of the cleaned title and that text), and every point is judged
by the rules below. A point can be of several kinds; "any filler" counts it once.

The judge is written apart from the condenser's own filters (``bot/news/points.py``) on
purpose: sharing the rules would make the figure measure itself. It is deliberately a bit
stricter than the filters (any opening pronoun or connective counts as dangling, even where
a reader could guess the referent).

Corpora (see ``bench/data/feeds/ATTRIBUTION.md``):

* ``ai-blogs``: ten AI companies' blog feeds (``tests/data/feeds/ai-blogs``);
* ``real-world``: 17 news-site, company and personal-blog feeds
  (``bench/data/feeds/real-world``);
* ``devset``: titles and feed descriptions of ~2,000 stories from ~250 outlets
  (``tests/data/devset/*.jsonl``; rows cut to 320 characters by the devset's maker and
  repeated titles left out).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.news.clean import clean_text, clean_title
from bot.news.condense import condense, content_words
from bot.news.models import Condensed
from bot.news.parse import parse_feed

ROOT = Path(__file__).resolve().parent.parent
CORPORA = {
    "ai-blogs": ROOT / "tests" / "data" / "feeds" / "ai-blogs",
    "real-world": ROOT / "bench" / "data" / "feeds" / "real-world",
    "devset": ROOT / "tests" / "data" / "devset",
}

KINDS = ("dangling", "truncated", "question", "call to action", "marketing", "fragment", "repeat")

#: a point that opens with one of these leans on a sentence the reader has not got
_DANGLING = re.compile(
    r"^[\"'“‘(]*(?:it|its|it's|it’s|they|they're|they’re|them|their|theirs|he|him|his|she|"
    r"her|hers|this|that|these|those|such|here|here's|here’s|there's|there’s|both|"
    r"but|and|so|also|however|yet|still|instead(?! of)|then|thus|as such|that's|that’s|"
    r"the latter|the former|the same|which)\b(?!\s+(?:week|month|year|morning|afternoon|evening|"
    r"weekend|summer|spring|autumn|fall|winter|season|time|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday)\b)",
    re.IGNORECASE,
)
#: a quotation and who said it: its pronouns are the speaker's, not a dangling reference
_ATTRIBUTED = re.compile(r"^[“\"][^”\"]+[”\"],?\s+(?:\S+\s+){0,6}?(?:says|said|added|told)\b")
#: the text ends in an ellipsis or without a sentence's final punctuation
_TRUNCATED_END = re.compile(r"(?:…|\.\.\.|\[…\]|\[\.\.\.\]|\[&hellip;\])[\"'”’)\]]*$")
_FINAL = tuple(".!?\"'”’)»。！？")
_CALL_TO_ACTION = re.compile(
    r"^(?:read|learn|find out|sign up|subscribe|submit|click|join|register|download|try|get|"
    r"watch|listen|follow|visit|check out|see|discover|explore|start|tune in|don't miss|"
    r"don’t miss|be sure|make sure|share|tell us|let us know|stay tuned|apply|book|shop|"
    r"buy|grab|save|order|head to|go to|contact|reach out|view|continue)\b(?![-’'])"
    r"|\b(?:click here|sign up (?:for|to|now|today|here)|subscribe (?:to|now|today)|join us|"
    r"register (?:now|today|here)|get started|you can now|you can try|try it (?:now|today|out)|"
    r"link in bio|watch now|listen now)\b"
    r"|\b(?:read|learn|find out|see) more\W*$",
    re.IGNORECASE,
)
_MARKETING = re.compile(
    r"\b(?:we(?:'re| are|’re)|i(?:'m| am|’m))\s+(?:so\s+|very\s+|really\s+)?"
    r"(?:excited|thrilled|proud|pleased|delighted|happy|glad|honou?red|eager|humbled)\b"
    r"|\b(?:excited|thrilled|proud|delighted|pleased) to (?:announce|share|introduce|unveil|"
    r"launch|welcome|partner)\b"
    r"|\bour (?:new|latest|newest|best|most)\b|\bwe can(?:'t|not|’t) wait\b"
    r"|\bstay tuned\b|\bwe(?:'ve| have) got you covered\b"
    r"|\b(?:in|with) this (?:post|article|blog|piece|episode|video|guide|tutorial)\b"
    r"|^(?:congratulations|congrats|thank you|thanks|welcome|hello|hi|hey)\b|!$",
    re.IGNORECASE,
)


def judge(point: str, lead: str, headline: str) -> set[str]:
    """The kinds of filler *point* is, as a reader of the briefing would see them."""
    kinds: set[str] = set()
    text = point.strip()
    bare = text.rstrip("\"'”’)] ")
    torn = text.count("“") != text.count("”") or text.count('"') % 2
    if torn or (_DANGLING.match(text) and not _ATTRIBUTED.match(text)):
        kinds.add("dangling")
    if _TRUNCATED_END.search(text) or not text.endswith(_FINAL):
        kinds.add("truncated")
    if bare.endswith("?"):
        kinds.add("question")
    if _CALL_TO_ACTION.search(text):
        kinds.add("call to action")
    if _MARKETING.search(bare):
        kinds.add("marketing")
    if len(text.split()) < 6:
        kinds.add("fragment")
    words = content_words(text)
    said = content_words(lead) | content_words(headline)
    if len(words) >= 3 and len(words & said) / len(words) >= 0.6:
        kinds.add("repeat")
    return kinds


@dataclass(frozen=True)
class Item:
    corpus: str
    source: str
    title: str
    body_html: str


def feed_items(corpus: str, folder: Path) -> Iterator[Item]:
    """Every entry of the feeds in *folder*, as a poll parses them."""
    fetched = datetime(2026, 1, 1, tzinfo=UTC)
    for path in sorted(folder.glob("*.xml")):
        feed = parse_feed(
            path.read_bytes(), url=f"https://{path.stem}.example/feed", fetched_at=fetched
        )
        for e in feed.entries:
            yield Item(corpus, path.stem, e.title, e.content_html or e.summary_html)


def devset_items(folder: Path) -> Iterator[Item]:
    """Titles and feed descriptions of the labelled sets, once per title.

    Rows from depodefi/rss-miner are left out: they are the ai-blogs feeds again, cut to
    320 characters by the devset's maker (a cut no feed made).
    """
    seen: set[str] = set()
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if "title" not in row:  # labels only (test_second) or pairs
                continue
            origin = row.get("origin") or {}
            if origin.get("repo") == "depodefi/rss-miner" or row["title"] in seen:
                continue
            seen.add(row["title"])
            outlet = origin.get("outlet") or origin.get("repo") or path.stem
            yield Item("devset", outlet, row["title"], row.get("summary") or "")


def items(corpora: list[str]) -> list[Item]:
    out: list[Item] = []
    for name in corpora:
        folder = CORPORA[name]
        out += devset_items(folder) if name == "devset" else feed_items(name, folder)
    return out


def condensed(item: Item) -> Condensed:
    """What ingest stores for *item* (see ``bot.news.enrich.Enricher.enrich``)."""
    return condense(clean_title(item.title), clean_text(item.body_html))


@dataclass
class Tally:
    stories: int = 0
    with_text: int = 0
    no_points: int = 0  # stories with text but no points
    points: int = 0
    filler: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, item: Item, c: Condensed) -> None:
        self.stories += 1
        if not c.lead:
            return
        self.with_text += 1
        if not c.points:
            self.no_points += 1
        for point in c.points:
            self.points += 1
            found = judge(point, c.lead, c.headline)
            self.filler += bool(found)
            for kind in found:
                self.kinds[kind] += 1
                self.examples.setdefault(kind, []).append(f"[{item.source}] {point}")


def _share(n: int, of: int) -> str:
    return f"{100 * n / of:5.1f}%" if of else "    -"


def report(tallies: dict[str, Tally]) -> None:
    names = list(tallies)
    print(f"{'':<26}" + "".join(f"{n:>12}" for n in names))
    rows: list[tuple[str, list[str]]] = [
        ("stories", [str(t.stories) for t in tallies.values()]),
        ("  with text", [str(t.with_text) for t in tallies.values()]),
        ("  of those, no points", [_share(t.no_points, t.with_text) for t in tallies.values()]),
        ("points", [str(t.points) for t in tallies.values()]),
        (
            "  per story with text",
            [f"{t.points / max(t.with_text, 1):.2f}" for t in tallies.values()],
        ),
        ("filler (any kind)", [_share(t.filler, t.points) for t in tallies.values()]),
    ]
    rows += [
        (f"  {kind}", [_share(t.kinds[kind], t.points) for t in tallies.values()]) for kind in KINDS
    ]
    for label, cells in rows:
        print(f"{label:<26}" + "".join(f"{c:>12}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", choices=list(CORPORA), help="repeatable")
    parser.add_argument("--show", type=int, default=0, help="N examples of each kind")
    parser.add_argument("--stories", type=int, default=0, help="print N condensed stories")
    parser.add_argument("--skip", type=int, default=0, help="start --stories after N stories")
    args = parser.parse_args()
    corpora = args.corpus or list(CORPORA)
    tallies = {name: Tally() for name in corpora}
    total = Tally()
    shown: list[tuple[Item, Condensed]] = []
    everything = items(corpora)
    for item in everything:
        c = condensed(item)
        tallies[item.corpus].add(item, c)
        total.add(item, c)
        if c.lead:
            shown.append((item, c))
    if len(corpora) > 1:
        tallies["all"] = total
    report(tallies)
    if args.show:
        for kind in KINDS:
            examples = total.examples.get(kind, [])
            if examples:
                print(f"\n{kind} ({len(examples)}):")
                step = max(1, len(examples) // args.show)
                for example in examples[::step][: args.show]:
                    print(f"  {example}")
    if args.stories:
        step = max(1, len(shown) // args.stories)
        for item, c in shown[args.skip :: step][: args.stories]:
            print(f"\n[{item.corpus}/{item.source}] {c.headline}\n  {c.lead}")
            for point in c.points:
                kinds = judge(point, c.lead, c.headline)
                print(f"  - {point}" + (f"   <- {', '.join(sorted(kinds))}" if kinds else ""))


if __name__ == "__main__":
    main()
