"""The long briefing of one story cluster, written offline from the outlets' own sentences.

Every outlet's text is split into sentences, and only those that pass the key-point rules
(:func:`bot.news.points.as_point`: no questions, cuts, dangling pronouns, marketing) are
kept, once each: a sentence another outlet already said (most of its words) is a repeat.
The sentence vectors (wordllama, :mod:`bot.news.embed`) group them into themes: a few
medoids chosen far apart, each sentence joining the nearest, and a theme of fewer than
three sentences dissolved into the others, so that every section has a summary and two or
three bullets. A theme's most central sentence is its summary; its title is the phrase of
that sentence whose words the theme says most and the other themes least.

Too little material for two themes gives a list of points instead, and a story only one
outlet covered gets its own points: no section is made up to fill the form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from bot.news.condense import content_words, near_duplicate
from bot.news.digest import pick_representatives
from bot.news.models import Briefing, BriefingSection, Bullet, Story, Teaser
from bot.news.points import as_point, fact_bonus
from bot.news.sentences import split_sentences

#: sections of a big story, and the sentences a section needs (a summary and two bullets)
MAX_SECTIONS: Final = 5
MIN_SECTION: Final = 3
MAX_BULLETS: Final = 3
#: points shown when there is too little for themes
MAX_POINTS: Final = 5
#: a sentence longer than this is a paragraph the feed did not split; not a bullet
MAX_SENTENCE: Final = 300
#: read at most this much of a story's text, and this many sentences of it: a huge page
#: says what it has to say near the top, and the briefing must stay quick
MAX_TEXT: Final = 20_000
MAX_PER_STORY: Final = 40
MAX_CANDIDATES: Final = 80
#: recent stories listed after the briefing
MAX_RECENT: Final = 5
#: how close (cosine of headline and lead) a recent story must be to count as related
RELATED: Final = 0.3
TITLE_WORDS: Final = 6
TITLE_MAX: Final = 60

Embed = Callable[[Sequence[str]], np.ndarray]

_BULLET = re.compile(r"^(?:[-*•·▪‣◦]|\d{1,3}[.)])\s+(?=\S)")
_WORD = re.compile(r"[\w’'%.-]+")
_PART = re.compile(r"\w+")
_BREAK = frozenset(',;:—–()"“”')
_TITLE_STOP: Final = frozenset(
    """a an the and or but of to in on at for from by with as is are was were be been has
    have had will would can could should may might not no said says say also than that
    which who whom whose what when where why how about after before over under into up
    his her their its our it they he she this these those there then while amid since
    just more most some any all new if do does did being""".split()
)


@dataclass(slots=True)
class _Candidate:
    text: str
    words: frozenset[str]
    story: Story
    order: int  # position among all candidates: earlier outlets and sentences first

    def bullet(self) -> Bullet:
        return Bullet(self.text, self.story.source_name, self.story.id, self.story.url)


def build_briefing(
    stories: Sequence[Story],
    wanted: int,
    *,
    embed: Embed | None = None,
    recent: Sequence[Story] = (),
) -> Briefing:
    """The briefing of the cluster ``stories`` (with their text), asked for as ``wanted``.

    ``embed`` gives unit sentence vectors (None: bag-of-words vectors); ``recent`` are
    candidate stories on the same topic, of which the closest few are listed.
    """
    if not stories:
        raise ValueError("a briefing needs at least one story")
    embed = embed or bag_of_words
    ordered = sorted(stories, key=lambda s: (s.published, s.id))
    rep = pick_representatives(ordered)[0]
    lead_story = rep if rep.lead else next((s for s in ordered if s.lead), rep)
    outlets = tuple(dict.fromkeys(s.source_name for s in ordered if s.source_name))
    base = {
        "story_id": wanted,
        "headline": rep.headline or rep.title,
        "lead": lead_story.lead,
        "lead_outlet": lead_story.source_name,
        "url": rep.url,
        "published": ordered[0].published,
        "outlets": outlets,
        "recent": tuple(pick_recent(rep, [s for s in ordered], recent, embed=embed)),
    }
    if len(outlets) <= 1:
        points = tuple(Bullet(p, rep.source_name, rep.id, rep.url) for p in rep.points)
        return Briefing(**base, points=points)
    said = [content_words(base["headline"]), content_words(base["lead"])]
    candidates = gather(ordered, said)
    if not candidates:
        return Briefing(**base)
    vectors = embed([c.text for c in candidates])
    groups = themes(vectors, min(MAX_SECTIONS, len(candidates) // MIN_SECTION))
    if len(groups) < 2:
        return Briefing(**base, points=tuple(_points(candidates, vectors)))
    sections = tuple(_section(candidates, vectors, g, groups) for g in groups)
    return Briefing(**base, sections=sections)


# --------------------------------------------------------------------------- sentences


def gather(stories: Sequence[Story], said: Sequence[frozenset[str]]) -> list[_Candidate]:
    """Every outlet's usable sentences, each said once, taken in turns across outlets.

    ``said`` are the word sets the reader already has (headline and lead): a sentence that
    repeats one of them is left out, as is one that repeats an earlier candidate."""
    per_story = [_story_sentences(s) for s in stories]
    seen: list[frozenset[str]] = [w for w in said if w]
    out: list[_Candidate] = []
    depth = max((len(p) for p in per_story), default=0)
    for i in range(depth):  # round robin: the first sentences of every outlet come first
        for story, sentences in zip(stories, per_story, strict=True):
            if i >= len(sentences) or len(out) >= MAX_CANDIDATES:
                continue
            text = sentences[i]
            words = content_words(text)
            if len(words) < 3 or any(near_duplicate(words, w) for w in seen):
                continue
            seen.append(words)
            out.append(_Candidate(text, words, story, len(out)))
    return out


def _story_sentences(story: Story) -> list[str]:
    """The story's lead and text as key-point sentences, in text order."""
    found: list[str] = [story.lead] if story.lead else []
    for line in (story.text or "")[:MAX_TEXT].split("\n"):
        line = line.strip()
        if not line:
            continue
        marker = _BULLET.match(line)
        found.extend(split_sentences(line[marker.end() :] if marker else line))
        if len(found) >= MAX_PER_STORY:
            break
    out: list[str] = []
    for sentence in dict.fromkeys(found):
        if len(sentence) > MAX_SENTENCE:
            continue
        point = as_point(sentence, lead=story.lead)
        if point is not None:
            out.append(point)
    return out


