"""The topic taxonomy: the default AI-news topics and admin-defined ones from the config."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.news.errors import NewsError


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


def topic_names(asked: Sequence[str], known: Sequence[str]) -> list[str]:
    """The taxonomy names asked for, as a user may type them ("Regulation ");
    the first unknown one is an error that lists what there is."""
    names = [a.strip().lower() for a in asked if a.strip()]
    for name in names:
        if name not in known:
            raise NewsError(f"unknown topic {name!r}; topics: {', '.join(known)}")
    return names


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


def topic_text(topic: Topic) -> str:
    """What a topic's vector is made from: its title, description and phrases.

    It lives here, beside :class:`Topic`, because both the tagger (``topics``) and the
    trained head (``topic_head``) embed topics the same way, and ``topics`` imports
    ``topic_head``: from here neither has to import the other backwards.
    """
    return f"{topic.title}. {topic.description} {', '.join(topic.phrases)}"
