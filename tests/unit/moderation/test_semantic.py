"""The semantic crisis screen: the MiniLM encoder (ONNX graph and numpy reference), the
classifier and its guard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.moderation.after_delivery import shared_screen
from app.moderation.embed import MAX_TOKENS, Encoder, model_dir
from app.moderation.normalise import matching_form
from app.moderation.semantic import SemanticCrisis, load_seeds, worth_screening
from app.moderation.stages.crisis import told_as_past_or_hypothetical
from app.moderation.verdict import CRISIS_KINDS


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder.load()  # the wheel is a runtime dependency: a missing model fails here


@pytest.fixture(scope="module")
def screen() -> SemanticCrisis:
    return shared_screen()


def cos(encoder: Encoder, a: str, b: str) -> float:
    return float(encoder.encode(a) @ encoder.encode(b))


# --- the encoder ------------------------------------------------------------------------------


def test_the_model_comes_from_the_installed_wheel() -> None:
    path = model_dir()
    assert path is not None and (path / "tokenizer.json").is_file()


def test_embeddings_are_unit_vectors_of_384(encoder: Encoder) -> None:
    v = encoder.encode("Hi everyone, I'm Sam, alcoholic.")
    assert v.shape == (384,) and v.dtype == np.float32
    assert abs(float(np.linalg.norm(v)) - 1) < 1e-5


def test_matches_the_reference_model(encoder: Encoder) -> None:
    # sentence-transformers' documentation, all-MiniLM-L6-v2 (torch): these two score 0.7553.
    assert cos(encoder, "A man is eating food.", "A man is eating a piece of bread.") == (
        pytest.approx(0.7553, abs=0.002)
    )


@pytest.mark.parametrize(
    ("a", "b", "unrelated"),
    [
        ("I want to end my life", "I'm going to kill myself", "The meeting starts at 7pm"),
        ("I relapsed last night", "I drank again yesterday", "My cat likes the window"),
        ("A man is playing a guitar.", "Someone plays an instrument.", "Stocks fell sharply."),
    ],
)
def test_paraphrases_are_closer_than_unrelated_text(
    encoder: Encoder, a: str, b: str, unrelated: str
) -> None:
    assert cos(encoder, a, b) > 0.5 > 0.2 > cos(encoder, a, unrelated)


@pytest.fixture(scope="module")
def reference() -> Encoder:
    return Encoder.load(runtime="numpy")


def test_the_onnx_graph_computes_what_the_numpy_reference_does(
    encoder: Encoder, reference: Encoder
) -> None:
    # The server runs the graph; the reference is the forward pass written out in numpy.
    assert encoder.runtime == "onnx"
    texts = [
        "Hi everyone, I'm Sam, alcoholic. 43 days today.",
        "i dont think i can survive tonight",
        "ok",
        "🙏🙏 thank you all ❤️",
        "one day at a time " * 200,  # cut at MAX_TOKENS
        "Ça va? Überall 日本語 текст",
    ]
    for text in texts:
        assert np.allclose(encoder.encode(text), reference.encode(text), atol=1e-5), text


def test_an_unknown_runtime_is_refused() -> None:
    with pytest.raises(ValueError, match="runtime"):
        Encoder.load(runtime="torch")  # type: ignore[arg-type]


def test_long_texts_are_truncated_and_batches_equal_singles(encoder: Encoder) -> None:
    long = "one day at a time " * 200
    assert len(encoder.tokens(long)) == MAX_TOKENS
    rows = encoder.encode_many(["hello there", long])
    assert np.allclose(rows[1], encoder.encode(long), atol=1e-6)
    assert encoder.encode_many([]).shape == (0, 384)


def test_missing_model_files_raise(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Encoder.load(tmp_path)


# --- seeds and the gate -----------------------------------------------------------------------


def test_seeds_cover_every_kind_and_counters() -> None:
    seeds = load_seeds()
    for section in (*CRISIS_KINDS, "counter"):
        assert len(seeds[section]) >= 5, section


def test_seed_format_errors() -> None:
    with pytest.raises(ValueError, match="unknown section"):
        load_seeds("[weather]\nsunny")
    with pytest.raises(ValueError, match="before the first section"):
        load_seeds("a phrase\n[suicide]\n")


@pytest.mark.parametrize(
    ("text", "worth"),
    [
        ("ok", False),
        ("lol", False),
        ("🙏🙏🙏", False),
        ("12345 6789", False),
        ("thanks!!!!!!!!!!", False),
        ("+1", False),
        ("ending it", True),
        ("I'm done with everything", True),
    ],
)
def test_cheap_gate(text: str, worth: bool) -> None:
    assert worth_screening(text) is worth


# --- the classifier ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # Fresh phrasings (neither in the seeds nor in the evaluation sets) the rules miss.
        "I've written a letter to each of my kids and tonight I'm finally going to be free",
        "I'm sitting on the edge of the roof",
        "I've put everything in order, it's time for me to go",
    ],
)
def test_new_phrasings_of_plans_and_farewells(screen: SemanticCrisis, text: str) -> None:
    assert screen.judge(text) == "suicide"


@pytest.mark.parametrize(
    "text",
    [
        "last year I wanted to die, today I'm one year sober",
        "I used to think everyone would be better off without me",
        "I'm not suicidal, just tired",
        "goodbye all, see you next Tuesday",
        "this meeting is killing me lol",
        "if you ever feel like ending it, call 988",
        "I picked up my 90 day chip tonight and my sponsor cried",
    ],
)
def test_shares_jokes_and_goodbyes_stay_shares(screen: SemanticCrisis, text: str) -> None:
    assert screen.judge(text) is None


def test_score_names_the_nearest_kind(screen: SemanticCrisis) -> None:
    score = screen.score("my boyfriend is turning blue and won't wake up after using")
    assert score.kind == "overdose" and score.crisis > score.counter


@pytest.mark.parametrize(
    ("text", "guarded"),
    [
        ("last year I wanted to die", True),
        ("I wanted to die", True),
        ("at my lowest I was saying goodbye to everyone", True),
        ("five years ago I wanted to end it all. today I'm here with my kids", True),
        ("if you ever want to die, call 988", True),
        ("I used to cut, now I'm cutting again", False),
        ("I wanted to die last year and I want to die again tonight", False),
        ("I want to die", False),
        ("it's time for me to go", False),
    ],
)
def test_tense_and_condition_guard(text: str, guarded: bool) -> None:
    assert told_as_past_or_hypothetical(matching_form(text)) is guarded


def test_a_story_or_a_condition_is_not_even_embedded(encoder: Encoder) -> None:
    """The guard runs before the ~13 ms embedding: under the busy-time budget a cancelled
    message costs microseconds, so more of the others get screened. Same verdicts."""
    embedded: list[str] = []

    def counting(text: str) -> np.ndarray:
        embedded.append(text)
        return encoder.encode(text)

    screen = SemanticCrisis(encoder, embed=counting)
    seeds = len(embedded)
    assert screen.judge("last year I wanted to die, today I'm one year sober") is None
    assert screen.judge("if you ever feel like ending it, call 988") is None
    assert len(embedded) == seeds  # neither was embedded
    assert screen.judge("I'm sitting on the edge of the roof") == "suicide"
    assert len(embedded) == seeds + 1