# --------------------------------------------------------------------------- themes


def themes(vectors: np.ndarray, k: int) -> list[list[int]]:
    """Rows grouped around at most ``k`` medoids, every group of at least MIN_SECTION rows.

    The first medoid is the most central row, each next one the row farthest from those
    chosen among the better-connected half (an outlier makes no theme); rows join the most
    similar medoid. The smallest group, while it is too small, is dissolved into the
    others. A few rounds of k-medoids follow; the groups come biggest first (then earliest).
    """
    n = len(vectors)
    if k < 2 or n < 2 * MIN_SECTION:
        return [list(range(n))] if n else []
    sim = vectors @ vectors.T
    centrality = sim.sum(axis=1)
    dense = centrality >= np.median(centrality)
    medoids = [int(np.argmax(centrality))]
    while len(medoids) < k:
        closest = sim[:, medoids].max(axis=1)
        closest[~dense] = np.inf
        closest[medoids] = np.inf
        if not np.isfinite(closest).any():
            break
        medoids.append(int(np.argmin(closest)))
    groups: list[list[int]] = []
    for _ in range(10):
        groups = _settle(sim, medoids)
        if len(groups) < 2:
            return [list(range(n))]
        centred = [g[int(np.argmax(sim[np.ix_(g, g)].sum(axis=1)))] for g in groups]
        if sorted(centred) == sorted(medoids):
            break
        medoids = centred
    return sorted(groups, key=lambda g: (-len(g), min(g)))


def _settle(sim: np.ndarray, medoids: list[int]) -> list[list[int]]:
    """Assign rows to medoids, dropping the medoid of the smallest group while it is too
    small (``medoids`` is changed in place)."""
    while True:
        groups = _assign(sim, medoids)
        smallest = min(range(len(groups)), key=lambda i: len(groups[i]))
        if len(medoids) < 2 or len(groups[smallest]) >= MIN_SECTION:
            return groups
        medoids.pop(smallest)


def _assign(sim: np.ndarray, medoids: list[int]) -> list[list[int]]:
    owner = np.argmax(sim[:, medoids], axis=1)
    return [sorted(int(i) for i in np.flatnonzero(owner == j)) for j in range(len(medoids))]


def _central(group: list[int], vectors: np.ndarray) -> list[int]:
    """The group's rows, most central first (ties: earliest)."""
    sub = vectors[group] @ vectors[group].T
    score = sub.sum(axis=1)
    return [group[i] for i in sorted(range(len(group)), key=lambda i: (-score[i], group[i]))]


def _section(
    candidates: list[_Candidate], vectors: np.ndarray, group: list[int], groups: list[list[int]]
) -> BriefingSection:
    ranked = _central(group, vectors)
    summary = candidates[ranked[0]]
    centre = vectors[ranked[0]]
    scored = sorted(
        ranked[1:],
        key=lambda i: (-(float(vectors[i] @ centre) + _facts(candidates[i], summary)), i),
    )
    bullets: list[_Candidate] = []
    for i in scored:  # another outlet's voice before a second sentence of the same one
        if len(bullets) < MAX_BULLETS and candidates[i].story.id != summary.story.id:
            bullets.append(candidates[i])
    for i in scored:
        if len(bullets) < MAX_BULLETS and candidates[i] not in bullets:
            bullets.append(candidates[i])
    bullets.sort(key=lambda c: c.order)
    others = [candidates[i].words for g in groups if g is not group for i in g]
    title = heading(summary.text, [candidates[i].words for i in group], others)
    return BriefingSection(title, summary.bullet(), tuple(b.bullet() for b in bullets))


def _facts(candidate: _Candidate, summary: _Candidate) -> float:
    return fact_bonus(candidate.text, candidate.words, summary.words)


