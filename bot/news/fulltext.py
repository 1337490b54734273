"""Article text from a story's own page, for sources whose feeds carry only a teaser."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def extract_article(html: bytes, url: str) -> str:
    """The main text of an article page (trafilatura), or "" when it finds none."""
    import trafilatura  # imported lazily: only sources with full_text = true need it

    try:
        text = trafilatura.extract(
            html, url=url, include_comments=False, include_tables=False, favor_precision=True
        )
    except Exception:  # trafilatura raises many kinds on odd pages; the feed text is the fallback
        log.info("full text: could not extract %s", url)
        return ""
    return (text or "").strip()
