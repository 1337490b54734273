"""What may be a key point: the rules that keep filler out of a briefing, in one place.

A key point states one fact, claim or consequence in a full sentence that stands on its
own under the headline and lead. Measured on real feeds (``python -m bench.filler``), about
half of the sentences a position-first ranking picks fail that: they lean on a sentence
the reader has not got ("It is...", "But..."), were cut by the feed ("...", no final
stop), ask the reader something, tell the reader to do something, advertise ("We're
excited to announce"), or are too short to say anything. A story with nothing more to say
gets no points: fewer points beat filler.

:func:`as_point` is the one entry: it returns the sentence as a point (tidied where the
tidying is certain to keep its meaning) or None. The word lists below are the whole rule
set; each says why it is there.
"""

from __future__ import annotations

import re
from typing import Final

#: fewer words than this is a fragment ("Programming Sucks", "Logo: Beatriz Fialho")
MIN_WORDS: Final = 6
#: list items of release notes are terse by convention ("Faster start-up")
MIN_LIST_WORDS: Final = 2
#: a short sentence is a fact when it carries a figure or a date ("Shares rose 4%.",
#: "Landing is planned for March."); it must still have this many words
MIN_FACT_WORDS: Final = 3

#: a sentence ends with one of these (after closing quotes or brackets)
_FINAL: Final = tuple(".!。！")
_CLOSERS: Final = "\"'”’»)]"

#: the feed or the author cut the sentence: "…", "...", "[…]", "[...]"
_CUT: Final = re.compile(r"(?:…|\.\.\.|\[…\]|\[\.\.\.\])[\"'”’»)\]]*$")

#: pronouns and demonstratives whose referent is in a sentence the reader has not got,
#: and connectives that, without a comma to drop them by, start mid-thought ("Yet the
#: excitement was only growing", "Also revealed plans for..."). "This week"/"That day" are
#: times, not references: see _TIME_AFTER.
_DANGLING_WORDS: Final = frozenset(
    """it its it's it’s they they're they’re they've they’ve them their theirs he he's he’s
    him his she she's she’s her hers this that that's that’s these those such here here's
    here’s there's there’s both either neither another latter former
    also and but yet so then however still thus moreover furthermore meanwhile besides
    therefore plus which whereby""".split()
)
_TIME_AFTER: Final = frozenset(
    """week weekend month year morning afternoon evening night day summer spring autumn
    fall winter season time quarter monday tuesday wednesday thursday friday saturday
    sunday""".split()
)

#: connectives that tie a sentence to the one before. Dropped from the front when a full
#: sentence remains ("Also, the company will..." -> "The company will..."): the claim is
#: the same, only its link to a sentence the reader has not got goes.
_CONNECTIVE: Final = re.compile(
    r"^(?:(?:and|but|meanwhile|additionally|moreover|furthermore)\b,?|(?:also|so|however|"
    r"yet|still|instead|plus|further|besides|then|thus|therefore|as such|in addition|"
    r"on top of that|at the same time|in turn|as a result|what's more|what’s more),)\s+",
    re.IGNORECASE,
)
#: an attributed quotation: '"My life changed in one day," says Olga Smirnova.' Its
#: pronouns are the speaker's, whose name the sentence gives.
_ATTRIBUTED: Final = re.compile(
    r"^[“\"‘'][^“”\"]+[”\"’'],?\s+(?:[\w.’'-]+\s+){0,6}?(?:says|said|told|added|explained|"
    r"noted|wrote|argued|warned|recalled|according)\b"
)

#: the first word of an instruction to the reader ("Read more", "Sign up", "See all our
#: coverage", "Learn how..."). A briefing reports; it never tells the reader what to do.
#: These are (almost) never a noun at the start of a sentence:
_IMPERATIVE: Final = frozenset(
    """learn discover explore subscribe register download click tap join visit imagine grab
    unlock install get buy tell sign submit don't don’t let's let’s""".split()
)
#: ...and these are one only when an object or particle follows ("Watch the video", not
#: "Watch sales rose"; "Check out", not "Check Point said")
_IMPERATIVE_IF: Final = frozenset(
    """read find try watch listen follow check see tune make stay shop contact reach
    continue meet take upgrade show break choose use ask explore discover create build start
    get keep let turn bring save give add pick plan""".split()
)
#: what follows an imperative's verb ("Read more", "See all our...", "Learn how", "Join
#: us"); a noun there means the first word is a noun
_AFTER_IMPERATIVE: Final = frozenset(
    """the a an our all this these that how why what where more out up in on to us it them
    your you now here back over about for at with some every each its his her my whether
    if today tomorrow one down""".split()
)
#: ...or a phrase anywhere that does the same, or speaks to the reader ("you can now")
_CALL_TO_ACTION: Final = re.compile(
    r"\b(?:click here|sign up|subscribe (?:to|now|today|here)|join us|register (?:now|today|"
    r"here)|get started|link in bio|read more|learn more|find out more|see more|"
    r"watch now|listen now|don't miss|don’t miss)\b|^(?:go|head) (?:to|over)\b"
    r"|^(?:you|your|you're|you’re|you'll|you’ll|if you|whether you|when you)\b"
    r"|^(?:option|step|tip|pro tip|bonus|note|update|editor's note|editor’s note)\b[^:]{0,40}:"
    r"|\byou(?:'ll|’ll| can| could| will| may| might| should| need| must)\b",
    re.IGNORECASE,
)

