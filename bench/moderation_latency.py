"""Moderation latency: CPU per ``Pipeline.screen`` call on the evaluation set and on long inputs.

    .venv/bin/python -m bench.moderation_latency [--rounds 20] [--long-rounds 5] [--json]

Measures the gating path as the rooms core calls it (one member's message, default policy,
ten recent messages of history), in this process, after one warm-up round. Two clocks: wall
time (what a message waits) and CPU time (``time.process_time_ns``: what it costs; unlike wall
time it does not grow when other processes share the 2 cores). Reported:

- the evaluation set (cases.jsonl + holdout.jsonl), and its ordinary shares (labelled ok,
  20-200 characters: the "typical message" of the latency budget);
- long and adversarial inputs up to the 2,000-character limit (``long_inputs()``).

Prints numbers only; nothing is asserted (targets: ~50 us CPU for a typical message, p99 <= 2
ms for any message up to 2,000 characters, on the project's 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

from app.moderation import ScreenContext, default_pipeline, matching_form
from app.moderation.evaluate import CASES, HOLDOUT, load_cases

_ENGLISH = (
    "Hi everyone, I'm Sam and I'm an alcoholic. Ninety days today, which I honestly never "
    "thought I would see. The cravings were brutal on Friday after work, but I called my "
    "sponsor instead of stopping at the bar, and we talked for an hour about the steps. "
)


def long_inputs() -> dict[str, str]:
    """Long and pathological messages (up to the 2,000-character limit), by name."""
    cases = [c.text for c in load_cases(CASES)]
    joined = ""
    for text in cases:
        if len(joined) + len(text) + 1 > 2000:
            break
        joined = f"{joined} {text}" if joined else text
    return {
        "a*2000": "a" * 2000,
        "1-space*1000": "1 " * 1000,
        "@a-space*600": "@a " * 600,
        "coffee*1999": "\u2615" * 1999,
        "english-2000": (_ENGLISH * 20)[:2000],
        "cases-joined": joined,
        "digits*2000": "1" * 2000,
        "phone-ish*180": "555-123-4567 " * 153,
        "dots*2000": "." * 2000,
        "a.b*660": "a.b " * 500,
        "you*500": "you " * 500,
        "im-the*400": "im the " * 285,
        "zalgo": ("z" + "\u0301\u0302\u0303\u0304\u0305\u0306" * 5) * 60,
        "zero-width*1000": "a\u200b" * 1000,
        "rtl": "\u202eI want to die\u202c " * 100,
        "cyrillic": "привет как дела " * 120,
        "mixed-emoji": "I'm 90 days sober \U0001f389\U0001f64f\u2764\ufe0f " * 70,
        "capitalised*400": "123 Main " * 222,
        "at-sign*1000": "@" * 2000,
        "newlines*1000": "hi\n" * 666,
        "i-want*300": "i want to " * 200,
        "spaced-letters": "k y s " * 333,
        "upper-english": (_ENGLISH.upper() * 20)[:2000],
        "name-after-im": "I'm Sam Smith and " * 111,
        "url-ish": "example.com/a " * 142,
        "mixed-punctuation": "ok. loser" + ".?" * 995 + "x",
    }


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def _summary(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "p50_ms": round(percentile(samples, 0.50), 4),
        "p90_ms": round(percentile(samples, 0.90), 4),
        "p99_ms": round(percentile(samples, 0.99), 4),
        "max_ms": round(samples[-1], 4),
        "mean_ms": round(statistics.fmean(samples), 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.moderation_latency")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--long-rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    cases = load_cases(CASES) + (load_cases(HOLDOUT) if HOLDOUT.exists() else [])
    texts = [c.text for c in cases]
    ordinary = {
        i
        for i, c in enumerate(cases)
        if c.labels == {"ok"}
        and c.group in ("recovery_share", "tricky_negative")
        and 20 <= len(c.text) <= 200
    }
    pipeline = default_pipeline()
    recent = tuple(matching_form(t) for t in texts[:10])
    ctx = ScreenContext(role="member", recent=recent, joined_s_ago=3600.0, sent_count=5)

    for text in texts:  # warm-up: compiled patterns, caches
        pipeline.screen(text, ctx)
    wall: list[float] = []
    cpu: list[float] = []
    cpu_ordinary: list[float] = []
    wall_clock, cpu_clock = time.perf_counter_ns, time.process_time_ns
    for _ in range(args.rounds):
        for i, text in enumerate(texts):
            w0, c0 = wall_clock(), cpu_clock()
            pipeline.screen(text, ctx)
            spent = (cpu_clock() - c0) / 1e6
            wall.append((wall_clock() - w0) / 1e6)
            cpu.append(spent)
            if i in ordinary:
                cpu_ordinary.append(spent)
    long_cpu: list[float] = []
    per_input: dict[str, float] = {}
    for name, text in long_inputs().items():
        pipeline.screen(text, ctx)
        spent_all = []
        for _ in range(args.long_rounds):
            c0 = cpu_clock()
            pipeline.screen(text, ctx)
            spent_all.append((cpu_clock() - c0) / 1e6)
        long_cpu += spent_all
        per_input[name] = round(statistics.median(spent_all), 3)
    result: dict[str, object] = {
        "messages": len(texts),
        "ordinary_messages": len(ordinary),
        "rounds": args.rounds,
        "samples": len(wall),
        "python": platform.python_version(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "wall": _summary(wall),
        "cpu": _summary(cpu),
        "cpu_ordinary": _summary(cpu_ordinary),
        "cpu_long": _summary(long_cpu),
        "cpu_long_median_ms": per_input,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"moderation screen() over {result['messages']} messages x {args.rounds} "
        f"(load average {result['load_average_1m']} on {os.cpu_count()} cores)"
    )
    for key, label in (
        ("wall", "wall, all"),
        ("cpu", "cpu, all"),
        ("cpu_ordinary", f"cpu, ordinary shares ({len(ordinary)})"),
        ("cpu_long", f"cpu, {len(per_input)} long inputs x {args.long_rounds}"),
    ):
        r = result[key]
        assert isinstance(r, dict)
        print(
            f"  {label:32s}: p50 {r['p50_ms']:.3f} ms, p90 {r['p90_ms']:.3f} ms, "
            f"p99 {r['p99_ms']:.3f} ms, max {r['max_ms']:.3f} ms"
        )
    print("  long inputs, median cpu ms: " + ", ".join(f"{k} {v}" for k, v in per_input.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
