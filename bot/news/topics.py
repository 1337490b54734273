"""Topic taxonomy and tagging: decisive phrases first, semantic similarity second.

A phrase in a headline is strong evidence ("export controls" is regulation), so
each topic's phrases are compiled once into one word-bounded regex. Many
headlines carry no such phrase ("Anthropic's biolab made a discovery"), which is
where the embedding of title + lead against each topic's description helps.
An exclusion phrase vetoes its topic outright, whatever the other evidence.

The weights below were tuned on the "tune" part of tests/data/devset/topics.jsonl
and are reported on its held-out part by bench/tagging.py.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.news.embed import Embedder, Projection, load_embedder

log = logging.getLogger(__name__)

MAX_TOPICS = 3
#: characters of the body that count as the lead for matching and embedding
LEAD_CHARS = 600


@dataclass(frozen=True)
class Topic:
    name: str  # slug used in commands and storage, e.g. "open-source"
    title: str  # shown as the section heading, e.g. "Open source"
    description: str  # what belongs here, in words (used for semantic matching)
    phrases: tuple[str, ...]  # decisive phrases, matched as whole words
    exclude: tuple[str, ...] = ()  # a match vetoes the topic


def _t(name: str, title: str, description: str, phrases: str, exclude: str = "") -> Topic:
    def split(s: str) -> tuple[str, ...]:
        return tuple(p.strip() for p in s.split(";") if p.strip())

    return Topic(name, title, description, split(phrases), split(exclude))


DEFAULT_TOPICS: tuple[Topic, ...] = (
    _t(
        "regulation",
        "Regulation",
        "Laws, regulators, government policy and action, courts and lawsuits, export controls, "
        "copyright rulings.",
        "regulation; regulator; regulators; regulate; regulating; lawmaker; law; "
        "legislature; senate bill; assembly bill; signed a bill; passes a bill; bill would; "
        "executive order; lawsuit; sue; sues; sued; suing; court; judge; ruling; settlement; "
        "class action; antitrust; copyright; infringement; export controls; export control; "
        "sanctions; congress; senator; congressional; governor; white house; administration; "
        "Trump; Newsom; Pentagon; Department of Defense; Department of Justice; FTC; DOJ; EU; "
        "European Commission; AI Act; GDPR; policymakers; czar; ban; plaintiffs; filings; "
        "United Nations; UN; governments; Democrats; Republicans; politicians; "
        "lawmakers; legislators; legislation; regulatory; deregulation; moratorium; "
        "attorney general; attorneys general; prosecutors; injunction; jury; verdict; subpoena; "
        "testify; parliament; minister; ministry; Ofcom; CMA; FCC; SEC; tariffs; fined; fines; "
        "banned; national security; legal fight; legal battle",
    ),
    _t(
        "open-source",
        "Open source",
        "Open-source or open-weight models, code, datasets, licences, and debates about openness.",
        "open source; open-source; open sourced; open-sourced; open sourcing; open-weight; "
        "open weight; open weights; open model; open models; openly available; open-source model; "
        "Apache 2.0; MIT license; permissive license; licence; Gemma; Llama; GitHub stars; "
        "weights released; open standard; open standards; gpt-oss; "
        "openly licensed; permissively licensed; source-available; release the weights; "
        "releases the weights; "
        "released the weights",
        "open source intelligence",
    ),
    _t(
        "research",
        "Research",
        "Research papers, benchmarks, studies, new techniques, scientific discoveries and new "
        "capabilities of models.",
        "paper; research paper; arXiv; benchmark; benchmarking; peer-reviewed; study finds; "
        "NeurIPS; ICML; ICLR; CVPR; new technique; new method; algorithm; scientists; "
        "scientific; science; breakthrough; discovery; discovered; experiment; math problem; "
        "open problems; mathematical; mathematicians; research lab; researchers found; protein; "
        "genome; enzyme; "
        "new study; a study; studies; preprint; peer review; journal; "
        "published in; findings; interpretability; mathematics; theorem; physics; chemistry; "
        "biology; drug discovery; materials science; leaderboard",
        "market research; equity research; Forrester Research; computer science",
    ),
    _t(
        "business",
        "Business",
        "Funding rounds, valuations, acquisitions, earnings and revenue, stock moves, "
        "partnerships and deals, executives, layoffs.",
        "funding; raises; raised; fundraising; Series A; Series B; Series C; Series D; Series E; "
        "seed round; valuation; valued at; unicorn; IPO; go public; going public; acquires; "
        "acquired; acquisition; acquire; buys; merger; divestiture; earnings; revenue; "
        "financial results; quarterly results; profit; stock; shares; investors; investor; "
        "venture; invest; investment; partnership; partners with; strategic partnership; deal; "
        "contract; collaboration; layoffs; lays off; job cuts; chief revenue officer; appoints; "
        "CEO; board; raise; raising; backed by; venture capital; VC; Andreessen Horowitz; a16z; "
        "Sequoia; stake; shareholders; Nasdaq; NYSE; Wall Street; market cap; market value; "
        "bankruptcy; startup valuation; hires; poaches; steps down; resigns; executives; CFO; "
        "joint venture; spinoff; spins off",
        "board game",
    ),
    _t(
        "infrastructure",
        "Infrastructure",
        "Chips and GPUs, data centres, cloud capacity, supercomputers, servers, networking and "
        "the energy that powers compute.",
        "chip; chips; chipmaker; semiconductor; GPU; GPUs; TPU; CPU; accelerator; accelerators; "
        "data center; data centers; data centre; datacenter; supercomputer; supercomputing; "
        "exascale; HPC; server; servers; rack-scale; compute capacity; computing power; "
        "gigawatt; gigawatts; megawatts; power grid; electricity; natural gas; nuclear; "
        "turbines; Trainium; Graviton; Blackwell; Instinct; MI300X; MI350; DGX; TSMC; neocloud; "
        "AI factory; AI factories; interconnect; networking; storage; outage; down for; "
        "H100; H200; B200; GB200; GB300; HBM; NVLink; InfiniBand; Stargate; hyperscaler; "
        "hyperscalers; power plant; power plants; energy consumption; energy demand; "
        "liquid cooling; foundry; wafer; wafers; custom silicon; ASIC; ASICs; NPU; LPU; "
        "inference chip; cloud capacity",
        "chocolate chip; potato chip; blue chip; blue-chip",
    ),
    _t(
        "safety",
        "Safety",
        "AI safety and alignment, misuse, security flaws and hacks, deepfakes, risks and "
        "incidents, harmful or rogue behaviour.",
        "AI safety; safety; alignment; misaligned; misalignment; misuse; jailbreak; "
        "prompt injection; red teaming; red team; vulnerability; vulnerabilities; exploit; "
        "zero-day; hack; hacked; hackers; hacking; cyberattack; cyberattacks; cybersecurity; "
        "cyber; espionage; malware; phishing; deepfake; deepfakes; nudify; misinformation; "
        "disinformation; rogue; kill switch; safeguards; guardrails; existential; extinction; "
        "kill all humans; doomsday; hallucination; privacy; teen protections; superintelligence; "
        "containment; bioweapons; security flaw; security researchers; breach; data breach; scam; "
        "scams; scammers; fraud; ransomware; attackers; CSAM; "
        " catastrophic; biosecurity; chemical weapons; sycophancy; sycophantic; "
        "deception; deceptive; scheming; sabotage; self-harm; suicide; parental controls; "
        "age verification; non-consensual; impersonation; misbehavior; misbehaviour; "
        "system card",
        "food safety",
    ),
    _t(
        "products",
        "Products",
        "Launches, releases and updates of apps, models, devices and features people can use.",
        "launches; launched; launching; launch; introduces; introducing; unveils; unveiled; "
        "releases; released; rolls out; rolling out; rollout; now available; generally available; "
        "available in; new feature; new features; app; apps; update; beta; preview; debuts; "
        "is here; lets; letting; can now; new model; new models; model family; relaunches; "
        "revamped; redesigned; wearable; gadget; smart glasses; rolled out; roll out; releasing; "
        "available now; available today; ships; feature; upgrade; upgraded; API; "
        "subscription; pricing; laptop; headset; earbuds; "
        "browser; extension; standalone app; new version; hands-on; integrates",
        "launches an investigation; launched an investigation; launches a probe",
    ),
    _t(
        "society",
        "Society",
        "Ethics, jobs and labour, education, culture and the arts, religion, public opinion, "
        "health and medicine, effects of AI on people's lives.",
        "jobs; workers; workforce; employment; labor; labour; unions; union; upskill; upskilling; "
        " education; educators; students; teachers; schools; classroom; classrooms; "
        "learners; teens; parents; children; kids; culture; art; artists; artistic; Hollywood; "
        "movie; film; religion; church; public opinion; poll; survey; Pew; health; healthcare; "
        "patients; clinicians; doctors; mental health; ethics; inequality; climate; nonprofit; "
        "nonprofits; AI literacy; certification; certifications; journalists; Americans; "
        "public support; job; entry-level; graduates; unemployment; white-collar; employees; "
        "young people; youth; child; loneliness; companionship; AI companions; "
        " medical; medicine; hospital; hospitals; nurses; diagnosis; "
        "cancer; musicians; writers; authors; actors; creatives; creators; Pope; faith; "
        "accessibility; disability; disabilities; blind; deaf; economists; "
        "well-being; wellbeing; training courses; careers",
    ),
)


# --------------------------------------------------------------------------- config

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_KEYS = {"name", "title", "description", "phrases", "exclude"}


class TaxonomyError(ValueError):
    """An admin-supplied taxonomy is invalid; ``problems`` lists every fault."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid topic taxonomy:\n" + "\n".join(f"  - {p}" for p in problems))


