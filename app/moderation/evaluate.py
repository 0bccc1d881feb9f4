"""Evaluate the default pipeline on labelled messages and (re)write the table in the docs.

    python -m app.moderation.evaluate                       # print the table
    python -m app.moderation.evaluate --write docs/moderation.md
    python -m app.moderation.evaluate --errors              # also list misjudged cases

Cases are JSON lines ``{"text", "labels": [...], "group"}`` (``tests/moderation/cases.jsonl``,
the development set the rules were tuned on, and ``tests/moderation/holdout.jsonl``, written
after the rules and not tuned on). Every case is screened as a member's message with the
default policy and no history, exactly like ``haven moderation check``.

Each set is scored twice: the rules alone (the pipeline), and the rules plus the semantic
crisis screen (``semantic.py``) as the rooms core runs it after delivery: on messages that are
delivered (not held or blocked), that the rules did not already flag as a crisis and that pass
the cheap gate. Every text is embedded once per process (``cached_embed``).
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .context import ScreenContext
from .embed import Array, Encoder, single_threaded_blas
from .pipeline import Pipeline, default_pipeline
from .report import REPORT_CATEGORIES, report_categories
from .semantic import SemanticCrisis, screens_semantically, worth_screening

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "moderation" / "cases.jsonl"
HOLDOUT = ROOT / "tests" / "moderation" / "holdout.jsonl"
START, END = "<!-- eval:start -->", "<!-- eval:end -->"
GROUPS = ("recovery_share", "crisis", "pii", "harassment", "spam", "tricky_negative")


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    labels: frozenset[str]
    group: str


@dataclass
class Scores:
    """Per-category confusion counts and group-level false-positive counts."""

    name: str
    cases: int = 0
    tp: dict[str, int] = field(default_factory=dict)
    fp: dict[str, int] = field(default_factory=dict)
    fn: dict[str, int] = field(default_factory=dict)
    group_sizes: dict[str, int] = field(default_factory=dict)
    harassment_on_shares: int = 0
    crisis_on_shares: int = 0
    flagged_shares: int = 0
    errors: list[tuple[Case, list[str]]] = field(default_factory=list)

    def precision(self, cat: str) -> float | None:
        d = self.tp.get(cat, 0) + self.fp.get(cat, 0)
        return None if d == 0 else self.tp.get(cat, 0) / d

    def recall(self, cat: str) -> float | None:
        d = self.tp.get(cat, 0) + self.fn.get(cat, 0)
        return None if d == 0 else self.tp.get(cat, 0) / d

    def support(self, cat: str) -> int:
        return self.tp.get(cat, 0) + self.fn.get(cat, 0)

    @property
    def shares(self) -> int:
        return self.group_sizes.get("recovery_share", 0)

    @property
    def harassment_fp_rate(self) -> float:
        return self.harassment_on_shares / self.shares if self.shares else 0.0


def load_cases(path: Path) -> list[Case]:
    """Read and validate a cases file (raises ValueError with the line number)."""
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        raw = json.loads(line)
        labels = frozenset(raw["labels"])
        if not labels or not labels <= set(REPORT_CATEGORIES) or raw["group"] not in GROUPS:
            raise ValueError(f"{path}:{n}: bad labels or group")
        if "ok" in labels and len(labels) > 1:
            raise ValueError(f"{path}:{n}: 'ok' cannot be combined with other labels")
        cases.append(Case(raw["text"], labels, raw["group"]))
    return cases


def cached_embed(encoder: Encoder) -> Callable[[str], Array]:
    """``encoder.encode`` remembering every text (the evaluation embeds each case once)."""
    return functools.cache(encoder.encode)


def semantic_screen() -> SemanticCrisis:
    """The semantic screen with a caching embedder, built once per process (seeds ~2 s).

    Raises FileNotFoundError when the model wheel is not installed (``make test`` installs it).
    """
    global _SEMANTIC
    if _SEMANTIC is None:
        single_threaded_blas()
        encoder = Encoder.load()
        _SEMANTIC = SemanticCrisis(encoder, embed=cached_embed(encoder))
    return _SEMANTIC


_SEMANTIC: SemanticCrisis | None = None


def score(
    name: str,
    cases: Iterable[Case],
    pipeline: Pipeline | None = None,
    semantic: SemanticCrisis | None = None,
) -> Scores:
    """Score the pipeline on ``cases``; with ``semantic``, the rules plus the semantic screen."""
    pipeline = pipeline or default_pipeline()
    ctx = ScreenContext()
    s = Scores(name)
    for case in cases:
        s.cases += 1
        s.group_sizes[case.group] = s.group_sizes.get(case.group, 0) + 1
        verdict = pipeline.screen(case.text, ctx)
        predicted = set(report_categories(verdict))
        if (
            semantic is not None
            and screens_semantically(verdict)
            and worth_screening(verdict.text)
            and semantic.judge(verdict.text) is not None
        ):
            predicted = (predicted - {"ok"}) | {"crisis"}
        for cat in REPORT_CATEGORIES:
            if cat in predicted and cat in case.labels:
                s.tp[cat] = s.tp.get(cat, 0) + 1
            elif cat in predicted:
                s.fp[cat] = s.fp.get(cat, 0) + 1
            elif cat in case.labels:
                s.fn[cat] = s.fn.get(cat, 0) + 1
        if case.group == "recovery_share":
            s.harassment_on_shares += "harassment" in predicted
            s.crisis_on_shares += "crisis" in predicted
            s.flagged_shares += predicted != {"ok"}
        if predicted != set(case.labels):
            s.errors.append((case, sorted(predicted)))
    return s


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


@dataclass(frozen=True, slots=True)
class Compared:
    """One set scored by the rules alone and by the rules plus the semantic screen."""

    rules: Scores
    combined: Scores


def comparison(results: Sequence[Compared]) -> list[str]:
    lines = [
        "**Rules alone vs rules + semantic crisis screen**",
        "",
        "| set | screen | crisis recall | crisis precision | recovery shares as crisis "
        "| other non-crisis as crisis | harassment FP on shares |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for label, s in (("rules", r.rules), ("rules + semantic", r.combined)):
            others = s.fp.get("crisis", 0) - s.crisis_on_shares
            lines.append(
                f"| {r.rules.name.split(' (')[0]} | {label} | {_pct(s.recall('crisis'))} "
                f"| {_pct(s.precision('crisis'))} | {s.crisis_on_shares}/{s.shares} "
                f"| {others}/{s.cases - s.support('crisis') - s.shares} "
                f"| {s.harassment_on_shares}/{s.shares} = {s.harassment_fp_rate:.1%} |"
            )
    return [*lines, ""]


def table(results: Sequence[Scores], compared: Sequence[Compared] = ()) -> str:
    """The markdown block written between the eval markers."""
    lines = [
        "Generated by `python -m app.moderation.evaluate --write docs/moderation.md`; do not "
        "edit by hand.",
        "",
    ]
    for s in results:
        lines += [
            f"**{s.name}** ({s.cases} messages: "
            + ", ".join(f"{s.group_sizes.get(g, 0)} {g}" for g in GROUPS)
            + ")",
            "",
            "| category | support | precision | recall |",
            "|---|---:|---:|---:|",
        ]
        for cat in REPORT_CATEGORIES:
            lines.append(
                f"| {cat} | {s.support(cat)} | {_pct(s.precision(cat))} | {_pct(s.recall(cat))} |"
            )
        lines += [
            "",
            f"- crisis recall: **{_pct(s.recall('crisis'))}** (target >= 0.95)",
            f"- harassment false positives on ordinary recovery shares: "
            f"**{s.harassment_on_shares}/{s.shares} = {s.harassment_fp_rate:.1%}** (target <= 2%)",
            f"- recovery shares flagged for anything: {s.flagged_shares}/{s.shares}; "
            f"as crisis: {s.crisis_on_shares}/{s.shares}",
            f"- messages whose categories differ from the labels: {len(s.errors)}/{s.cases}",
            "",
        ]
    if compared:
        lines += comparison(compared)
    return "\n".join(lines).rstrip() + "\n"


def write_doc(path: Path, block: str) -> None:
    """Replace the text between the eval markers in ``path`` (which must contain both)."""
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{path}: markers {START} / {END} not found")
    path.write_text(pattern.sub(lambda _: f"{START}\n{block}{END}", text), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.moderation.evaluate")
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--holdout", type=Path, default=HOLDOUT)
    parser.add_argument("--write", type=Path, help="markdown file with the eval markers")
    parser.add_argument("--errors", action="store_true", help="list misjudged cases")
    args = parser.parse_args(argv)
    sets = [("Development set (rules tuned on it)", load_cases(args.cases))]
    if args.holdout.exists():
        sets.append(
            ("Held-out set (written after the rules, not tuned on)", load_cases(args.holdout))
        )
    semantic = semantic_screen()
    compared = [
        Compared(score(name, cases), score(f"{name} + semantic", cases, semantic=semantic))
        for name, cases in sets
    ]
    results = [c.rules for c in compared]
    block = table(results, compared)
    sys.stdout.write(block)
    if args.errors:
        for s in [s for c in compared for s in (c.rules, c.combined)]:
            tag = s.name[:11] + ("+semantic" if s.name.endswith("semantic") else "")
            for case, predicted in s.errors:
                sys.stdout.write(
                    f"[{tag}] {case.group}: labels={sorted(case.labels)} "
                    f"got={predicted}: {case.text!r}\n"
                )
    if args.write:
        write_doc(args.write, block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