def _points(candidates: list[_Candidate], vectors: np.ndarray) -> list[Bullet]:
    """Too little for themes: the most central sentences, at most two of an outlet while
    another has one to give, shown in the order they came."""
    ranked = _central(list(range(len(candidates))), vectors)
    chosen: list[int] = []
    per_outlet: dict[int, int] = {}
    for cap in (2, MAX_POINTS):
        for i in ranked:
            story = candidates[i].story.source_id
            if len(chosen) < MAX_POINTS and i not in chosen and per_outlet.get(story, 0) < cap:
                chosen.append(i)
                per_outlet[story] = per_outlet.get(story, 0) + 1
    return [candidates[i].bullet() for i in sorted(chosen)]


def heading(
    sentence: str, group: Sequence[frozenset[str]], others: Sequence[frozenset[str]]
) -> str:
    """A short title from ``sentence``: its run of words (not across punctuation) that the
    theme's sentences (``group``) share most and the other themes' sentences least."""
    weight: dict[str, float] = {}
    for w in content_words(sentence):
        inside = sum(w in g for g in group)
        outside = sum(w in g for g in others)
        weight[w] = math.log1p(inside) * inside / (inside + outside) if inside else 0.0
    tokens = sentence.split()
    best, best_score = "", -1.0
    for start in range(len(tokens)):
        words: list[str] = []
        for tok in tokens[start : start + TITLE_WORDS]:
            bare = tok.strip(",;:—–()\"“”‘’'.!?")
            if not bare:
                break
            if words and tok[0] in _BREAK:
                break
            words.append(bare)
            if tok[-1] in _BREAK or tok.rstrip(".!?") != tok:
                # a clause or the sentence ends here: the run may end but not go on
                score = _span_score(words, weight, at_start=start == 0)
                if score > best_score:
                    best, best_score = " ".join(words), score
                break
            score = _span_score(words, weight, at_start=start == 0)
            if score > best_score:
                best, best_score = " ".join(words), score
    if not best:
        best = " ".join(tokens[:TITLE_WORDS]).rstrip(",;:.!?")
    best = best if len(best) <= TITLE_MAX else best[:TITLE_MAX].rsplit(" ", 1)[0]
    return best[:1].upper() + best[1:]


def _span_score(words: list[str], weight: dict[str, float], *, at_start: bool) -> float:
    """A title reads as a phrase: it starts and ends on a word that carries meaning, and
    ends on a name or a noun rather than a verb ("...relating") or an adverb."""
    first, last = words[0].lower(), words[-1].lower()
    if len(words) < 2 or first in _TITLE_STOP or last in _TITLE_STOP:
        return -1.0
    total = 0.0
    for w in words:
        parts = [weight.get(p, 0.0) for p in _PART.findall(w.lower())]
        total += max(parts, default=0.0)
    score = total / len(words) ** 0.7
    if last.endswith(("’s", "'s")):
        score *= 0.5  # "...relating to Musk's"
    if last.endswith(("ing", "ed", "ly")) and not words[-1][:1].isupper():
        score *= 0.5
    if words[0][:1].isupper() and not at_start:
        score *= 1.2  # a name: "Twitter's board", "Security Council"
    return score


# --------------------------------------------------------------------------- recent stories


def pick_recent(
    rep: Story, cluster: Sequence[Story], candidates: Sequence[Story], *, embed: Embed
) -> list[Teaser]:
    """The few candidates closest to the story (one per cluster), newest first."""
    own = {s.id for s in cluster} | {rep.cluster_id}
    pool = [c for c in pick_representatives(candidates) if c.id not in own]
    pool = [c for c in pool if c.cluster_id not in own and (c.lead or c.headline)]
    if not pool:
        return []
    texts = [f"{rep.headline} {rep.lead}"] + [f"{c.headline} {c.lead}" for c in pool]
    vectors = embed(texts)
    closeness = vectors[1:] @ vectors[0]
    order = sorted(range(len(pool)), key=lambda i: (-float(closeness[i]), -pool[i].id))
    chosen = [pool[i] for i in order[:MAX_RECENT] if closeness[i] >= RELATED]
    chosen.sort(key=lambda s: (s.published, s.id), reverse=True)
    return [
        Teaser(s.id, s.headline or s.title, s.published, s.source_name, teaser(s), s.url)
        for s in chosen
    ]


def teaser(story: Story) -> str:
    """Two sentences: the lead and the first point (or the text's next sentence)."""
    first = story.lead
    second = story.points[0] if story.points else ""
    if not second and story.text:
        rest = [s for s in split_sentences(story.text[:4000], 4) if s != first]
        second = next((s for s in rest if as_point(s) is not None), "")
    return " ".join(p for p in (first, second) if p)


# --------------------------------------------------------------------------- vectors


def bag_of_words(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of content words, when no sentence embedder is loaded."""
    sets = [content_words(t) for t in texts]
    vocab = {w: i for i, w in enumerate(sorted(set().union(*sets)))}
    out = np.zeros((len(texts), max(1, len(vocab))), dtype=np.float32)
    for row, words in enumerate(sets):
        for w in words:
            out[row, vocab[w]] = 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out
