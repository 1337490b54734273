"""Quality and speed benchmark of the extractive condenser.

Run from the repository root::

    python -m bench.quality            # table of ROUGE F1 and timings
    python -m bench.quality --show 3   # also print three condensed stories

ROUGE-1/2/L F1 of the condenser (lead + points joined) against Lead-k and TextRank-k on
the 100 BBC articles in ``bench/data/bbc`` (see ATTRIBUTION.md there). The references
are long extractive selections (about 40% of each article), so every system's recall is
capped by its length: compare systems of similar length (the "words" column), and do not
tune the condenser to this set. Baselines get the corpus's own sentence split; the
condenser gets prose (sentences of a paragraph joined by spaces) and splits it itself.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench.baselines import lead, textrank
from bench.rouge import Rouge, rouge, tokens
from bot.news.clean import clean_text
from bot.news.condense import condense

DATA = Path(__file__).parent / "data" / "bbc"


@dataclass(frozen=True)
class Article:
    name: str
    title: str
    paragraphs: list[list[str]]  # sentences per paragraph, as the corpus splits them
    reference: str

    @property
    def sentences(self) -> list[str]:
        return [s for p in self.paragraphs for s in p]

    @property
    def prose(self) -> str:
        return "\n\n".join(" ".join(p) for p in self.paragraphs)

    @property
    def html(self) -> str:
        return "".join(f"<p>{' '.join(p)}</p>\n" for p in self.paragraphs)


def load(data: Path = DATA) -> list[Article]:
    articles = []
    for path in sorted((data / "article").glob("*/*.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        paragraphs = [
            [line.strip() for line in block.splitlines() if line.strip()]
            for block in body.split("\n\n")
        ]
        reference = (data / "summary" / path.parent.name / path.name).read_text(encoding="utf-8")
        name = f"{path.parent.name}/{path.stem}"
        articles.append(Article(name, title.strip(), [p for p in paragraphs if p], reference))
    return articles


def condensed_text(article: Article, max_points: int = 3) -> str:
    c = condense(article.title, article.prose, max_points=max_points)
    return " ".join((c.lead, *c.points))


SYSTEMS = {
    "condense (lead + 3 points)": condensed_text,
    "condense (lead + 2 points)": lambda a: condensed_text(a, 2),
    "Lead-3": lambda a: " ".join(lead(a.sentences, 3)),
    "Lead-4": lambda a: " ".join(lead(a.sentences, 4)),
    "TextRank-3": lambda a: " ".join(textrank(a.sentences, 3)),
    "TextRank-4": lambda a: " ".join(textrank(a.sentences, 4)),
}


def score_all(articles: list[Article]) -> list[tuple[str, Rouge, float]]:
    rows = []
    for name, system in SYSTEMS.items():
        scores, lengths = [], []
        for article in articles:
            summary = system(article)
            scores.append(rouge(summary, article.reference))
            lengths.append(len(tokens(summary)))
        mean = Rouge(
            statistics.fmean(s.r1 for s in scores),
            statistics.fmean(s.r2 for s in scores),
            statistics.fmean(s.rl for s in scores),
        )
        rows.append((name, mean, statistics.fmean(lengths)))
    return rows


def timings(articles: list[Article], repeat: int = 5) -> dict[str, tuple[float, float]]:
    """Median and p95 over stories of each story's best-of-*repeat* time, in µs.

    Best-of-n per story filters out the noise of a shared machine (another process
    taking the core); the spread across stories is what the median and p95 describe.
    """
    jobs = {
        "condense(text)": lambda a: condense(a.title, a.prose),
        "clean_text(html) + condense": lambda a: condense(a.title, clean_text(a.html)),
    }
    out = {}
    for name, job in jobs.items():
        per_story = []
        for article in articles:
            best = float("inf")
            for _ in range(repeat):
                t0 = time.perf_counter_ns()
                job(article)
                best = min(best, (time.perf_counter_ns() - t0) / 1000)
            per_story.append(best)
        per_story.sort()
        out[name] = (statistics.median(per_story), per_story[int(len(per_story) * 0.95)])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", type=int, default=0, help="print N condensed stories")
    args = parser.parse_args()
    articles = load()
    ref_words = statistics.fmean(len(tokens(a.reference)) for a in articles)
    print(f"{len(articles)} BBC articles; references average {ref_words:.0f} words\n")
    print(f"{'system':<28} {'R-1':>6} {'R-2':>6} {'R-L':>6} {'words':>6}")
    for name, mean, words in score_all(articles):
        r1, r2, rl = (100 * x for x in (mean.r1, mean.r2, mean.rl))
        print(f"{name:<28} {r1:6.1f} {r2:6.1f} {rl:6.1f} {words:6.0f}")
    print(f"\n{'timing per story':<28} {'median µs':>10} {'p95 µs':>8}")
    for name, (median, p95) in timings(articles).items():
        print(f"{name:<28} {median:10.0f} {p95:8.0f}")
    for article in articles[: args.show]:
        c = condense(article.title, article.prose)
        print(f"\n[{article.name}] {c.headline}\n  {c.lead}")
        for point in c.points:
            print(f"  - {point}")


if __name__ == "__main__":
    main()
