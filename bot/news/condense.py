"""Extractive condensing: headline, one-sentence lead, a few key points.

Why extractive and position-first: on news the opening sentences carry the story (Lead-3
is famously hard to beat), and copying sentences never invents a fact. The benchmark in
``bench/quality.py`` compares this against Lead-3 and TextRank on the same articles.

How a story is read:

* the lead is the first real sentence - not a heading, a greeting, a question in a
  preamble, or a restatement of the headline; in paper abstracts the "In this paper, we
  ..." sentence is the lead, because what comes before it is background;
* release notes and changelogs (two or more list items) give their items as points;
* otherwise points are the following sentences ranked by position with a light salience
  bonus (numbers, names, words shared with the headline), shown in text order;
* a point that repeats the lead, the headline or another point is skipped, and anything
  too long is cut at a clause or word boundary with "…", never inside a word.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import chain
from typing import Final, NamedTuple

from bot.news.clean import clean_text, clean_title
from bot.news.models import Condensed
from bot.news.points import anchored, as_point, fact_bonus, lead_problem
from bot.news.sentences import split_sentences

LEAD_LIMIT: Final = 280
POINT_LIMIT: Final = 260
MAX_POINTS: Final = 4
#: sentences read from the top of a story; points come from its first part anyway
_READ_AT_MOST: Final = 30
#: ranking weights, chosen on bench/quality.py (see bench/README.md)
_DECAY: Final = 0.2
_CENTRALITY: Final = 0.3
ELLIPSIS: Final = "…"

_LOOKS_LIKE_HTML: Final = re.compile(r"<[a-zA-Z/!]|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_BULLET: Final = re.compile(r"^(?:[-*•·▪‣◦]|\d{1,3}[.)])\s+(?=\S)")
_TERMINAL: Final = tuple(".!?…。！？\"'”’»)")
_GREETING: Final = re.compile(r"^(?:hi|hello|hey|welcome|greetings|dear|happy)\b", re.IGNORECASE)
_PAPER_FRAME: Final = re.compile(
    r"^In this (?:paper|work|study|article|report|thesis|note)\s*,?\s+(?=we\b)", re.IGNORECASE
)
_NUMBER: Final = re.compile(r"\d")
_WORD: Final = re.compile(r"\w+")
#: ASCII bytes that are not word characters (``\w``) become spaces; "\n" and the bytes of
#: other characters stay
_ASCII_NON_WORD: Final = bytes(
    b if chr(b).isalnum() or b in b"_\n" or b >= 0x80 else 0x20 for b in range(256)
)
#: punctuation and spaces common in English news that are not word characters either
_TYPOGRAPHY: Final = tuple("’‘“”—–…\xa0«»•·©®™€£°−")
_CLAUSE: Final = re.compile(r"\s*(?:[,;:]\s|\s[–—-]\s|[，；：、])")
_CLAUSE_CHARS: Final = frozenset(",;:–—-，；：、")
_TRAILING: Final = " \t,;:–—-([{\"'“‘«/"
_STOPWORDS: Final = frozenset(
    """a an the and or but of to in on at for from by with as is are was were be been being
    it its this that these those he she they we you i his her their our your has have had
    will would can could should may might not no said says say also than then there which who
    whom whose what when where why how about after before over under into out up down more
    most some any all new just so if do does did""".split()
)


class _Sentence(NamedTuple):  # a tuple: made 30 times per story, faster than a dataclass
    text: str
    index: int  # position in the story
    bullet: bool
    label: bool  # a heading or an intro ending in ":" - never a lead or a point
    words: frozenset[str]
    few_words: int  # number of words, counted up to 6 (enough for every use)
    number: bool  # has a digit


def condense(title: str, text: str, *, max_points: int = 3) -> Condensed:
    """Write *title* and *text* down as headline, lead and up to *max_points* points.

    *text* may be clean text or feed HTML. No text gives no lead and no points.
    """
    headline = clean_title(title)
    if text and _looks_like_html(text):
        text = clean_text(text)
    sentences = _read(text)
    limit = max(0, min(max_points, MAX_POINTS))
    if not headline and sentences:
        headline = shorten(sentences[0].text, POINT_LIMIT)  # an untitled item names itself
        sentences = sentences[1:]
    head_words = content_words(headline)

    lead_at = _pick_lead(sentences, head_words)
    if lead_at is None:
        return Condensed(headline=headline, lead="")
    lead_sentence = sentences[lead_at]
    lead = shorten(lead_sentence.text, LEAD_LIMIT)
    unframed = _PAPER_FRAME.sub("", lead)
    if unframed != lead:  # "In this paper, we propose X" -> "We propose X"
        lead = "W" + unframed[1:]
    # points come after the lead: what comes before it was passed over as a lead for being
    # background, a greeting, a question or a list of links, and is no better as a point
    rest = [s for s in sentences if s.index > lead_sentence.index and not s.label]
    # what the reader sees counts, not only the full sentences: a shortened text can repeat
    seen = [head_words, lead_sentence.words]
    if lead != lead_sentence.text:
        seen.append(content_words(lead))
    points = _pick_points(rest, seen, head_words, limit, lead)
    return Condensed(headline=headline, lead=lead, points=tuple(points))


def _looks_like_html(text: str) -> bool:
    """``_LOOKS_LIKE_HTML.search(text)``, starting where a match can start."""
    lt, amp = text.find("<"), text.find("&")
    if lt < 0 and amp < 0:
        return False
    start = amp if lt < 0 else lt if amp < 0 else min(lt, amp)
    return _LOOKS_LIKE_HTML.search(text, start) is not None


def _read(text: str) -> list[_Sentence]:
    if not text or text.isspace():
        return []
    paragraphs = [p for p in text.split("\n\n") if p and not p.isspace()]
    last = len(paragraphs) - 1
    found: list[tuple[str, bool, bool]] = []  # text, bullet, label
    for p_index, paragraph in enumerate(paragraphs):
        if len(found) >= _READ_AT_MOST:
            break
        lines = [stripped for ln in paragraph.split("\n") if (stripped := ln.strip())]
        for line in lines:
            if len(found) >= _READ_AT_MOST:
                break
            bullet = _BULLET.match(line)
            if bullet:
                item = line[bullet.end() :]
                found.append((item, True, item.endswith(":")))
                continue
            if len(lines) == 1 and p_index != last and _is_heading(line):
                found.append((line, False, True))
                continue
            pieces = split_sentences(line, _READ_AT_MOST - len(found))
            for i, sentence in enumerate(pieces):
                # a piece with no stop before the line goes on is a heading run into the
                # sentence after it (sentences.unglue): never a lead or a point
                label = sentence.endswith(":") or (
                    i < len(pieces) - 1 and not sentence.endswith(_TERMINAL)
                )
                found.append((sentence, False, label))
    words = _word_sets([f[0] for f in found])
    return [
        _Sentence(t, i, bullet, label, w, len(t.split(None, 5)), digit)
        for i, ((t, bullet, label), (w, digit)) in enumerate(zip(found, words, strict=True))
    ]


def _word_sets(texts: list[str]) -> list[tuple[frozenset[str], bool]]:
    """``(content_words(t), _NUMBER.search(t) is not None)`` for each one-line text, in
    one pass where it can.

    Where the texts are ASCII once common typography (never a word character, and
    lower-case already) is blanked out, lower-casing them is lower-casing ASCII, their
    words are the runs of letters, digits and "_", found by a byte translation and
    ``str.split`` at a third of the cost of the regular expression, and their digits are
    ASCII digits. Lower-casing the texts joined by "\n" lower-cases each the same way (a
    line break ends the context of a final sigma too).
    """
    if not texts:
        return []
    joined = "\n".join(texts)
    blanked = joined
    if not blanked.isascii():
        for ch in _TYPOGRAPHY:
            if ch in blanked:
                blanked = blanked.replace(ch, " ")
    if blanked.isascii():
        data = blanked.encode().lower().translate(_ASCII_NON_WORD)
        return [
            (frozenset(line.split()).difference(_STOPWORDS), _has_digit(raw))
            for line, raw in zip(data.decode().split("\n"), data.split(b"\n"), strict=True)
        ]
    out = []
    lowered = joined.lower()
    for line, raw, text in zip(blanked.split("\n"), lowered.split("\n"), texts, strict=True):
        if line.isascii():
            data = line.encode().lower().translate(_ASCII_NON_WORD)
            out.append((frozenset(data.decode().split()).difference(_STOPWORDS), _has_digit(data)))
        else:
            out.append((_lowered_content_words(raw), _NUMBER.search(text) is not None))
    return out


def _has_digit(data: bytes) -> bool:
    return len(data.translate(None, b"0123456789")) != len(data)


def _is_heading(line: str) -> bool:
    return not line.endswith(_TERMINAL) and len(line) <= 90 and line.count(" ") < 12


def _pick_lead(sentences: list[_Sentence], head_words: frozenset[str]) -> int | None:
    """Index into *sentences* of the lead, or None when there is nothing to say."""

    def usable(s: _Sentence) -> bool:
        # sentences are stripped and not blank, so one that fits shortens to itself
        return (
            not s.label
            and not _repeats(s.words, head_words)
            and (len(s.text) <= LEAD_LIMIT or bool(shorten(s.text, LEAD_LIMIT)))
        )

    prose: list[int] = []
    for i, s in enumerate(sentences):
        if not s.bullet and usable(s):
            prose.append(i)
            if len(prose) == 6:
                break
    if not prose:  # a list and nothing else: its first item leads
        return next((i for i, s in enumerate(sentences) if usable(s)), None)
    for i in prose:
        if _PAPER_FRAME.match(sentences[i].text):
            return i
    fallback = None
    head_stems: set[str] | None = None
    for i in prose[:5]:
        s = sentences[i].text
        if not (_GREETING.match(s) or s.endswith("?") or sentences[i].few_words < 4):
            if lead_problem(s) is None:
                if head_stems is None:
                    head_stems = {_stem(w) for w in head_words}
                if not _restates(sentences[i].words, head_stems):
                    return i
            fallback = i if fallback is None else fallback
    return prose[0] if fallback is None else fallback


def _restates(words: frozenset[str], head_stems: set[str]) -> bool:
    """A lead that only restates the headline ("Today Microsoft, NVIDIA, and Anthropic
    announced new strategic partnerships." under "... announce strategic partnerships"):
    :func:`_repeats`, counting "announced" and "announce" as one word."""
    if not head_stems or not words:
        return False
    return sum(_stem(w) in head_stems for w in words) / len(words) >= 0.7


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _repeats(words: frozenset[str], head_words: frozenset[str]) -> bool:
    """A sentence that says no more than the headline."""
    if not words:
        return True
    return bool(head_words) and len(words & head_words) / len(words) >= 0.75


def _pick_points(
    rest: list[_Sentence],
    seen: list[frozenset[str]],
    head_words: frozenset[str],
    limit: int,
    lead: str,
) -> list[str]:
    """Up to *limit* points: ranked sentences that pass :func:`bot.news.points.as_point`
    and add words the headline and lead do not have, shown in text order."""
    if limit == 0 or not rest:
        return []
    said = frozenset().union(*seen)
    bullets = [s for s in rest if s.bullet]
    # a list and nothing else is a changelog: its terse items are the story. A list beside
    # prose may be related links, credits or steps: its items must read as sentences.
    changelog = len(bullets) >= 2 and len(bullets) == len(rest)
    ranked: list[_Sentence] = []
    if len(bullets) >= 2:
        ranked = bullets  # release notes: the items in their order, then the prose
        rest = [s for s in rest if not s.bullet]
    if rest:
        last = rest[-1]
        if not last.text.endswith(_TERMINAL):
            rest = rest[:-1]  # a summary cut off by the feed ends mid-sentence
        if len(rest) <= limit and not _any_near_duplicates(rest):
            # every usable sentence becomes a point whatever the order: no need to rank
            ranked = ranked + rest
        else:
            freq = Counter(chain.from_iterable(s.words for s in rest))
            top = max(freq.values(), default=1)
            keys = [
                (-_score(s, rank, head_words, freq, top, said), rank) for rank, s in enumerate(rest)
            ]
            ranked = ranked + [rest[rank] for _, rank in sorted(keys)]
    chosen: list[tuple[int, str]] = []
    for s in ranked:
        if len(chosen) == limit:
            break
        if not s.words or any(near_duplicate(s.words, w) for w in seen):
            continue
        if len(s.text) > POINT_LIMIT:
            continue  # a point cut with "…" is a point half-read: skip it, never shorten
        list_item = s.bullet and changelog
        if not (list_item or s.number or anchored(s.text)):
            continue  # no figure, name, time or event: mostly scene-setting and truisms
        text = as_point(s.text, list_item=list_item, lead=lead)
        if text is None or _adds_little(s.words, said):
            continue
        seen.append(s.words)
        chosen.append((s.index, text))
    chosen.sort()
    return [text for _, text in chosen]


def _adds_little(words: frozenset[str], said: frozenset[str]) -> bool:
    """Most of the sentence's words are in the headline and lead together: it repeats them
    (each alone may share too little for :func:`near_duplicate` to see it)."""
    return len(words) >= 3 and len(words & said) / len(words) >= 0.6


def _any_near_duplicates(sentences: list[_Sentence]) -> bool:
    return any(
        near_duplicate(a.words, b.words)
        for i, a in enumerate(sentences)
        for b in sentences[i + 1 :]
    )


def _score(
    s: _Sentence,
    rank: int,
    head_words: frozenset[str],
    freq: Counter[str],
    top: int,
    said: frozenset[str],
) -> float:
    """Position first, then how central the sentence is, then small salience hints.

    The salience hints are the facts a point adds (:func:`bot.news.points.fact_bonus`:
    a figure new to the reader, a name, a date, an attribution).

    Centrality (how often the story repeats the sentence's words, SumBasic-style) is a
    cheap stand-in for TextRank: it gained 4 ROUGE-1 points over pure position on the
    benchmark while keeping the early sentences that news puts its facts in.
    """
    score = 1.0 / (1.0 + _DECAY * rank)
    words, text = s.words, s.text
    if words:
        score += _CENTRALITY * sum(map(freq.__getitem__, words)) / top / math.sqrt(len(words))
    score += fact_bonus(text, words, said, digits=s.number)
    if head_words and words:
        score += 0.1 * len(words & head_words) / len(head_words)
    if text.endswith("?"):
        score -= 0.15
    if s.few_words < 6:
        score -= 0.1
    return score


# --------------------------------------------------------------------------- helpers


def shorten(text: str, limit: int) -> str:
    """*text* if it fits in *limit* characters, else cut at a clause or word boundary + "…".

    A clause boundary (comma, semicolon, colon, dash) is used when it keeps at least half
    of the room. Returns "" when no cut avoids splitting a word (one enormous token such
    as a URL): the caller then skips the sentence.
    """
    text = text.strip()
    if len(text) <= limit:
        return text
    budget = limit - len(ELLIPSIS)
    if budget <= 0:
        return ""
    half = budget // 2
    cut = -1
    for m in _CLAUSE.finditer(text, _clause_scan_start(text, half), budget):
        if m.start() >= half:
            cut = m.start()
    if cut < 0:
        cut = next((i for i in range(budget, 0, -1) if _cuttable(text, i)), -1)
    kept = text[:cut].rstrip(_TRAILING) if cut > 0 else ""
    return kept + ELLIPSIS if kept else ""


def _clause_scan_start(text: str, half: int) -> int:
    """Where to start looking for clause ends that start at *half* or later.

    A match of _CLAUSE holds only spaces and clause punctuation, so none spans a character
    that is neither: from just after such a character, finditer finds the same matches as
    from the start of the text, without walking through the first half.
    """
    at = min(half, len(text))
    while at > 0 and (text[at - 1].isspace() or text[at - 1] in _CLAUSE_CHARS):
        at -= 1
    return at


def _cuttable(text: str, i: int) -> bool:
    """A place to cut: before a space, or between two characters of an unspaced script.

    Stricter than :func:`is_boundary`: "https://example.com/long-path" is not cut at
    its slashes or hyphens, because half a link or a hyphenated word reads as a typo.
    """
    right = text[i]
    return right.isspace() or (_unspaced(text[i - 1]) and (_unspaced(right) or not right.isalnum()))


def is_boundary(text: str, i: int) -> bool:
    """True when cutting *text* before index *i* does not split a word.

    In scripts written without spaces (Chinese, Japanese, Thai) any two characters are
    a boundary.
    """
    if i <= 0 or i >= len(text):
        return True
    left, right = text[i - 1], text[i]
    if not (left.isalnum() and right.isalnum()):
        return True
    return _unspaced(left) and _unspaced(right)


def _unspaced(ch: str) -> bool:
    code = ord(ch)
    return (
        0x3040 <= code <= 0x30FF  # kana
        or 0x3400 <= code <= 0x9FFF  # CJK ideographs
        or 0xF900 <= code <= 0xFAFF
        or 0x0E00 <= code <= 0x0EFF  # Thai, Lao
        or 0x1000 <= code <= 0x109F  # Myanmar
        or 0x1780 <= code <= 0x17FF  # Khmer
        or 0x20000 <= code <= 0x2FA1F
    )


def content_words(text: str) -> frozenset[str]:
    """Lower-cased meaningful words; runs of an unspaced script give character pairs."""
    if "\n" in text:
        return _lowered_content_words(text.lower())
    return _word_sets([text])[0][0]


def _lowered_content_words(lowered: str) -> frozenset[str]:
    words = _WORD.findall(lowered)
    if lowered.isascii():  # no unspaced script: the loop below would keep every word
        return frozenset(words).difference(_STOPWORDS)
    out: set[str] = set()
    for w in words:
        if w in _STOPWORDS:
            continue
        if len(w) > 3 and w[0] >= "\u0e00" and _unspaced(w[0]):
            out.update(w[i : i + 2] for i in range(len(w) - 1))
        else:
            out.add(w)
    return frozenset(out)


def near_duplicate(a: frozenset[str], b: frozenset[str], threshold: float = 0.7) -> bool:
    """True when most of the smaller word set is also in the other one."""
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) >= threshold