#: a sentence that speaks to the reader anywhere outside a quotation ("helps you get more
#: done", "just as you would") is the page's voice, not the story's
_SECOND_PERSON: Final = re.compile(r"\b(?:you|your|yours|yourself)\b", re.IGNORECASE)

#: words one of which a call to action above must contain (a cheap test before the pattern)
_CTA_FIRST: Final = frozenset(
    "go head you your you're you’re you'll you’ll if whether when option step tip pro bonus "
    "note update editor's editor’s".split()
)
_CTA_HINTS: Final = (
    "click",
    "sign up",
    "subscribe",
    "join us",
    "register",
    "started",
    "link in bio",
    " more",
    "watch now",
    "listen now",
    "miss",
    "you",
)

#: promotion and the page talking about itself: an announcement's mood, not its content.
#: A point ending in "!" is cheering ("Congratulations to all the finalists!", "Luckily,
#: us web folk love a challenge!"): a fact is stated, not exclaimed.
_MARKETING: Final = re.compile(
    r"\b(?:we|i)(?:'re|’re|'m|’m| are| am)\s+(?:so\s+|very\s+|really\s+|incredibly\s+)?"
    r"(?:excited|thrilled|proud|pleased|delighted|happy|glad|honou?red|eager|humbled|"
    r"grateful)\b"
    r"|\b(?:excited|thrilled|proud|delighted|pleased|happy) to (?:announce|share|introduce|"
    r"unveil|launch|welcome|partner|present|bring|reveal)\b"
    r"|\bour (?:new|latest|newest|best|most|biggest|next)\b"
    r"|\bwe can(?:'t|’t|not) wait\b|\bstay tuned\b|\bgot you covered\b|\bwe hope you\b"
    r"|\b(?:in|with) this (?:post|article|blog|piece|episode|video|guide|tutorial|newsletter|"
    r"series|edition|issue|week's|week’s)\b"
    r"|^(?:congratulations|congrats|thank you|thanks|welcome|hello|hi|hey|cheers|props to)\b"
    r"|!$",
    re.IGNORECASE,
)
_MARKETING_HINTS: Final = (
    "excit",
    "thrill",
    "proud",
    "pleased",
    "delight",
    "happy",
    "glad",
    "honou",
    "eager",
    "humbled",
    "grateful",
    "our ",
    "wait",
    "tuned",
    "covered",
    "hope you",
    "this ",
    "congrat",
    "thank",
    "welcome",
    "hello",
    "hi ",
    "hi,",
    "hey",
    "cheers",
    "props",
)

#: puffery: praise a company gives itself or its partner ("an outstanding quarter", "the
#: response has been incredible", "at the forefront of this pivotal time"). A point with
#: a figure keeps it ("record revenue of $9.2 billion, an outstanding quarter"): the
#: figure is the fact; without one, the sentence is the press release's mood.
_PUFFERY: Final = re.compile(
    r"\b(?:incredibl[ey]|tremendous|outstanding|excit(?:ed|ing)|thrill(?:ed|ing)|delighted|"
    r"proud|honou?red|pivotal|forefront|game[- ]chang\w*|revolutionar\w*|best[- ]in[- ]class|"
    r"industry[- ]leading|world[- ]class|new era|next level|boundless|love to use|we value|"
    r"amazing|remarkable|unparalleled|cutting[- ]edge|seamless\w*|leading voice|strongest|"
    r"fastest[- ]growing|the best\b|even (?:better|easier|smarter|more)|than ever|"
    r"most (?:advanced|powerful)|next[- ]gen(?:eration)?)",
    re.IGNORECASE,
)
_PUFFERY_HINTS: Final = (
    "incredib",
    "tremendous",
    "outstanding",
    "excit",
    "thrill",
    "delight",
    "proud",
    "honor",
    "honour",
    "pivotal",
    "forefront",
    "chang",
    "revolution",
    "class",
    "leading",
    "era",
    "next level",
    "boundless",
    "love to",
    "value",
    "amazing",
    "remarkable",
    "unparalleled",
    "edge",
    "seamless",
    "strongest",
    "fastest",
    "the best",
    "even ",
    "than ever",
    "most ",
    "next",
)

