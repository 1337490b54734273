"""canonical_url: one spelling per article, still a working link."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.news import urls
from bot.news.urls import TRACKING_PARAMS, canonical_url, is_http_url

BASE = "https://news.example/section/feed.xml"


@pytest.mark.parametrize("param", sorted(TRACKING_PARAMS))
def test_each_tracking_param_is_stripped(param: str) -> None:
    url = f"https://news.example/story?id=3&{param}=abc&page=2"
    assert canonical_url(url) == "https://news.example/story?id=3&page=2"


@pytest.mark.parametrize(
    "param", ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "UTM_Source"]
)
def test_every_utm_param_is_stripped(param: str) -> None:
    assert canonical_url(f"https://news.example/s?{param}=rss") == "https://news.example/s"


def test_other_params_kept_in_order_and_spelling() -> None:
    url = "https://news.example/s?b=2&a=1&q=x%20y&flag&utm_id=9"
    assert canonical_url(url) == "https://news.example/s?b=2&a=1&q=x%20y&flag"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://news.example/a#comments", "https://news.example/a"),
        ("HTTPS://News.Example/Path/Case", "https://news.example/Path/Case"),
        ("http://news.example:80/a", "http://news.example/a"),
        ("https://news.example:443/a", "https://news.example/a"),
        ("https://news.example:8443/a", "https://news.example:8443/a"),
        ("https://news.example", "https://news.example/"),
        ("  https://news.example/a \n", "https://news.example/a"),
        ("https://news.example/a b", "https://news.example/a%20b"),
        ("https://bücher.example/ü", "https://xn--bcher-kva.example/%C3%BC"),
        ("https://groups.example/#!topic/x", "https://groups.example/#!topic/x"),
    ],
)
def test_normalisation(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/a/b", "https://news.example/a/b"),
        ("story.html", "https://news.example/section/story.html"),
        ("../up", "https://news.example/up"),
        ("//cdn.example/x", "https://cdn.example/x"),
        ("http://other.example/y", "http://other.example/y"),
    ],
)
def test_relative_urls_resolved_against_base(url: str, expected: str) -> None:
    assert canonical_url(url, BASE) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "mailto:a@news.example",
        "javascript:alert(1)",
        "ftp://news.example/f",
        "https://",
        "http://x.example:port/",
    ],
)
def test_not_http_urls_give_none(url: str) -> None:
    assert canonical_url(url, None) is None


def test_relative_without_base_gives_none() -> None:
    assert canonical_url("/only/a/path") is None


def test_is_http_url() -> None:
    assert is_http_url("https://news.example/a")
    assert is_http_url(" HTTP://news.example ")
    assert not is_http_url("/a")
    assert not is_http_url("file:///etc/passwd")
    assert not is_http_url("http://")


# ------------------------------------------------------------------ the quick path

_HOSTS = st.sampled_from(["news.example", "a.b.example", "x1-y.example", "localhost"])
_PART = st.text(alphabet="aZ09/%:@!$&'()*+,;=~._-?=#é ", max_size=24)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["http", "https"]), _HOSTS, _PART, _PART, st.sampled_from(["", "#", "#!"]))
def test_quick_path_gives_what_the_general_one_does(
    scheme: str, host: str, path: str, rest: str, mark: str
) -> None:
    """Most feed links take a shortcut past urllib; it must not change any result."""
    url = f"{scheme}://{host}/{path}{mark}{rest}"
    quick = canonical_url(url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(urls, "_SIMPLE", re.compile(r"(?!)"))  # never matches
        general = canonical_url(url)
    assert quick == general
