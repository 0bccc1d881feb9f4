"""Verdict stability: every evaluation case screens exactly as recorded in the fixture.

Speed work on the pipeline must not change a single verdict. ``verdicts_expected.jsonl``
records, for every message of ``cases.jsonl`` and ``holdout.jsonl`` (screened under three
contexts), for a deterministic variant of each (upper case, look-alike letters, leetspeak,
invisible characters, two messages joined, ...) and for long and adversarial inputs: the
action, categories, reasons, spans, crisis kind and a digest of the delivered text.

A deliberate change of the rules (a new crisis pattern, a new case) changes the fixture:
regenerate it and review the diff like code.

    .venv/bin/python -m tests.moderation.test_verdicts_stable --write   # regenerate
    .venv/bin/python -m tests.moderation.test_verdicts_stable           # compare, list diffs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from app.moderation import Policy, ScreenContext, Verdict, default_pipeline, matching_form
from app.moderation.evaluate import CASES, HOLDOUT, load_cases
from bench.moderation_latency import long_inputs

FIXTURE = Path(__file__).with_name("verdicts_expected.jsonl")

_HOMOGLYPHS = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х"})
_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5"})


def _variant(i: int, text: str, following: str) -> str:
    """One deterministic variant of a case, chosen by its position (no randomness)."""
    kind = i % 8
    if kind == 0:
        return text.upper()
    if kind == 1:
        return text.translate(_HOMOGLYPHS)
    if kind == 2:
        return text.translate(_LEET)
    if kind == 3:
        return "\u200b".join(text[j : j + 3] for j in range(0, len(text), 3))
    if kind == 4:
        return f"{text} {following}"
    if kind == 5:
        return text + "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    if kind == 6:
        return "".join(c + "\u0301" if c.isalpha() else c for c in text)
    return text.replace(" ", "  \n ")


def adversarial_inputs() -> dict[str, str]:
    """Long and pathological messages (the benchmark's, up to the 2,000-character limit)."""
    return long_inputs()


def _contexts() -> dict[str, ScreenContext]:
    return {
        "member": ScreenContext(),
        "redact": ScreenContext(policy=Policy.from_overrides({"redact_pii": True})),
    }


def _record(verdict: Verdict) -> dict[str, object]:
    return {
        "action": verdict.action,
        "categories": sorted(verdict.categories),
        "reasons": list(verdict.reasons),
        "spans": [[s.start, s.end, s.category] for s in verdict.spans],
        "crisis_kind": verdict.crisis_kind,
        "text": hashlib.sha1(verdict.text.encode("utf-8", "surrogatepass")).hexdigest()[:12],
    }


def current() -> Iterator[dict[str, object]]:
    """Every recorded verdict, keyed by ``set``, ``id`` (the text, or a name) and ``ctx``."""
    pipeline = default_pipeline()
    contexts = _contexts()
    texts: list[tuple[str, str]] = [("dev", c.text) for c in load_cases(CASES)]
    texts += [("holdout", c.text) for c in load_cases(HOLDOUT)]
    for name, ctx in contexts.items():
        for source, text in texts:
            yield {"set": source, "id": text, "ctx": name, **_record(pipeline.screen(text, ctx))}
    # With history: the ten messages before, as the rooms core keeps them (near-duplicates).
    for k, (source, text) in enumerate(texts):
        recent = tuple(matching_form(t) for _, t in texts[max(0, k - 10) : k])
        ctx = ScreenContext(recent=recent, joined_s_ago=3600.0, sent_count=5)
        yield {"set": source, "id": text, "ctx": "history", **_record(pipeline.screen(text, ctx))}
    for k, (source, text) in enumerate(texts):
        variant = _variant(k, text, texts[(k + 1) % len(texts)][1])
        verdict = pipeline.screen(variant, contexts["member"])
        yield {"set": f"{source}-variant", "id": variant, "ctx": "member", **_record(verdict)}
    for name, text in adversarial_inputs().items():
        for ctx_name, ctx in contexts.items():
            verdict = pipeline.screen(text, ctx)
            yield {"set": "adversarial", "id": name, "ctx": ctx_name, **_record(verdict)}


def _key(record: dict[str, object]) -> tuple[str, str, str]:
    return (str(record["set"]), str(record["id"]), str(record["ctx"]))


def load_fixture() -> dict[tuple[str, str, str], dict[str, object]]:
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    records = (json.loads(line) for line in lines if line.strip())
    return {_key(r): r for r in records}


def differences() -> list[str]:
    expected = load_fixture()
    got = {_key(r): r for r in current()}
    out = []
    for key in sorted(expected.keys() | got.keys()):
        old, new = expected.get(key), got.get(key)
        if old != new:
            out.append(f"{key!r}:\n  expected {old}\n  got      {new}")
    return out


def test_every_verdict_is_as_recorded() -> None:
    diffs = differences()
    assert not diffs, (
        f"{len(diffs)} verdicts changed (if deliberate: "
        "python -m tests.moderation.test_verdicts_stable --write, and review the diff):\n"
        + "\n".join(diffs[:20])
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.moderation.test_verdicts_stable")
    parser.add_argument("--write", action="store_true", help="regenerate the fixture")
    args = parser.parse_args(argv)
    if args.write:
        lines = [
            json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            for r in current()
        ]
        FIXTURE.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {len(lines)} verdicts to {FIXTURE}")
        return 0
    diffs = differences()
    print("\n".join(diffs) if diffs else "all verdicts as recorded")
    print(f"{len(diffs)} differences", file=sys.stderr)
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main())
