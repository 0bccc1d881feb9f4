"""The evaluation set: targets of issue 5 and the generated table in docs/moderation.md."""

from pathlib import Path

import pytest

from app.moderation.evaluate import (
    CASES,
    END,
    HOLDOUT,
    START,
    Compared,
    Scores,
    load_cases,
    score,
    semantic_screen,
    table,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "moderation.md"


@pytest.fixture(scope="module")
def development():  # type: ignore[no-untyped-def]
    return score("dev", load_cases(CASES))


def test_the_set_is_large_and_covers_every_group(development) -> None:  # type: ignore[no-untyped-def]
    assert development.cases >= 320
    assert development.shares >= 100
    for group in ("crisis", "pii", "harassment", "spam", "tricky_negative"):
        assert development.group_sizes[group] >= 25


def test_crisis_recall_target(development) -> None:  # type: ignore[no-untyped-def]
    assert development.recall("crisis") >= 0.95


def test_harassment_false_positive_target(development) -> None:  # type: ignore[no-untyped-def]
    assert development.harassment_fp_rate <= 0.02


@pytest.fixture(scope="module")
def compared(development: Scores) -> list[Compared]:
    semantic = semantic_screen()  # the model wheel is a test dependency: never skipped
    held_out = load_cases(HOLDOUT)
    return [
        Compared(development, score("dev", load_cases(CASES), semantic=semantic)),
        Compared(score("held-out", held_out), score("held-out", held_out, semantic=semantic)),
    ]


def test_semantic_screen_keeps_the_development_targets(compared: list[Compared]) -> None:
    dev = compared[0].combined
    assert dev.recall("crisis") >= 0.95
    assert dev.harassment_fp_rate <= 0.02
    assert dev.crisis_on_shares == 0  # tuned on this set: no share may be taken for a crisis


def test_semantic_screen_only_adds_crisis_flags(compared: list[Compared]) -> None:
    for c in compared:
        assert c.combined.recall("crisis") >= c.rules.recall("crisis")  # type: ignore[operator]
        for cat in ("pii", "harassment", "spam"):
            assert c.combined.tp.get(cat, 0) == c.rules.tp.get(cat, 0)
            assert c.combined.fp.get(cat, 0) == c.rules.fp.get(cat, 0)


def test_held_out_shares_are_not_treated_as_harassment() -> None:
    # The held-out set measures generalisation; its recall is reported, not asserted (see the
    # docs), but ordinary shares must stay unflagged on text the rules never saw.
    held_out = score("held-out", load_cases(HOLDOUT))
    assert held_out.harassment_fp_rate <= 0.02
    assert held_out.precision("crisis") in (None, 1.0) or held_out.precision("crisis") >= 0.9


def test_cases_are_unique() -> None:
    texts = [c.text for c in load_cases(CASES) + load_cases(HOLDOUT)]
    assert len(texts) == len(set(texts))


def test_docs_table_is_the_generated_one(compared: list[Compared]) -> None:
    doc = DOC.read_text(encoding="utf-8")
    block = doc.split(START, 1)[1].split(END, 1)[0]
    compared = [
        Compared(
            Scores(**{**vars(c.rules), "name": name}), Scores(**{**vars(c.combined), "name": name})
        )
        for c, name in zip(
            compared,
            ("Development set (rules tuned on it)", "Held-out set (written after the rules"),
            strict=True,
        )
    ]
    expected = table([c.rules for c in compared], compared)
    # Names differ between the CLI and this test; the figures must not.
    strip = lambda s: [line for line in s.splitlines() if line.startswith(("|", "-"))]  # noqa: E731
    assert strip(block) == strip(expected), (
        "run: python -m app.moderation.evaluate --write docs/moderation.md"
    )
