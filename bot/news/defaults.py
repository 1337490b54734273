"""The built-in AI-news sources, used when the configuration names none.

Curated from major tech press AI sections, AI labs' blogs and research feeds (one starting
point was the public OPML list AndyBoWu/rss ``AI/ai-news-english.opml``). High-volume feeds
(arXiv listings, Reddit) are left out: they would drown a digest. Admins replace or extend
these with ``[[sources]]`` in the config, or switch them off with ``default_sources = false``.
"""

from __future__ import annotations

from datetime import timedelta

from bot.config import Duration, SourceConfig


def _src(name: str, url: str, hours: float = 0.5) -> SourceConfig:
    return SourceConfig(url=url, name=name, interval=Duration(seconds=hours * 3600))


DEFAULT_SOURCES: tuple[SourceConfig, ...] = (
    # tech press, AI sections
    _src("TechCrunch AI", "https://techcrunch.com/category/artificial-intelligence/feed/"),
    _src("The Verge AI", "https://www.theverge.com/rss/ai-artificial-intelligence/index.xml"),
    _src(
        "MIT Technology Review AI",
        "https://www.technologyreview.com/topic/artificial-intelligence/feed",
    ),
    _src("VentureBeat AI", "https://venturebeat.com/category/ai/feed/"),
    _src("Wired AI", "https://www.wired.com/feed/tag/ai/latest/rss"),
    _src("Ars Technica", "https://feeds.arstechnica.com/arstechnica/technology-lab"),
    _src("The Guardian AI", "https://www.theguardian.com/technology/artificialintelligenceai/rss"),
    # AI labs and companies
    _src("OpenAI", "https://openai.com/news/rss.xml", 1),
    _src("Google DeepMind", "https://deepmind.google/blog/rss.xml", 1),
    _src("Google AI", "https://blog.google/technology/ai/rss/", 1),
    _src("Hugging Face", "https://huggingface.co/blog/feed.xml", 1),
    _src("NVIDIA", "https://blogs.nvidia.com/feed/", 1),
    _src("Microsoft Research", "https://www.microsoft.com/en-us/research/feed/", 2),
    _src("AWS Machine Learning", "https://aws.amazon.com/blogs/machine-learning/feed/", 2),
    # research and analysis
    _src("Berkeley AI Research", "https://bair.berkeley.edu/blog/feed.xml", 6),
    _src("MIT News AI", "https://news.mit.edu/rss/topic/artificial-intelligence2", 2),
    _src("Import AI", "https://importai.substack.com/feed", 6),
    _src("Simon Willison", "https://simonwillison.net/atom/everything/", 1),
)

assert all(isinstance(s.interval, timedelta) for s in DEFAULT_SOURCES)