#: a sentence that points at another part of the page ("the list above", "the
#: aforementioned topic", "projects in here") or counts through a list the reader has
#: not got ("First, by learning...", "Second is the delight of..."), or that opens by
#: answering something said before ("To address this need, ...", "For instance, ...")
_COUNTING_OPENER: Final = re.compile(
    r"^(?:first|second|third|fourth|fifth|finally|lastly)\b(?!\s+(?:quarter|half|time|place|"
    r"round|day|week|year|phase|stage|generation|edition|season)\b)"
    r"|^(?:for instance|for example|to address this|to do this|to that end|like most|"
    r"mine is|on top of this|in this case|in that case)\b",
    re.IGNORECASE,
)
_COUNTING_FIRST: Final = frozenset(
    "first second third fourth fifth finally lastly for to like mine on in".split()
)
_ELSEWHERE: Final = re.compile(
    r"\b(?:the above|aforementioned|listed below|shown below|in here|the following)\b"
    r"|\b(?:list|table|section|chart|image|video|examples?|steps?|statements?) (?:above|below)\b"
    r"|^(?:[^,]{0,60},\s+|[A-Za-z’' ]{0,30}\s)?(?:this|these|those)\s+(?!week|month|year|"
    r"morning|afternoon|"
    r"evening|night|weekend|summer|spring|autumn|fall|winter|season|time|quarter|day|is\b|"
    r"was\b|year's|year’s)[a-z]+",
    re.IGNORECASE,
)
_ELSEWHERE_HINTS: Final = ("above", "aforementioned", "below", "in here", "following", "th")

#: five capitalised words and then a lowercase one: a section heading run into the
#: sentence after it ("A Neural Forest Uncovered Memory is the job of..."), which
#: sentences.unglue cannot tell from a title and a name ("New York City Mayor Eric Adams
#: said"): such a point is skipped rather than split
_TITLE_RUN: Final = re.compile(r"(?:[A-Z][a-z’'-]*\s+){5,}[a-z]")

#: an instruction to the reader that opens past an introductory phrase ("For more
#: information, browse...", "Once enabled, set...", "Interested parties are invited to
#: listen...", "Please do not run this software on a production site.")
_INSTRUCTION: Final = re.compile(
    r"^(?:for more (?:information|details)|to learn more|to get started|please|say hello|"
    r"interested parties)\b|^once [a-z]+, [a-z]+\b|\bare invited to\b"
    r"|^[^,]{0,60},\s+(?:tap|click|select|open|choose|press|toggle|enter|type|visit|turn on|"
    r"go to|head to|sign in|log in)\b",
    re.IGNORECASE,
)

_INSTRUCTION_FIRST: Final = frozenset("for to please say interested once in on from".split())
_INSTRUCTION_HINTS: Final = ("invited", " tap ", " click ", " select ", " toggle ", " go to ")

#: the page about itself: a press release's boilerplate, an update or editor's note, a
#: link to the rest of the post
_PAGE_NOTE: Final = re.compile(
    r"^about [A-Z]|\b(?:update|updating) this (?:article|post|story)\b|\bhas been updated\b|"
    r"\bview entire post\b|\beditor[’']s note\b|\bappeared first on\b|"
    r"^(?:this|the) (?:post|article|story|piece) (?:is|was) part of\b",
    re.IGNORECASE,
)
_PAGE_NOTE_HINTS: Final = ("about", "updat", "view entire", "editor", "appeared", "part of")