def _phrase_list(value: object, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        problems.append(f"{where}: must be a list of phrases")
        return ()
    out = []
    for i, p in enumerate(value):
        if not isinstance(p, str) or not p.strip():
            problems.append(f"{where}[{i}]: must be a non-empty string")
        elif len(p) > 80:
            problems.append(f"{where}[{i}]: longer than 80 characters")
        else:
            out.append(p.strip())
    return tuple(out)


def taxonomy_from_config(items: list[dict], *, extend_default: bool) -> tuple[Topic, ...]:
    """Build a taxonomy from config entries, or raise :class:`TaxonomyError` listing every fault.

    With ``extend_default`` an entry named like a default topic adds its phrases
    and exclusions to it (and may replace title/description); other names are
    appended. Without it the entries are the whole taxonomy.
    """
    problems: list[str] = []
    if not isinstance(items, list):
        raise TaxonomyError(["topics: must be a list of tables"])
    base = {t.name: t for t in DEFAULT_TOPICS} if extend_default else {}
    result: dict[str, Topic] = dict(base)
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"topics[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a table with name, description, phrases")
            continue
        for key in sorted(set(item) - _KEYS):
            problems.append(f"{where}.{key}: unknown key (allowed: {', '.join(sorted(_KEYS))})")
        name = item.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(
                f"{where}.name: must be 1-32 lowercase letters, digits or '-', got {name!r}"
            )
            continue
        where = f"topics[{i}] ({name})"
        if name in seen:
            problems.append(f"{where}: duplicate topic name")
            continue
        seen.add(name)
        phrases = _phrase_list(item.get("phrases"), f"{where}.phrases", problems)
        exclude = _phrase_list(item.get("exclude"), f"{where}.exclude", problems)
        title, description = item.get("title"), item.get("description")
        for key, val in (("title", title), ("description", description)):
            if val is not None and (not isinstance(val, str) or not val.strip()):
                problems.append(f"{where}.{key}: must be a non-empty string")
        title = title.strip() if isinstance(title, str) and title.strip() else None
        description = description.strip() if isinstance(description, str) else None
        old = base.get(name)
        if old is not None:
            result[name] = Topic(
                name,
                title or old.title,
                description or old.description,
                old.phrases + tuple(p for p in phrases if p not in old.phrases),
                old.exclude + tuple(p for p in exclude if p not in old.exclude),
            )
        else:
            if not phrases and not description and not item.get("phrases"):
                problems.append(f"{where}: needs phrases or a description to match anything")
            result[name] = Topic(
                name,
                title or name.replace("-", " ").capitalize(),
                description or "",
                phrases,
                exclude,
            )
    if not result and not problems:
        problems.append("topics: the taxonomy is empty")
    if len(result) > 50:
        problems.append(f"topics: at most 50 topics, got {len(result)}")
    if problems:
        raise TaxonomyError(problems)
    return tuple(result.values())


