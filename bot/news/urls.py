"""Canonical story URLs: one spelling per article, so the same story is recognised again.

Feeds hand out the same article under many spellings: relative paths, upper-case hosts,
``:443`` ports, ``#comments`` fragments and, above all, click-tracking parameters that
change per newsletter or per share. :func:`canonical_url` reduces them to one form that
is still a working link (it never reorders or re-encodes the parameters it keeps).
"""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

#: query parameters that only identify a click, a campaign or a mailing, never the page.
#: Names are compared in lower case; every ``utm_*`` parameter is dropped as well.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        # advertising click ids
        "fbclid",  # Facebook
        "gclid",  # Google Ads
        "gclsrc",
        "dclid",  # Google Display (DoubleClick)
        "gbraid",
        "wbraid",
        "msclkid",  # Microsoft Ads
        "yclid",  # Yandex
        "ysclid",
        "twclid",  # X / Twitter
        "ttclid",  # TikTok
        "li_fat_id",  # LinkedIn
        "igshid",  # Instagram shares
        "igsh",
        "srsltid",  # Google Merchant
        "epik",  # Pinterest
        "rb_clickid",
        "wickedid",
        "s_cid",  # Adobe
        "_openstat",
        "_ga",  # Google Analytics linker
        "_gl",
        # mailing tools
        "mc_cid",  # Mailchimp
        "mc_eid",
        "_hsenc",  # HubSpot
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsctatracking",
        "mkt_tok",  # Marketo
        "vero_id",  # Vero
        "vero_conv",
        "oly_anon_id",  # Omeda
        "oly_enc_id",
        "sc_cid",
        # share and referral markers
        "ref_src",  # X / Twitter embeds
        "ref_url",
        "ncid",  # Yahoo / Engadget "ncid=rss"
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "sr_share",
        "cmpid",
        "at_medium",  # AT Internet
        "at_campaign",
        "mbid",
    }
)

_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: characters that may stay as they are in a path or query; anything else is %-encoded
_PATH_SAFE = "/%:@!$&'()*+,;=~-._"
_QUERY_SAFE = _PATH_SAFE + "?"
#: an absolute URL already in canonical form except perhaps for its query and fragment
_SIMPLE = re.compile(
    r"(https?)://([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(/[A-Za-z0-9/%:@!$&'()*+,;=~._-]*)?"
    r"(?:\?([^#\s]*))?(?:#(.*))?\Z",
    re.DOTALL,
)
_NEEDS_QUOTING = re.compile(r"[^A-Za-z0-9/%:@!$&'()*+,;=~\-._?]")


def is_http_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host (what a user can click)."""
    try:
        parts = urlsplit(url.strip())
        return parts.scheme.lower() in _SCHEMES and bool(parts.hostname)
    except ValueError:
        return False


def canonical_url(url: str, base: str | None = None) -> str | None:
    """Resolve ``url`` against ``base`` and return its canonical http(s) form, else None.

    Lower-cases scheme and host (IDNA-encoded), drops the default port, the fragment
    (a ``#!`` route is kept: it names the page) and tracking parameters; an empty path
    becomes ``/``. None for non-http(s) schemes and URLs that cannot be read.
    """
    if not url:
        return None
    url = url.strip()
    simple = _SIMPLE.match(url)
    if simple is not None:  # the common case, without urllib's general machinery
        scheme, host, path, query, fragment = simple.groups()
        query = _strip_tracking(query) if query else ""
        if query:
            query = _quoted(query, _QUERY_SAFE)
        # what urlunsplit gives for these parts, without its argument coercion
        url = f"{scheme}://{host}{path or '/'}"
        if query:
            url = f"{url}?{query}"
        if fragment and fragment.startswith("!"):
            url = f"{url}#{fragment}"
        return url
    try:
        if base:
            url = urljoin(base.strip(), url)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            return None
        host = parts.hostname  # lower-cased by urlsplit
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        return None
    if not host:
        return None
    host = _ascii_host(host)
    if host is None:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    path = _quoted(parts.path, _PATH_SAFE) or "/"
    query = _strip_tracking(parts.query) if parts.query else ""
    if query:
        query = _quoted(query, _QUERY_SAFE)
    fragment = parts.fragment if parts.fragment.startswith("!") else ""
    return urlunsplit((scheme, netloc, path, query, fragment))


def _ascii_host(host: str) -> str | None:
    """The host in ASCII (punycode for internationalised names), None if it cannot be."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


def _quoted(text: str, safe: str) -> str:
    """%-encode spaces and non-ASCII characters, leaving existing escapes alone."""
    if _NEEDS_QUOTING.search(text) is None:
        return text
    return quote(text, safe=safe)


def _strip_tracking(query: str) -> str:
    """Drop tracking parameters, keeping the others exactly as written and in order."""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        name = pair.partition("=")[0].lower()
        if name.startswith("utm_") or name in TRACKING_PARAMS:
            continue
        kept.append(pair)
    return "&".join(kept)