#: the first person singular is the author's voice (a column, a personal blog); out of
#: its page "I was locked out of my account" says nothing about who. Outside quotation
#: marks only: a quoted "I" has its speaker named. "We" stays: in a company's post it is
#: the company, and its sentences carry the announcements.
_FIRST_PERSON_SINGULAR: Final = frozenset("i i'm i’m i've i’ve i'd i’d i'll i’ll my me".split())
_I_HINTS: Final = (" I ", " I'", " I’", "my ", "My ", " me")
_I_ANYWHERE: Final = re.compile(r"\bI(?:'m|’m|'ve|’ve|'d|’d|'ll|’ll)?\s+[a-z]|\b(?:my|me)\b")
_QUOTED: Final = re.compile(r"“[^”]*”|\"[^\"]*\"")

#: verbs an organisation is the subject of; only "It <one of these>" is rewritten
_AGENT_VERBS: Final = frozenset(
    """said says added told announced reported expects expected plans planned declined
    employs employed raised launched released confirmed estimates estimated hopes
    intends""".split()
)
#: a lead that opens with a name ("Acme Corp.", "OpenAI", "The European Commission") and
#: then one of those verbs or an auxiliary: its subject is certain
_NAMED_SUBJECT: Final = re.compile(
    r"^((?:The\s+)?(?:[A-Z][\w&.’'-]*)(?:\s+(?:[A-Z][\w&.’'-]*|of|and|&|for))*?)\s+"
    r"(?:on \w+ )?(?:said|says|announced|has|have|had|is|was|will|plans|reported|told|"
    r"launched|released|expects|confirmed|raised)\b"
)
#: "We propose a verifier that...", "Today, we're introducing Gemini 3, our...": the thing
#: presented is a name (a capitalised word run with digits or dots) or the head noun of
#: "a/an/the <noun>" followed by a clause or the sentence end
_WE_PRESENT: Final = re.compile(
    r"^(?:Today,?\s+)?[Ww]e(?:'re|’re| are| have| )?\s*(?:propose|present|introduce|release|"
    r"launch|unveil|announce|build|built|develop|developed|open-source|"
    r"proposing|presenting|introducing|releasing|launching|unveiling|announcing)d?\s+"
    r"(?:(?P<name>[A-Z][\w.-]*(?:\s+[A-Z0-9][\w.-]*){0,3})(?=[,.]|\s+(?:a|an|the|our)\b)"
    r"|(?:a|an|the)\s+(?:new\s+)?(?P<noun>[a-z][a-z-]+)(?=[,.]|\s+(?:that|which|for|to|with|"
    r"called|—)\b))"
)
_WORD: Final = re.compile(r"[\"'“‘(\[]*([\w’'-]+)")


def as_point(text: str, *, list_item: bool = False, lead: str = "") -> str | None:
    """*text* as a key point, tidied, or None when a reader would skip it.

    *list_item* marks an item of a changelog (a story that is only a list): complete by
    construction, so it may end without a full stop and be terser than prose. *lead* is
    the story's lead, the only place a rewritten subject may come from.
    """
    text = _drop_connective(text.strip())
    if not text:
        return None
    if lead and text.startswith("It "):
        text = _name_the_subject(text, lead) or _name_the_thing(text, lead) or text
    if filler_kind(text, list_item=list_item) is not None:
        return None
    return text


def filler_kind(text: str, *, list_item: bool = False) -> str | None:
    """Which kind of filler *text* is as a point ("question", "dangling", ...), or None.

    The phrase patterns run only where a cheap substring test says they could match:
    this runs for every candidate point of every story at ingest."""
    bare = text.rstrip(_CLOSERS + " ")
    lower = text.lower()
    if (bare.endswith("!") or any(t in lower for t in _MARKETING_HINTS)) and _MARKETING.search(
        bare
    ):
        return "marketing"
    if _puffery(text, lower):
        return "marketing"
    if _page_note(text, lower):
        return "boilerplate"
    if bare.endswith(("?", "？")):
        return "question"
    if _CUT.search(text):
        return "truncated"
    if not list_item and not bare.endswith(_FINAL) and not _unspaced_end(bare):
        return "truncated"  # a heading, a label, or a sentence the feed cut off
    first = "" if _ATTRIBUTED.match(text) else _first_word(text)
    second = _second_word(text)
    if first in _DANGLING_WORDS and not (
        (first in ("this", "that", "these", "those") and second in _TIME_AFTER)
        or (first == "so" and second == "far")
    ):
        return "dangling"
    if first == "the" and _second_word(text) in ("same", "latter", "former"):
        return "dangling"
    if _torn_quote(text):
        return "dangling"  # a quotation whose speaker is named in another sentence
    if text[:1].isupper() and _TITLE_RUN.match(text):
        return "fragment"  # "A Neural Forest Uncovered Memory is...": a heading run in
    if (first in _COUNTING_FIRST and _COUNTING_OPENER.match(text)) or (
        any(t in lower for t in _ELSEWHERE_HINTS) and _ELSEWHERE.search(text)
    ):
        return "dangling"
    if first in _FIRST_PERSON_SINGULAR or (
        any(t in text for t in _I_HINTS) and _I_ANYWHERE.search(_QUOTED.sub("", text))
    ):
        return "first person"
    if (
        first in _IMPERATIVE
        or (first in _IMPERATIVE_IF and _looks_imperative(text))
        or _instruction(text, first, lower)
        or (
            (first in _CTA_FIRST or any(t in lower for t in _CTA_HINTS))
            and (_CALL_TO_ACTION.search(text) or _SECOND_PERSON.search(_QUOTED.sub("", text)))
        )
    ):
        return "call to action"
    if _too_short(text, MIN_LIST_WORDS if list_item else MIN_WORDS) and (
        list_item or _too_short(text, MIN_FACT_WORDS) or not _carries_figure_or_date(text)
    ):
        return "fragment"
    return None


