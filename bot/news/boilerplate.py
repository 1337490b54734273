"""The boilerplate table: named patterns for the lines and phrases that are not story text.

Each pattern runs only when one of its trigger words occurs in the text (searched in
ASCII-lower-cased bytes), and patterns anchored to a line start are tried at line starts
only: most texts trigger none, and then cleaning costs nothing here.
Every pattern has a test in tests/news/test_clean.py (a test fails if one lacks a case).
"""

from __future__ import annotations

import re
from typing import Final

_NAME: Final = r"(?:[A-Z][\w'’.-]*|de|van|von|der|da|di|la|le)"
_PERSON: Final = rf"[A-Z][\w'’.-]*(?:\s+{_NAME}){{0,3}}"
_OUTLETS: Final = r"(?:Getty Images|Getty|AP Photo|AP Images|Shutterstock|Alamy|iStock|EPA|AFP)"

#: Boilerplate phrases removed from the plain text, applied in this order to the whole
#: text with ``re.MULTILINE`` (``^``/``$`` match at line ends; ``\A`` is the start of the
#: story). Each match is removed; empty paragraphs are dropped afterwards. Patterns are
#: case-sensitive and start with a literal where they can: Python's regex engine then
#: skips ahead to candidate positions instead of trying every one, which is 20x faster
#: (and capital "Sign up" etc. marks a sentence start, so "users can sign up" survives).
BOILERPLATE: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (name, re.compile(pattern, re.MULTILINE))
    for name, pattern in (
        ("post_appeared_first", r"The post\s.{1,400}?\sappeared first on\s[^\n]{1,200}?(?:\.|$)"),
        (
            "originally_appeared",
            r"This (?:article|story|post|piece) (?:was )?(?:originally|first) "
            r"(?:appeared|published) (?:on|in|at) [^\n]*",
        ),
        ("continue_reading", r"(?:Continue|CONTINUE) (?:reading|READING)\b[^\n]{0,200}$"),
        (
            "read_more",
            r"Read(?<!\wRead) (?:more|the full (?:story|article|post)|full (?:story|article|post))"
            r"\b(?:\s*(?:\.\.\.|…|→|»|>>|›))?(?:[ \t]*:[^\n]*)?$",
        ),
        ("bracketed_ellipsis", r"\[\s*(?:\.\.\.|…|&#8230;|&hellip;)\s*\]"),
        ("sign_up", r"Sign up (?:for|to|now|today|here)\b[^.!?\n]*(?:[.!?]+|$)"),
        ("subscribe", r"Subscribe (?:to|for|now|today|here)\b[^.!?\n]*(?:[.!?]+|$)"),
        ("click_here", r"Click here\b[^.!?\n]*(?:[.!?]+|$)"),
        ("browser_unsupported", r"Your browser does not support[^.!?\n]{0,60}(?:[.!?]|$)"),
        (
            "wire_dateline",
            r"\b[A-Z][A-Z .'-]{1,40}, [^\n()]{0,60}?\((?:GLOBE NEWSWIRE|BUSINESS WIRE|PRNewswire"
            r"|PR Newswire|ACCESSWIRE)\)\s*(?:--|—|–|-)\s*",
        ),
        (
            "photo_credit_line",
            r"^(?:Photo(?:graph)?s?|Images?|Pictures?|Video)(?: [Cc]redits?)?(?: by)?\s*[:：]"
            r"[^\n]{0,200}$",
        ),
        ("credit_line", r"^(?:Credits?|Source|Image source)\s*[:：][^\n]{0,120}$"),
        (
            "photo_credit_inline",
            r"\((?:Photo(?:graph)?|Image|Picture|photo|image|picture)(?: [Cc]redit)?s?(?: by)?"
            r"\s*[:：]?\s*[^()\[\]\n]{1,120}\)",
        ),
        ("agency_credit", rf"\((?:[^()\n]{{1,80}}/)?{_OUTLETS}(?:/[^()\n]{{1,80}})?\)"),
        (
            "byline",
            rf"\ABy\s+{_PERSON}(?:\s*(?:,|and|&)\s*{_PERSON}){{0,3}}"
            r"(?:\s*[,|–—-]\s*[^\n]{0,60})?$",
        ),
        (
            "share_line",
            r"^(?:(?:Share|Tweet|Email|E-mail|Print|Facebook|Twitter|X|LinkedIn|WhatsApp|Reddit"
            r"|Pinterest|Copy link|Save)[\s,|/•·:]*){1,12}$",
        ),
        ("share_this", r"^(?:Share (?:this|on|via)\b|Share\s*:|Follow us (?:on|at)\b)[^\n]{0,80}$"),
        (
            # a text-to-speech player's controls:
            # "Listen to article ... Voice Speed 0.75X 1X 1.5X 2X"
            "audio_player",
            r"Listen to (?:this |the )?article\b[^\n]{0,300}?Speed(?:\s*Voice Speed)?"
            r"(?:\s*\d(?:\.\d+)?[Xx]\b)+\s*",
        ),
    )
)