# --------------------------------------------------------------------------- matching

_SEPARATOR = r"[\s\-]+"


def _is_caps(phrase: str) -> bool:
    letters = [c for c in phrase if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _phrase_pattern(phrase: str) -> str:
    """Whole-word pattern: spaces/hyphens interchangeable, plural -s/-es allowed.

    A phrase written in capitals (``EU``, ``FTC``, ``GPU``) matches case-sensitively
    so that "eu" inside other words or "sec" in "30 sec" never count.
    """
    words = re.split(r"[\s\-]+", phrase.strip())
    body = _SEPARATOR.join(re.escape(w) for w in words if w)
    if phrase[-1:].isalpha():
        body += "(?:e?s)?"
    if _is_caps(phrase):
        body = f"(?-i:{body})"
    return body


def compile_phrases(phrases: Sequence[str]) -> re.Pattern[str] | None:
    """One regex for a whole list, longest first so the longest phrase wins."""
    if not phrases:
        return None
    alts = "|".join(_phrase_pattern(p) for p in sorted(set(phrases), key=len, reverse=True))
    return re.compile(rf"(?<![\w])(?:{alts})(?![\w])", re.IGNORECASE)


def compile_trie(phrases: Sequence[str]) -> re.Pattern[str] | None:
    """All phrases as one regex shaped like a trie, so a text is scanned once.

    A plain alternation of a few hundred phrases tries every one at every word;
    the trie tries only the phrases that share the letters read so far, and its
    branches start with plain characters, which the regex engine skips without
    entering. Longer continuations come first, so the longest phrase wins. It
    is case-sensitive: scan lowercased text with lowercased phrases for the rest.
    Each match is preceded by one consumed non-word character (prepend a space)
    because a pattern that starts with a character class is searched far faster
    than one that starts with a look-behind; group 1 is the phrase.
    """
    root: dict = {}
    for phrase in sorted(set(phrases)):
        words = [w for w in re.split(r"[\s\-]+", phrase.strip()) if w]
        node = root
        for i, word in enumerate(words):
            for unit in ([_SEPARATOR] if i else []) + [re.escape(c) for c in word]:
                node = node.setdefault(unit, {})
        if node is not root:
            plural = phrase[-1:].isalpha()
            node.setdefault("", set()).add(("(?:e?s)?" if plural else "") + r"(?!\w)")
    if not root:
        return None

    def emit(node: dict) -> str:
        alts = [unit + emit(child) for unit, child in node.items() if unit]
        alts += sorted(node.get("", ()), key=len, reverse=True)
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return re.compile(r"\W(" + emit(root) + ")")


class PhraseIndex:
    """Which topics' phrases (and exclusions) a text contains, in one pass for all topics.

    Two trie scans find the longest phrase at each place: one over the lowercased
    text for ordinary phrases, one over the text as written for phrases in
    capitals. Each distinct span found is then checked once (and remembered)
    against every topic's own regexes, so a topic also gets its phrases that lie
    inside a longer phrase of another topic ("released" in "weights released").
    """

    CACHE_SPANS = 20_000

    def __init__(self, topics: Sequence[Topic]) -> None:
        self._include = [compile_phrases(t.phrases) for t in topics]
        self._exclude = [compile_phrases(t.exclude) for t in topics]
        every = [p for t in topics for p in t.phrases + t.exclude]
        self._folded = compile_trie([p.lower() for p in every if not _is_caps(p)])
        self._capitals = compile_trie([p for p in every if _is_caps(p)])
        self._spans: dict[str, tuple[tuple[tuple[int, str], ...], frozenset[int]]] = {}

    def hits(self, text: str) -> tuple[dict[int, int], set[int]]:
        """Topic index -> number of distinct phrases in ``text``; topics it excludes."""
        spans: list[str] = []
        if text:
            if self._folded is not None:
                spans += self._folded.findall(" " + text.lower())
            if self._capitals is not None:
                spans += self._capitals.findall(" " + text)
        found: dict[int, set[str]] = {}
        vetoed: set[int] = set()
        for span in spans:
            phrases, vetoes = self._topics_in(span)
            for j, phrase in phrases:
                found.setdefault(j, set()).add(phrase)
            vetoed |= vetoes
        return {j: len(p) for j, p in found.items()}, vetoed

    def _topics_in(self, span: str) -> tuple[tuple[tuple[int, str], ...], frozenset[int]]:
        known = self._spans.get(span)
        if known is None:
            phrases = tuple(
                (j, m.group(0).lower())
                for j, pattern in enumerate(self._include)
                if pattern is not None
                for m in pattern.finditer(span)
            )
            vetoes = frozenset(
                j for j, pattern in enumerate(self._exclude) if pattern and pattern.search(span)
            )
            if len(self._spans) >= self.CACHE_SPANS:
                self._spans = {}
            known = self._spans[span] = (phrases, vetoes)
        return known


def _normalise(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2011", "-")


def _prepare(title: str, text: str) -> tuple[str, str]:
    return _normalise(title or ""), _normalise((text or "")[:LEAD_CHARS])


@dataclass(frozen=True)
class Weights:
    """How evidence turns into a score; see bench/tagging.py for how they were chosen."""

    title_hit: float = 0.8  # one decisive phrase in the headline
    lead_hit: float = 0.5  # one decisive phrase in the lead
    semantic: float = 0.2  # per standard deviation above the item's mean similarity
    below: float = 0.5  # share of that weight applied when a topic is below the mean
    threshold: float = 0.45  # a topic is kept at or above this score
    relative: float = 0.6  # ... and at or above this share of the best topic's score


class Tagger:
    """Assigns 0-3 topics to a story from its title and lead."""

    def __init__(
        self, topics: Sequence[Topic], *, embeddings: bool = True, weights: Weights | None = None
    ) -> None:
        self.topics = tuple(topics)
        self.weights = weights or Weights()
        self._phrases = PhraseIndex(self.topics)
        embedder: Embedder | None = load_embedder() if embeddings else None
        self._projection: Projection | None = None
        if embedder is not None and self.topics:
            vecs = embedder.embed([_topic_text(t) for t in self.topics])
            self._projection = embedder.projection(vecs)

    @property
    def uses_embeddings(self) -> bool:
        return self._projection is not None

    def tag(self, title: str, text: str) -> tuple[str, ...]:
        return self.tag_many([(title, text)])[0]

    def tag_many(self, items: Sequence[tuple[str, str]]) -> list[tuple[str, ...]]:
        """Tag many stories; the scoring is done for the whole batch at once."""
        if not items or not self.topics:
            return [() for _ in items]
        prepared = [_prepare(t, x) for t, x in items]
        return self._choose(*self._raw_scores(prepared))

    def scores(self, title: str, text: str) -> Mapping[str, float]:
        """Per-topic scores, for explaining a tag and for tuning."""
        row = self._raw_scores([_prepare(title, text)])[0][0]
        return {t.name: float(s) for t, s in zip(self.topics, row, strict=True)}

    def _raw_scores(self, prepared: Sequence[tuple[str, str]]) -> tuple[np.ndarray, list[set[int]]]:
        scores, vetoes = self._phrase_scores(prepared)
        if self._projection is not None:
            # Similarity to each topic, standardised per story: how much more this
            # topic than the story's average topic. (Scale-free, so the projection's
            # unnormalised dot products give the same z as cosines would.)
            sims = self._projection.scores([f"{t}. {x}" for t, x in prepared]).astype(np.float64)
            std = sims.std(axis=1, keepdims=True)
            z = np.zeros_like(sims)
            np.divide(sims - sims.mean(axis=1, keepdims=True), std, out=z, where=std > 0)
            z[z < 0] *= self.weights.below
            # a story with no words has no meaning to compare: no semantic score at all
            wordless = [not any(ch.isalnum() for ch in t + x) for t, x in prepared]
            z[np.array(wordless, dtype=bool)] = 0.0
            scores += self.weights.semantic * z
        return scores, vetoes

    def _phrase_scores(
        self, prepared: Sequence[tuple[str, str]]
    ) -> tuple[np.ndarray, list[set[int]]]:
        """Scores from phrases, and the topics each story's exclusions veto."""
        w = self.weights
        title_hits = np.zeros((len(prepared), len(self.topics)), dtype=np.float64)
        lead_hits = np.zeros_like(title_hits)
        vetoes: list[set[int]] = []
        hits = self._phrases.hits
        for i, (title, lead) in enumerate(prepared):
            counts, vetoed = hits(title)
            for j, n in counts.items():
                title_hits[i, j] = n
            counts, vetoed_lead = hits(lead)
            for j, n in counts.items():
                lead_hits[i, j] = n
            vetoes.append(vetoed | vetoed_lead)
        return np.minimum(1.0, w.title_hit * title_hits + w.lead_hit * lead_hits), vetoes

    def _choose(self, scores: np.ndarray, vetoes: Sequence[set[int]]) -> list[tuple[str, ...]]:
        """Topics at or above both thresholds, best first (ties by taxonomy order)."""
        w = self.weights
        best = scores.max(axis=1, keepdims=True)
        keep = (scores >= w.threshold) & (scores >= w.relative * best)
        order = np.argsort(-scores, axis=1, kind="stable").tolist()
        names = [t.name for t in self.topics]
        out: list[tuple[str, ...]] = []
        for row_order, row_keep, vetoed in zip(order, keep.tolist(), vetoes, strict=True):
            kept = [names[j] for j in row_order if row_keep[j] and j not in vetoed]
            out.append(tuple(kept[:MAX_TOPICS]))
        return out


def _topic_text(topic: Topic) -> str:
    return f"{topic.title}. {topic.description} {', '.join(topic.phrases)}"