def lead_problem(text: str) -> str | None:
    """Why *text* would be a weak lead ("boilerplate", "call to action", "marketing",
    "truncated"), or None. Looser than a point's rules: a lead may open with "We" or
    "It", and a story's first sentence is often the only one it has, so the lead picker
    passes over a weak one only for a later sentence without these faults."""
    bare = text.rstrip(_CLOSERS + " ")
    lower = text.lower()
    first = _first_word(text)
    if _page_note(text, lower):
        return "boilerplate"
    if _instruction(text, first, lower) or first in _IMPERATIVE or first in ("you", "your"):
        return "call to action"
    if first == "well":
        return "dangling"  # "Well, Angus did say...": an answer to something unseen
    if bare.endswith("!") or _puffery(text, lower):
        return "marketing"
    if _CUT.search(text):
        return "truncated"  # a standfirst with no stop is fine; one cut with "…" is not
    return None


#: what a point adds that a reader values: figures, names, dates, who said it
_FIGURE: Final = re.compile(r"\d[\d,.]*")
#: a capitalised word after a space: a name, most of the time. Searched for, so
#: "(?<=\s)[A-Z][a-z]+" would find the same, but a pattern that starts with a character
#: class is searched for faster
_NAME: Final = re.compile(r"\s[A-Z][a-z]")
_YEAR: Final = re.compile(r"(?:19|20)\d\d$")
_ATTRIBUTION: Final = (" told ", "according to", " announced", " reported")
_DATE_WORDS: Final = frozenset(
    """january february march april june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday
    friday saturday sunday""".split()
)


#: words that date a point ("this week", "next year", "on Monday")
_TIME_WORDS: Final = _DATE_WORDS | frozenset(
    "today tomorrow yesterday tonight week month year weekend quarter".split()
)


def fact_bonus(
    text: str, words: frozenset[str], said: frozenset[str], *, digits: bool = True
) -> float:
    """A small ranking bonus for the facts *text* adds to what *said* (the headline's and
    lead's words) holds: a figure the reader has not seen counts more than one repeated.
    *words* are the text's own content words (``condense.content_words``); *digits* False
    says the caller knows the text has none."""
    bonus = 0.0
    figures = [f.rstrip(",.").replace(",", "") for f in _FIGURE.findall(text)] if digits else []
    if figures:
        bonus += 0.05 if any(f not in said for f in figures) else 0.02
    if _NAME.search(text):
        bonus += 0.03
    if " said" in text or " says" in text or any(a in text for a in _ATTRIBUTION):
        bonus += 0.03
    if not _DATE_WORDS.isdisjoint(words) or any(_YEAR.match(f) for f in figures):
        bonus += 0.02
    return bonus


def _puffery(text: str, lower: str) -> bool:
    return (
        any(t in lower for t in _PUFFERY_HINTS)
        and _PUFFERY.search(text) is not None
        and not _FIGURE.search(text)
    )


def _page_note(text: str, lower: str) -> bool:
    return any(t in lower for t in _PAGE_NOTE_HINTS) and _PAGE_NOTE.search(text) is not None


def _instruction(text: str, first: str, lower: str) -> bool:
    return (first in _INSTRUCTION_FIRST or any(t in lower for t in _INSTRUCTION_HINTS)) and (
        _INSTRUCTION.search(text) is not None
    )