#: lower-case strings one of which must occur before a pattern is tried, so a story pays
#: only for the patterns that can match it. The text is searched with a "\n" in front, so
#: "\nshare" means "a line starting with share".
_TRIGGERS: Final[dict[str, tuple[str, ...]]] = {
    "post_appeared_first": ("appeared first",),
    "originally_appeared": ("originally", "first appeared", "first published"),
    "continue_reading": ("continue reading",),
    "read_more": ("read more", "read the full", "read full"),
    "bracketed_ellipsis": ("[",),
    "sign_up": ("sign up",),
    "subscribe": ("subscribe",),
    "click_here": ("click here",),
    "browser_unsupported": ("your browser does not support",),
    "wire_dateline": ("newswire", "business wire", "accesswire"),
    "photo_credit_line": ("\nphoto", "\nimage", "\npicture", "\nvideo"),
    "credit_line": ("\ncredit", "\nsource", "\nimage source"),
    "photo_credit_inline": ("(photo", "(image", "(picture"),
    "agency_credit": (
        *("getty", "ap photo", "ap images", "shutterstock", "alamy", "istock"),
        *("epa)", "afp)", "/epa", "/afp", "(epa/", "(afp/"),
    ),
    "byline": ("\nby ",),
    "share_line": tuple(
        "\n" + word
        for word in "share tweet email e-mail print facebook twitter x linkedin whatsapp reddit "
        "pinterest copy save".split()
    ),
    "share_this": ("\nshare", "\nfollow us"),
    "audio_player": ("listen to",),
}

#: a space left before punctuation where an inline credit was removed (" +" spelt as a
#: literal then " *": the regex engine then only tries at spaces)
SPACE_BEFORE_PUNCT: Final = re.compile(r"  *(?=[.,;:!?](?:\s|$))")

#: patterns anchored at a line start: the words a match can start with. They are tried
#: at line starts that begin so instead of at every position (3-10x faster).
_LINE_STARTS: Final[dict[str, tuple[str, ...]]] = {
    "photo_credit_line": ("Photo", "Image", "Picture", "Video"),
    "credit_line": ("Credit", "Source", "Image source"),
    "share_line": (
        *("Share", "Tweet", "Email", "E-mail", "Print", "Facebook", "Twitter", "X"),
        *("LinkedIn", "WhatsApp", "Reddit", "Pinterest", "Copy link", "Save"),
    ),
    "share_this": ("Share", "Follow us"),
}
#: what a wire dateline always contains; the pattern itself is slow to search for
_WIRE_MARKERS: Final = tuple(
    f"({agency})"
    for agency in ("GLOBE NEWSWIRE", "BUSINESS WIRE", "PRNewswire", "PR Newswire", "ACCESSWIRE")
)
#: substrings shared by several triggers: the triggers are looked for only when it occurs
_GATES: Final = ("first", "read ", "wire", "ap ", "stock", "(", ")", "/")


def _gated_triggers() -> tuple[tuple[bytes, tuple[tuple[bytes, str], ...]], ...]:
    """The triggers that do not start a line, as (gate, ((trigger, pattern name), ...))."""
    groups: dict[bytes, list[tuple[bytes, str]]] = {}
    for name, words in _TRIGGERS.items():
        for word in words:
            if not word.startswith("\n"):
                gate = next((g for g in _GATES if g in word), word)
                groups.setdefault(gate.encode(), []).append((word.encode(), name))
    return tuple((gate, tuple(found)) for gate, found in groups.items())


_GATED: Final = _gated_triggers()
#: triggers that start a line ("\nshare"), without the "\n", and their pattern names
_LINE_TRIGGERS: Final = tuple(
    (word[1:].encode(), name)
    for name, words in _TRIGGERS.items()
    for word in words
    if word.startswith("\n")
)
_LINE_TRIGGER_STARTS: Final = tuple(word for word, _ in _LINE_TRIGGERS)


def triggered(text: str) -> set[str]:
    """Names of the boilerplate patterns one of whose triggers occurs in *text*.

    ``"\n" + text.lower()`` would be searched; lower-casing only ASCII letters finds the
    same triggers (they are ASCII) unless a character lower-cases to ASCII ("İ", the
    Kelvin sign), and in bytes it takes a tenth of the time. Triggers sharing a gate
    substring are only looked for when the gate occurs.
    """
    if "\u0130" in text or "\u212a" in text:
        lowered = "\n" + text.lower()
        return {name for name, words in _TRIGGERS.items() if any(w in lowered for w in words)}
    data = text.encode("utf-8", "surrogatepass").lower()
    found: set[str] = set()
    for gate, triggers in _GATED:
        if gate in data:
            found.update(name for word, name in triggers if word in data)
    starts = [line for line in data.split(b"\n") if line.startswith(_LINE_TRIGGER_STARTS)]
    if starts:
        found.update(
            name for word, name in _LINE_TRIGGERS if any(line.startswith(word) for line in starts)
        )
    return found


def remove_pattern(name: str, pattern: re.Pattern[str], text: str) -> tuple[str, int]:
    """``pattern.subn("", text)``, without searching where the pattern cannot match."""
    starts = _LINE_STARTS.get(name)
    if starts is not None:
        return _sub_at_line_starts(pattern, starts, text)
    if name == "wire_dateline" and not any(marker in text for marker in _WIRE_MARKERS):
        return text, 0
    return pattern.subn("", text)


def _sub_at_line_starts(
    pattern: re.Pattern[str], starts: tuple[str, ...], text: str
) -> tuple[str, int]:
    """``pattern.subn("", text)`` for a pattern whose matches start a line with *starts*.

    Like ``subn``, matches are found left to right and do not overlap.
    """
    kept: list[str] = []
    done = 0  # text[:done] is decided
    at = 0
    while True:
        if at >= done and text.startswith(starts, at):
            m = pattern.match(text, at)
            if m:
                kept.append(text[done:at])
                done = m.end()
        at = text.find("\n", at) + 1
        if at == 0:
            break
    if not kept:
        return text, 0
    kept.append(text[done:])
    return "".join(kept), len(kept) - 1
