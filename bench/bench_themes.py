"""Benchmark: recurring-theme discovery over 1,000 synthetic entries, limit 60 s.

The corpus is built deterministically from the hand-written synthetic evaluation set
(tests/process/data/theme_eval.json): each generated entry recombines sentences of two
entries that share a theme, in shuffled order, with varied opening and closing phrases, an
optional neutral sentence and a new date spread over three years, so that most
sentences are distinct and the model really has to embed thousands of them. Entries
built from process notes stay non-cacheable.

Reported for the real model (all-MiniLM-L6-v2 from the ``nlp`` extra), with phases
taken from :func:`discover_themes`'s own progress callback:

* model load (once per process),
* sentence splitting, embedding, and clustering (linkage, cut, labels, assembly),
* the end-to-end figure, load included, beside the 60 s limit,

and beside them a floor measured in the same run on the same text: splitting alone,
and the whole pipeline with the numpy-only hashing embedder. No cache is used, so
every sentence is embedded. The model run is repeated (``--repeat``, default 3) because
a shared 2-core machine makes single timings noisy; the slowest run, plus the load, is
judged against the limit, and exit status 1 means it was exceeded.

Run:  /work/nlp-venv/bin/python bench/bench_themes.py [--entries 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from reverie.process.embeddings import (
    NLP_INSTALL_HINT,
    Embedder,
    HashingEmbedder,
    MiniLMEmbedder,
    nlp_available,
)
from reverie.process.themes import Document, discover_themes, split_sentences

DATA = Path(__file__).resolve().parent.parent / "tests" / "process" / "data" / "theme_eval.json"
LIMIT_SECONDS = 60.0

_OPENERS = [
    "",
    "Once more, ",
    "This week ",
    "Honestly, ",
    "Looking back, ",
    "Again today ",
    "Strangely, ",
    "On Sunday ",
    "After work ",
    "Late at night ",
    "I notice that ",
    "Writing this down: ",
    "Last month ",
    "At the weekend ",
    "In the morning ",
    "Somehow ",
    "To be fair, ",
    "Oddly enough, ",
    "For the record, ",
    "Thinking about it, ",
    "Yesterday evening ",
    "Before the session ",
    "Over the holidays ",
    "Just now ",
]
_TAILS = [
    "",
    ", as usual",
    ", I think",
    " once again",
    ", if I am honest",
    " this time",
    ", of all things",
    ", again and again",
    " for a while",
    ", strangely",
]
_NEUTRAL = [
    "The train was twenty minutes late.",
    "It rained for most of the afternoon.",
    "I had coffee with Sam before work.",
    "The heating in the flat is broken again.",
    "We watched a film about sailing.",
    "My knee still hurts from running on Tuesday.",
    "I cooked lentil soup and froze half of it.",
    "The cat refused to come inside all evening.",
    "Spent the morning sorting out tax forms.",
    "Took the long way home through the park.",
]


def _vary(sentence: str, rng: random.Random) -> str:
    tail = rng.choice(_TAILS)
    if tail and sentence[-1:] in {".", "!", "?"}:
        sentence = sentence[:-1] + tail + sentence[-1]
    opener = rng.choice(_OPENERS)
    if not opener:
        return sentence
    # Lower-case the first letter unless it starts a name or the pronoun "I".
    head = sentence[:1]
    if sentence[:2] not in {"I ", "I'"} and not sentence[1:2].isupper():
        head = head.lower()
    return opener + head + sentence[1:]


def build_corpus(n_entries: int, seed: int = 2025) -> list[Document]:
    """``n_entries`` synthetic documents derived deterministically from the eval set."""
    if n_entries < 1:
        raise ValueError("n_entries must be at least 1")
    data = json.loads(DATA.read_text(encoding="utf-8"))
    by_theme: dict[str, list[dict[str, object]]] = {}
    for entry in data["entries"]:
        by_theme.setdefault(str(entry["theme"]), []).append(entry)
    themes = sorted(by_theme)
    rng = random.Random(seed)
    start = dt.date(2023, 1, 1)
    docs = []
    for i in range(n_entries):
        pool = by_theme[themes[i % len(themes)]]
        first, second = rng.sample(pool, 2)
        sentences = [s.text for s in split_sentences(str(first["text"]))]
        extra = [s.text for s in split_sentences(str(second["text"]))]
        sentences += rng.sample(extra, k=min(len(extra), rng.randint(1, 2)))
        rng.shuffle(sentences)
        sentences = [_vary(s, rng) for s in sentences]
        if rng.random() < 0.4:
            sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(_NEUTRAL))
        kind = str(first["kind"])
        docs.append(
            Document(
                id=f"bench-{i:05d}",
                kind=kind,
                date=start + dt.timedelta(days=rng.randrange(0, 3 * 365)),
                text=" ".join(sentences),
                cacheable=kind != "process_note",
            )
        )
    return docs


def timed_run(docs: list[Document], embedder: Embedder) -> dict[str, float]:
    """Run :func:`discover_themes` once and split its wall time into phases."""
    stamps: dict[str, float] = {}

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        stamps.setdefault("first", now)
        if done >= total - 2:
            stamps.setdefault("embedded", now)
        stamps["last"] = now
        stamps["total_units"] = float(total)

    began = time.perf_counter()
    themes = discover_themes(docs, embedder, progress=progress)
    ended = time.perf_counter()
    return {
        "split_s": stamps["first"] - began,
        "embed_s": stamps["embedded"] - stamps["first"],
        "cluster_s": ended - stamps["embedded"],
        "run_s": ended - began,
        "distinct_sentences": stamps["total_units"] - 2,
        "themes": float(len(themes)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed model runs; the slowest is judged"
    )
    args = parser.parse_args(argv)

    docs = build_corpus(args.entries)
    began = time.perf_counter()
    sentence_count = sum(len(split_sentences(d.text)) for d in docs)
    split_only = time.perf_counter() - began
    characters = sum(len(d.text) for d in docs)
    print(
        f"corpus: {len(docs)} synthetic entries, {sentence_count} sentences,"
        f" {characters:,} characters; {os.cpu_count()} CPU cores"
    )
    print(f"floor  split only (same text)             {split_only:7.3f} s")
    hashing = timed_run(docs, HashingEmbedder())
    print(
        f"floor  hashing embedder, whole pipeline    {hashing['run_s']:7.3f} s"
        f"  (embed {hashing['embed_s']:.3f} s, cluster {hashing['cluster_s']:.3f} s,"
        f" {int(hashing['themes'])} themes)"
    )

    if not nlp_available():
        print(f"all-MiniLM-L6-v2: not benchmarked; {NLP_INSTALL_HINT}")
        return 0

    began = time.perf_counter()
    model = MiniLMEmbedder()
    model.load()
    load_s = time.perf_counter() - began
    print(f"model  load (once per process)            {load_s:7.3f} s")
    runs = []
    for attempt in range(1, args.repeat + 1):
        real = timed_run(docs, model)
        runs.append(real)
        print(
            f"model  run {attempt}: split {real['split_s']:.3f} s | embedding"
            f" {real['embed_s']:7.3f} s ({int(real['distinct_sentences'])} distinct sentences,"
            f" {real['distinct_sentences'] / max(real['embed_s'], 1e-9):.0f}/s) |"
            f" clustering + labels {real['cluster_s']:.3f} s ({int(real['themes'])} themes)"
        )
    worst = max(load_s + r["run_s"] for r in runs)
    for name in ("embed_s", "cluster_s"):
        values = [r[name] for r in runs]
        print(
            f"summary {name[:-2]:10s} min {min(values):7.3f} s  median"
            f" {statistics.median(values):7.3f} s  max {max(values):7.3f} s"
        )
    verdict = "within" if worst <= LIMIT_SECONDS else "OVER"
    print(
        f"TOTAL  load + themes for {len(docs)} entries, slowest of {len(runs)} runs:"
        f" {worst:7.3f} s   limit {LIMIT_SECONDS:.0f} s: {verdict}"
    )
    return 0 if worst <= LIMIT_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