def anchored(text: str) -> bool:
    """Whether a point without a figure is tied to something a reader can place: a name
    (a capitalised word after the first, or an acronym other than "AI"), a time ("this
    week", "on Monday"), who said it, or an event (a past or future verb: "Opponents
    vowed to challenge it in court"). A script without spaces has no capitals to tell
    names by, and passes.

    What is left is mostly truisms and scene-setting in the present tense ("When it
    comes to learning, one size doesn't fit all."): hand labels of real-feed points
    (``bench/filler_blind.py``) found seven in ten of those weak."""
    if _NAME.search(text) or _ACRONYM.search(text):
        return True
    if _unspaced_end(text.rstrip(_CLOSERS + " .。")[-1:] or " "):
        return True
    lower = text.lower()
    if " said" in lower or " says" in lower or any(a in lower for a in _ATTRIBUTION):
        return True
    if _EVENT.search(lower):
        return True
    return any(w.strip(".,;:!") in _TIME_WORDS for w in lower.split())


#: an acronym after the first word ("deployed MGX racks with NVIDIA GPUs"); "AI" is the
#: beat's own word, and names nothing
_ACRONYM: Final = re.compile(r"\s(?!AI\b)[A-Z][A-Z0-9]")
#: a verb in the past or the future: something happened or will
_EVENT: Final = re.compile(
    r"\b(?:[a-z]{2,}ed|was|were|had|did|said|told|made|took|gave|won|lost|rose|fell|sold|"
    r"bought|began|grew|found|left|led|met|paid|ran|saw|sent|spent|went|wrote|chose|"
    r"became|came|got|held|kept|knew|brought|thought|will|would|won't|won’t)\b"
)


def _carries_figure_or_date(text: str) -> bool:
    lower = text.lower()
    return bool(_FIGURE.search(text)) or any(w.strip(".,;:") in _DATE_WORDS for w in lower.split())


def _torn_quote(text: str) -> bool:
    """A quotation opened and not closed, or closed and not opened."""
    return text.count("“") != text.count("”") or text.count('"') % 2 == 1


def _drop_connective(text: str) -> str:
    m = _CONNECTIVE.match(text)
    if not m:
        return text
    rest = text[m.end() :]
    if not rest or not (rest[0].isalnum() or rest[0] in "\"“‘'"):
        return text
    return rest[0].upper() + rest[1:]


def _name_the_subject(text: str, lead: str) -> str | None:
    """ "It said ..." -> "Acme Corp. said ..." when the lead's subject is a name that acts."""
    words = text.split(None, 2)
    if len(words) < 2 or words[0] != "It" or words[1] not in _AGENT_VERBS:
        return None
    m = _NAMED_SUBJECT.match(lead)
    if not m:
        return None
    subject = m.group(1)
    first = _first_word(subject)
    if first in _DANGLING_WORDS or first in _FIRST_PERSON_SINGULAR or first in ("we", "you"):
        return None
    if " " not in subject and subject.endswith("s") and not subject.isupper():
        return None  # "Researchers said": "it" is someone else
    return subject + text[2:]


def _name_the_thing(text: str, lead: str) -> str | None:
    """ "It cuts errors by 40%" -> "The verifier cuts errors by 40%" when the lead is
    "We propose a verifier that ..." (or introduce, release, launch ...): what a company or
    a paper's authors present is what the next "It" does."""
    words = text.split(None, 2)
    if len(words) < 3 or words[0] != "It" or not words[1].isalpha() or not words[1].islower():
        return None
    m = _WE_PRESENT.match(lead)
    if not m:
        return None
    thing = m.group("name") or ("the " + m.group("noun"))
    return thing[0].upper() + thing[1:] + text[2:]


def _first_word(text: str) -> str:
    m = _WORD.match(text)
    return m.group(1).lower() if m else ""


def _second_word(text: str) -> str:
    parts = text.split(None, 2)
    return parts[1].strip(",.;:").lower() if len(parts) > 1 else ""


def _looks_imperative(text: str) -> bool:
    """ "See all our coverage" is an instruction; "Watch sales rose" is not."""
    parts = text.split(None, 2)
    return len(parts) == 1 or parts[1].strip(",.:;!").lower() in _AFTER_IMPERATIVE


def _too_short(text: str, least: int) -> bool:
    if _unspaced_end(text):  # Chinese, Japanese: no spaces to count words by
        return len(text) < least + 2
    return len(text.split(None, least)) < least


def _unspaced_end(text: str) -> bool:
    if not text:
        return False
    code = ord(text[-1])
    return 0x3000 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFF00 <= code <= 0xFFEF
