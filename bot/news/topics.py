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

from bot.news.embed import Embedder, load_embedder

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
        "regulation; regulator; regulators; regulate; regulating; legislation; lawmaker; law; "
        "legislature; senate bill; assembly bill; signed a bill; passes a bill; bill would; "
        "executive order; lawsuit; sue; sues; sued; suing; court; judge; ruling; settlement; "
        "class action; antitrust; copyright; infringement; export controls; export control; "
        "sanctions; congress; senator; congressional; governor; white house; administration; "
        "Trump; Newsom; Pentagon; Department of Defense; Department of Justice; FTC; DOJ; EU; "
        "European Commission; AI Act; GDPR; policymakers; czar; ban; plaintiffs; filings; "
        "United Nations; UN; governments; Democrats; Republicans; politicians",
    ),
    _t(
        "open-source",
        "Open source",
        "Open-source or open-weight models, code, datasets, licences, and debates about openness.",
        "open source; open-source; open sourced; open-sourced; open sourcing; open-weight; "
        "open weight; open weights; open model; open models; openly available; open-source model; "
        "Apache 2.0; MIT license; permissive license; licence; Gemma; Llama; GitHub stars; "
        "weights released; open standard; open standards",
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
        "genome; enzyme",
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
        "CEO; board",
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
        "AI factory; AI factories; interconnect; networking; storage; outage; down for",
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
        "containment; bioweapons",
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
        "revamped; redesigned; wearable; gadget; smart glasses",
        "launches an investigation; launched an investigation; launches a probe",
    ),
    _t(
        "society",
        "Society",
        "Ethics, jobs and labour, education, culture and the arts, religion, public opinion, "
        "health and medicine, effects of AI on people's lives.",
        "jobs; workers; workforce; employment; labor; labour; unions; union; upskill; upskilling; "
        "careers; education; educators; students; teachers; schools; classroom; classrooms; "
        "learners; teens; parents; children; kids; culture; art; artists; artistic; Hollywood; "
        "movie; film; religion; church; public opinion; poll; survey; Pew; health; healthcare; "
        "patients; clinicians; doctors; mental health; ethics; inequality; climate; nonprofit; "
        "nonprofits; AI literacy; certification; certifications; journalists; Americans; "
        "public support",
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


def _phrase_pattern(phrase: str) -> str:
    """Whole-word pattern: spaces/hyphens interchangeable, plural -s/-es allowed.

    A phrase written in capitals (``EU``, ``FTC``, ``GPU``) matches case-sensitively
    so that "eu" inside other words or "sec" in "30 sec" never count.
    """
    words = re.split(r"[\s\-]+", phrase.strip())
    body = r"[\s\-]+".join(re.escape(w) for w in words if w)
    if phrase[-1:].isalpha():
        body += "(?:e?s)?"
    letters = [c for c in phrase if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        body = f"(?-i:{body})"
    return body


def compile_phrases(phrases: Sequence[str]) -> re.Pattern[str] | None:
    """One regex for a whole list, longest first so the longest phrase wins."""
    if not phrases:
        return None
    alts = "|".join(_phrase_pattern(p) for p in sorted(set(phrases), key=len, reverse=True))
    return re.compile(rf"(?<![\w])(?:{alts})(?![\w])", re.IGNORECASE)


def _normalise(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2011", "-")


def _prepare(title: str, text: str) -> tuple[str, str]:
    return _normalise(title or ""), _normalise((text or "")[:LEAD_CHARS])


def _hits(pattern: re.Pattern[str] | None, text: str) -> int:
    if pattern is None or not text:
        return 0
    return len({m.group(0).lower() for m in pattern.finditer(text)})


@dataclass(frozen=True)
class Weights:
    """How evidence turns into a score; see bench/tagging.py for how they were chosen."""

    title_hit: float = 0.8  # one decisive phrase in the headline
    lead_hit: float = 0.5  # one decisive phrase in the lead
    semantic: float = 0.3  # per standard deviation above the item's mean similarity
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
        self._include = [compile_phrases(t.phrases) for t in self.topics]
        self._exclude = [compile_phrases(t.exclude) for t in self.topics]
        self._embedder: Embedder | None = load_embedder() if embeddings else None
        self._topic_vecs: np.ndarray | None = None
        if self._embedder is not None and self.topics:
            self._topic_vecs = self._embedder.embed([_topic_text(t) for t in self.topics])

    @property
    def uses_embeddings(self) -> bool:
        return self._topic_vecs is not None

    def tag(self, title: str, text: str) -> tuple[str, ...]:
        return self.tag_many([(title, text)])[0]

    def tag_many(self, items: Sequence[tuple[str, str]]) -> list[tuple[str, ...]]:
        """Tag many stories; the embeddings are computed in one batch."""
        if not items or not self.topics:
            return [() for _ in items]
        prepared = [_prepare(t, x) for t, x in items]
        scores = self._raw_scores(prepared)
        return [
            self._choose(row, title, lead)
            for row, (title, lead) in zip(scores, prepared, strict=True)
        ]

    def scores(self, title: str, text: str) -> Mapping[str, float]:
        """Per-topic scores, for explaining a tag and for tuning."""
        row = self._raw_scores([_prepare(title, text)])[0]
        return {t.name: float(s) for t, s in zip(self.topics, row, strict=True)}

    def _raw_scores(self, prepared: Sequence[tuple[str, str]]) -> np.ndarray:
        scores = self._phrase_scores(prepared)
        if self._topic_vecs is not None and self._embedder is not None:
            vecs = self._embedder.embed([f"{t}. {x}" for t, x in prepared])
            sims = vecs @ self._topic_vecs.T
            std = sims.std(axis=1, keepdims=True)
            z = np.zeros_like(sims)
            np.divide(sims - sims.mean(axis=1, keepdims=True), std, out=z, where=std > 0)
            z[z < 0] *= self.weights.below
            scores += self.weights.semantic * z
        return scores

    def _phrase_scores(self, prepared: Sequence[tuple[str, str]]) -> np.ndarray:
        w = self.weights
        out = np.zeros((len(prepared), len(self.topics)), dtype=np.float64)
        for i, (title, lead) in enumerate(prepared):
            for j, pattern in enumerate(self._include):
                th, lh = _hits(pattern, title), _hits(pattern, lead)
                out[i, j] = min(1.0, w.title_hit * th + w.lead_hit * lh)
        return out

    def _choose(self, row: np.ndarray, title: str, lead: str) -> tuple[str, ...]:
        w = self.weights
        best = float(row.max())
        if best < w.threshold:
            return ()
        order = sorted(range(len(row)), key=lambda j: (-row[j], j))
        chosen: list[str] = []
        for j in order:
            if row[j] < w.threshold or row[j] < w.relative * best or len(chosen) == MAX_TOPICS:
                break
            veto = self._exclude[j]
            if veto is not None and (veto.search(title) or veto.search(lead)):
                continue
            chosen.append(self.topics[j].name)
        return tuple(chosen)


def _topic_text(topic: Topic) -> str:
    return f"{topic.title}. {topic.description} {', '.join(topic.phrases)}"
