"""Synthetic AI-news feeds for the poll benchmark, and a loopback server that serves them.

Everything is derived from a seed, so two runs with the same ``--seed`` fetch the same
bytes. Titles and sentences are built from a vocabulary of AI-news words drawn with a
Zipf-like bias, so search sees very common words ("AI", "model") and rare ones. About a
third of the stories retell an event that other outlets also cover, so the clustering
stage has real work. About 5% of the feeds are broken in the ways real feeds break.

Run the server on its own (the benchmark starts it as a subprocess, so its CPU is not
counted as the bot's)::

    python bench/feedgen.py serve --feeds 1000 --seed 1

It prints ``PORT <n>`` once listening and stops when its standard input closes.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

ITEMS_PER_FEED = 50
#: share of broken feeds, and the ways they break (spread evenly)
BAD_SHARE = 0.05
FAULTS = ("slow", "500", "malformed", "html", "huge", "404")
#: a slow feed answers after this many seconds: longer than the benchmark's fetch timeout
SLOW_S = 5.0
#: a huge feed streams this much (more than the benchmark's fetch.max_bytes)
HUGE_BYTES = 3 * 1024 * 1024

# ------------------------------------------------------------------ vocabulary

COMPANIES = (
    "OpenAI",
    "Anthropic",
    "Google",
    "DeepMind",
    "Meta",
    "Microsoft",
    "Nvidia",
    "Mistral",
    "Apple",
    "Amazon",
    "xAI",
    "Cohere",
    "Hugging Face",
    "Stability AI",
    "Perplexity",
    "AMD",
    "Intel",
    "IBM",
    "Samsung",
    "Baidu",
    "Alibaba",
    "Tencent",
    "DeepSeek",
    "Zhipu",
    "Runway",
    "Midjourney",
    "Inflection",
    "Character.AI",
    "Databricks",
    "Snowflake",
    "Salesforce",
    "Scale AI",
    "Cerebras",
    "Groq",
    "SambaNova",
    "Graphcore",
    "Aleph Alpha",
    "AI21 Labs",
)
PRODUCTS = (
    "GPT-5",
    "GPT-4o",
    "Claude",
    "Gemini",
    "Llama 4",
    "Mixtral",
    "Copilot",
    "Grok",
    "Sora",
    "Veo",
    "Qwen",
    "Phi-4",
    "Command R",
    "Stable Diffusion",
    "Blackwell",
    "H200",
    "TPU v6",
    "Trainium",
    "Codex",
    "Operator",
    "Project Astra",
    "Firefly",
    "Gemma",
    "Nemotron",
)
VERBS = (
    "launches",
    "releases",
    "unveils",
    "announces",
    "open-sources",
    "delays",
    "expands",
    "tests",
    "previews",
    "cuts prices of",
    "updates",
    "retires",
    "ships",
    "teases",
    "pauses",
)
TOPICS = (
    "reasoning model",
    "coding agent",
    "AI chip",
    "data center",
    "safety framework",
    "open-weight model",
    "voice assistant",
    "image generator",
    "video model",
    "robotics platform",
    "search engine",
    "browser agent",
    "enterprise plan",
    "developer API",
    "benchmark",
    "funding round",
    "copyright lawsuit",
    "antitrust probe",
    "export controls",
    "EU AI Act",
    "privacy complaint",
    "hiring spree",
    "layoffs",
    "partnership",
    "acquisition",
    "IPO",
    "GPU cluster",
    "inference pricing",
    "context window",
    "multimodal model",
    "red-teaming",
    "alignment research",
    "watermarking",
    "deepfake detection",
    "medical AI",
    "self-driving",
)
ADJECTIVES = (
    "new",
    "faster",
    "cheaper",
    "open",
    "larger",
    "smaller",
    "multilingual",
    "experimental",
    "controversial",
    "long-awaited",
    "rival",
    "record",
    "first",
    "next-generation",
    "secure",
)
PEOPLE = (
    "Sam Altman",
    "Dario Amodei",
    "Demis Hassabis",
    "Sundar Pichai",
    "Satya Nadella",
    "Jensen Huang",
    "Mark Zuckerberg",
    "Arthur Mensch",
    "Yann LeCun",
    "Mira Murati",
    "Mustafa Suleyman",
    "Lisa Su",
    "Andrew Ng",
    "Fei-Fei Li",
    "Ilya Sutskever",
)
PLACES = (
    "San Francisco",
    "London",
    "Paris",
    "Beijing",
    "Seoul",
    "Brussels",
    "Washington",
    "Tokyo",
    "Toronto",
    "Berlin",
    "Bangalore",
    "Tel Aviv",
    "Singapore",
    "Austin",
)
#: rare words: each appears in few stories, so search has needles as well as haystacks
RARE = (
    "quantization",
    "distillation",
    "tokenizer",
    "sparsity",
    "photonic",
    "neuromorphic",
    "retrieval",
    "hallucination",
    "jailbreak",
    "provenance",
    "sovereign",
    "liquid-cooled",
    "exaflop",
    "wafer-scale",
    "mixture-of-experts",
    "speculative",
    "on-device",
    "federated",
    "synthetic",
    "diffusion",
    "transformer",
    "state-space",
    "latency",
    "throughput",
    "HBM",
    "interconnect",
    "fine-tuning",
    "RLHF",
    "constitutional",
    "interpretability",
    "agentic",
    "orchestration",
    "vector database",
    "embedding",
    "guardrails",
    "compliance",
    "audit",
    "subpoena",
    "tariff",
    "semiconductor",
    "lithography",
    "foundry",
    "gigawatt",
    "nuclear",
    "geothermal",
    "carbon",
    "watermark",
    "licensing",
    "newsroom",
    "publisher",
    "royalties",
)
FIGURES = (
    "$2 billion",
    "40%",
    "1 million tokens",
    "10x",
    "$300 million",
    "3 nanometres",
    "500 megawatts",
    "twice",
    "$6.6 billion",
    "half",
    "100,000 GPUs",
    "$20 a month",
)


def _zipf(rng: random.Random, words: tuple[str, ...]) -> str:
    """Early words are much more likely: real news has a few names everywhere."""
    n = len(words)
    return words[min(n - 1, int(n * rng.random() ** 2.2))]


def headline(rng: random.Random) -> str:
    company, product = _zipf(rng, COMPANIES), _zipf(rng, PRODUCTS)
    topic, adj = _zipf(rng, TOPICS), _zipf(rng, ADJECTIVES)
    form = rng.randrange(6)
    if form == 0:
        return f"{company} {_zipf(rng, VERBS)} {adj} {topic}"
    if form == 1:
        return f"{company} {_zipf(rng, VERBS)} {product} with {rng.choice(RARE)} upgrade"
    if form == 2:
        return f"{_zipf(rng, PEOPLE)} says {company}'s {topic} will arrive this year"
    if form == 3:
        return f"{company} faces {topic} in {rng.choice(PLACES)}"
    if form == 4:
        return f"{product} gets {adj} {rng.choice(RARE)} features as {company} chases rivals"
    return f"{company} and {_zipf(rng, COMPANIES)} sign {topic} deal worth {rng.choice(FIGURES)}"


def sentence(rng: random.Random, title: str) -> str:
    company, topic = _zipf(rng, COMPANIES), _zipf(rng, TOPICS)
    form = rng.randrange(7)
    if form == 0:
        where = rng.choice(PLACES)
        return f"The company said the {topic} would be available to customers in {where} first."
    if form == 1:
        return (
            f"{_zipf(rng, PEOPLE)} told reporters that {rng.choice(RARE)} had cut costs by "
            f"{rng.choice(FIGURES)} compared with last year."
        )
    if form == 2:
        return f"Analysts said the move puts pressure on {company}, which has its own {topic}."
    if form == 3:
        return (
            f"The announcement follows months of speculation about {title.split()[0]}'s "
            f"plans for {rng.choice(RARE)} and {rng.choice(RARE)}."
        )
    if form == 4:
        return f"Regulators in {rng.choice(PLACES)} are expected to review the {topic} next month."
    if form == 5:
        return f"{company} did not respond to a request for comment about the {topic}."
    return (
        f"Early testers reported {rng.choice(ADJECTIVES)} results on {rng.choice(RARE)} "
        f"tasks, with gains of up to {rng.choice(FIGURES)}."
    )


@dataclass(frozen=True)
class Story:
    title: str
    sentences: tuple[str, ...]
    link: str
    guid: str
    published: datetime
    author: str
    categories: tuple[str, ...]


class Events:
    """A pool of events that several outlets cover, each with its own wording."""

    def __init__(self, seed: int, size: int = 3000) -> None:
        rng = random.Random(f"events-{seed}")
        self.titles = [headline(rng) for _ in range(size)]

    def title(self, rng: random.Random) -> str:
        base = rng.choice(self.titles)
        lead = rng.choice(("", "", "Report: ", "Exclusive: ", "Update: "))
        tail = rng.choice(("", "", ", sources say", " - what it means", " amid scrutiny"))
        return f"{lead}{base}{tail}"


def stories(seed: int, index: int, count: int, now: datetime, events: Events) -> Iterator[Story]:
    """The ``count`` stories of feed ``index``: newest first, spread over three days."""
    rng = random.Random(f"feed-{seed}-{index}")
    host = f"news{index}.example.com"
    for n in range(count):
        title = events.title(rng) if rng.random() < 0.3 else headline(rng)
        when = now - timedelta(seconds=int(3 * 86400 * (n + rng.random()) / count))
        slug = "-".join(w.strip("',.:").lower() for w in title.split()[:6])
        link = f"https://{host}/{when:%Y/%m/%d}/{slug}-{n}"
        if rng.random() < 0.2:
            link += f"?utm_source=rss&utm_medium=feed&utm_campaign=c{n}"
        yield Story(
            title=title,
            sentences=tuple(sentence(rng, title) for _ in range(rng.randint(2, 4))),
            link=link,
            guid=f"{host}-{seed}-{n}",
            published=when,
            author=rng.choice((*PEOPLE[:5], "Staff", "Newsroom", "Jane Doe", "Alex Kim")),
            categories=tuple(
                rng.sample(
                    ("AI", "Tech", "Business", "Policy", "Science", "Chips", "Startups"),
                    rng.randint(1, 3),
                )
            ),
        )


def description_html(rng: random.Random, story: Story) -> str:
    """2-4 sentences with the markup feeds carry: paragraphs, links, emphasis, an image."""
    parts = list(story.sentences)
    first = parts[0].split(" ", 3)
    if len(first) == 4:
        parts[0] = f"{first[0]} {first[1]} <strong>{first[2]}</strong> {first[3]}"
    parts[-1] = f'{parts[-1]} <a href="{escape(story.link)}">Read more</a>'
    body = "<p>" + " ".join(parts[:2]) + "</p>"
    if len(parts) > 2:
        body += "<p><em>" + " ".join(parts[2:]) + "</em></p>"
    if rng.random() < 0.3:
        body = f'<img src="https://cdn.example.com/{story.guid}.jpg" alt="" width="600">' + body
    return body


# ------------------------------------------------------------------ documents


def rss(seed: int, index: int, now: datetime, events: Events, items: int = ITEMS_PER_FEED) -> bytes:
    rng = random.Random(f"doc-{seed}-{index}")
    cdata = rng.random() < 0.5
    curly = rng.random() < 0.3  # WordPress-style &#8217; character references
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n',
        f"<title>AI Newswire {index}</title>\n<link>https://news{index}.example.com/</link>\n",
        f"<description>Artificial intelligence news from outlet {index}</description>\n",
        f"<lastBuildDate>{format_datetime(now)}</lastBuildDate>\n<ttl>30</ttl>\n",
    ]
    for story in stories(seed, index, items, now, events):
        title = escape(story.title, quote=False)
        if curly:
            title = title.replace("'", "&#8217;")
        desc = description_html(rng, story)
        desc = f"<![CDATA[{desc}]]>" if cdata else escape(desc, quote=False)
        cats = "".join(f"<category>{c}</category>" for c in story.categories)
        out.append(
            f"<item>\n<title>{title}</title>\n<link>{escape(story.link)}</link>\n"
            f'<guid isPermaLink="false">{story.guid}</guid>\n'
            f"<pubDate>{format_datetime(story.published)}</pubDate>\n"
            f"<dc:creator>{story.author}</dc:creator>\n{cats}\n"
            f"<description>{desc}</description>\n</item>\n"
        )
    out.append("</channel>\n</rss>\n")
    return "".join(out).encode()


def atom(
    seed: int, index: int, now: datetime, events: Events, items: int = ITEMS_PER_FEED
) -> bytes:
    rng = random.Random(f"doc-{seed}-{index}")
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n',
        f"<title>AI Dispatch {index}</title>\n<id>urn:bench:feed:{index}</id>\n",
        f'<link rel="alternate" href="https://news{index}.example.com/"/>\n',
        f"<updated>{now.isoformat()}</updated>\n",
    ]
    for story in stories(seed, index, items, now, events):
        cats = "".join(f'<category term="{c}"/>' for c in story.categories)
        out.append(
            f"<entry>\n<title>{escape(story.title, quote=False)}</title>\n"
            f'<link rel="alternate" href="{escape(story.link)}"/>\n'
            f"<id>urn:bench:{story.guid}</id>\n"
            f"<published>{story.published.isoformat()}</published>\n"
            f"<updated>{story.published.isoformat()}</updated>\n"
            f"<author><name>{story.author}</name></author>\n{cats}\n"
            f'<summary type="html">{escape(description_html(rng, story), quote=False)}</summary>\n'
            "</entry>\n"
        )
    out.append("</feed>\n")
    return "".join(out).encode()


@dataclass(frozen=True)
class FeedPlan:
    index: int
    kind: str  # "rss" | "atom"
    fault: str | None  # one of FAULTS, or None for a healthy feed

    @property
    def path(self) -> str:
        return f"/feeds/{self.index}.xml"


def plan(feeds: int, seed: int) -> list[FeedPlan]:
    """Which feeds are Atom and which are broken (and how): fixed by the seed."""
    rng = random.Random(f"plan-{seed}")
    bad = set(rng.sample(range(feeds), round(feeds * BAD_SHARE)))
    out, nth_bad = [], 0
    for i in range(feeds):
        fault = None
        if i in bad:
            fault = FAULTS[nth_bad % len(FAULTS)]
            nth_bad += 1
        out.append(FeedPlan(i, "atom" if rng.random() < 0.1 else "rss", fault))
    return out


def host_of(index: int) -> str:
    """Each feed on its own host name (the benchmark maps them all to loopback)."""
    return f"feed{index}.bench.test"


# ------------------------------------------------------------------ server


async def serve(feeds: int, seed: int, port: int, items: int = ITEMS_PER_FEED) -> None:
    from aiohttp import web

    now = datetime.now(UTC).replace(microsecond=0)
    events = Events(seed)
    plans = plan(feeds, seed)
    modified = format_datetime(now - timedelta(minutes=5), usegmt=True)
    bodies: dict[int, tuple[bytes, bytes, str]] = {}

    def body_of(p: FeedPlan) -> tuple[bytes, bytes, str]:
        if p.index not in bodies:
            make = atom if p.kind == "atom" else rss
            data = make(seed, p.index, now, events, items)
            if p.fault == "malformed":
                data = data[: len(data) * 2 // 3]  # cut off mid-document
            etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
            bodies[p.index] = (data, gzip.compress(data, 6), etag)
        return bodies[p.index]

    async def feed(request: web.Request) -> web.StreamResponse:
        try:
            p = plans[int(request.match_info["n"])]
        except (ValueError, IndexError):
            return web.Response(status=404)
        if p.fault == "404":
            return web.Response(status=404, text="Not Found")
        if p.fault == "500":
            return web.Response(status=500, text="Internal Server Error")
        if p.fault == "slow":
            await asyncio.sleep(SLOW_S)
        if p.fault == "html":
            page = "<!DOCTYPE html><html><head><title>Moved</title></head><body>"
            page += "<p>Our news has moved.</p>" * 50 + "</body></html>"
            return web.Response(text=page, content_type="text/html")
        if p.fault == "huge":
            resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            block = b"<!-- " + b"x" * 65_000 + b" -->\n"
            try:
                for _ in range(HUGE_BYTES // len(block) + 2):
                    await resp.write(block)
            except ConnectionError:
                pass  # the client stopped reading at its limit, as it should
            return resp
        data, packed, etag = body_of(p)
        validators = {"ETag": etag, "Last-Modified": modified}
        inm, ims = request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")
        if (inm and inm == etag) or (not inm and ims == modified):
            return web.Response(status=304, headers=validators)
        ctype = "application/atom+xml" if p.kind == "atom" else "application/rss+xml"
        headers = {**validators, "Content-Type": f"{ctype}; charset=utf-8"}
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return web.Response(body=packed, headers=headers)
        return web.Response(body=data, headers=headers)

    for p in plans:  # build every document before the client starts its clock
        body_of(p)
    app = web.Application()
    app.router.add_get("/feeds/{n}.xml", feed)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"PORT {bound}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve N synthetic feeds on 127.0.0.1")
    s.add_argument("--feeds", type=int, required=True)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--items", type=int, default=ITEMS_PER_FEED, help="items in each feed")
    d = sub.add_parser("dump", help="print one feed document")
    d.add_argument("index", type=int)
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--atom", action="store_true")
    args = parser.parse_args()
    if args.command == "serve":
        asyncio.run(serve(args.feeds, args.seed, args.port, args.items))
    else:
        make = atom if args.atom else rss
        now = datetime.now(UTC).replace(microsecond=0)
        sys.stdout.write(make(args.seed, args.index, now, Events(args.seed)).decode())


if __name__ == "__main__":
    main()
