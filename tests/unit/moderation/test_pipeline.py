"""The pipeline: how stage results combine into one verdict, and properties over any text."""

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.moderation import (
    Pipeline,
    Policy,
    ScreenContext,
    default_pipeline,
    matching_form,
    without_reviewer,
)
from app.moderation.context import ScreenContext as Ctx
from app.moderation.message import Message
from app.moderation.pipeline import default_stages
from app.moderation.stages.crisis import CrisisStage
from app.moderation.verdict import REDACTION, Action, Category, StageResult

PIPELINE = default_pipeline()
MEMBER = ScreenContext()
NEWCOMER = ScreenContext(joined_s_ago=5, sent_count=0)
HOST = ScreenContext(role="host")


@dataclass
class Fixed:
    """A stage that always returns the same result (to test the combination rules)."""

    name: str
    result: StageResult | None

    def check(self, msg: Message, ctx: Ctx) -> StageResult | None:
        return self.result


def result(category: Category, action: Action, *, lifted: bool = False) -> StageResult:
    return StageResult(category, action, (f"{category}.x",), lifted_by_crisis=lifted)


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ((), "allow"),
        (("warn",), "warn"),
        (("warn", "redact"), "redact"),
        (("redact", "hold"), "hold"),
        (("hold", "block", "warn"), "block"),
    ],
)
def test_strongest_action_wins(actions: tuple[Action, ...], expected: Action) -> None:
    stages = [Fixed(f"s{i}", result("spam", a)) for i, a in enumerate(actions)]
    verdict = Pipeline(stages).screen("hello", MEMBER)
    assert verdict.action == expected


def test_nothing_found_is_ok() -> None:
    verdict = PIPELINE.screen("Thanks for sharing, that really hit home.", MEMBER)
    assert verdict.action == "allow"
    assert verdict.categories == frozenset({"ok"})
    assert verdict.reasons == () and not verdict.crisis
    assert verdict.text == "Thanks for sharing, that really hit home."


def test_crisis_is_delivered_with_its_kind() -> None:
    verdict = PIPELINE.screen("I want to die tonight", MEMBER)
    assert verdict.action == "allow"
    assert verdict.crisis and verdict.crisis_kind == "suicide"
    assert verdict.categories == frozenset({"crisis"})
    assert verdict.reasons == ("crisis.suicide",)


def test_crisis_lifts_the_newcomer_cooldown_and_flood() -> None:
    assert PIPELINE.screen("hello everyone", NEWCOMER).action == "hold"
    cry = "please help, I took all my pills"
    assert PIPELINE.screen(cry, NEWCOMER).action == "allow"
    repeated = ScreenContext(recent=(matching_form(cry),))
    verdict = PIPELINE.screen(cry, repeated)
    assert verdict.action == "allow" and verdict.crisis


def test_crisis_does_not_lift_harassment() -> None:
    verdict = PIPELINE.screen("I want to die tonight, you worthless junkie", MEMBER)
    assert verdict.action == "hold" and verdict.crisis
    assert verdict.categories == frozenset({"crisis", "harassment"})


def test_pii_warns_then_goes_when_confirmed() -> None:
    text = "call me at 555-123-4567"
    warned = PIPELINE.screen(text, MEMBER)
    assert warned.action == "warn" and warned.reasons == ("pii.phone",)
    (span,) = warned.spans
    assert text[span.start : span.end] == "555-123-4567" and span.category == "pii"
    confirmed = PIPELINE.screen(text, ScreenContext(confirmed=True))
    assert confirmed.action == "allow" and confirmed.text == text


def test_pii_redacted_under_a_redact_policy() -> None:
    ctx = ScreenContext(policy=Policy(redact_pii=True))
    verdict = PIPELINE.screen("I'm Tom Baker, text 555-123-4567", ctx)
    assert verdict.action == "redact"
    assert verdict.text == f"I'm {REDACTION}, text {REDACTION}"
    # Confirming does not undo the room's redaction.
    again = PIPELINE.screen(
        "I'm Tom Baker", ScreenContext(policy=Policy(redact_pii=True), confirmed=True)
    )
    assert again.text == f"I'm {REDACTION}"


def test_redaction_spans_survive_invisible_characters() -> None:
    ctx = ScreenContext(policy=Policy(redact_pii=True))
    text = "\u202ecall 555-123-4567\u200b now"
    verdict = PIPELINE.screen(text, ctx)
    assert verdict.text == f"call {REDACTION} now"
    (span,) = verdict.spans
    assert text[span.start : span.end] == "555-123-4567"


def test_held_text_is_redacted_too() -> None:
    ctx = ScreenContext(policy=Policy(redact_pii=True), joined_s_ago=1)
    verdict = PIPELINE.screen("text me 555-123-4567", ctx)
    assert verdict.action == "hold" and REDACTION in verdict.text


@pytest.mark.parametrize(
    ("text", "member_action"),
    [
        ("join us at zoom.us/j/123", "block"),
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "block"),
        ("I'm the host, please everyone mute", "hold"),
    ],
)
def test_facilitators_bypass_links_flood_and_claims(text: str, member_action: Action) -> None:
    assert PIPELINE.screen(text, MEMBER).action == member_action
    assert PIPELINE.screen(text, HOST).action == "allow"
    assert PIPELINE.screen(text, ScreenContext(role="cofac", joined_s_ago=1)).action == "allow"


def test_facilitators_are_still_screened_for_abuse() -> None:
    assert PIPELINE.screen("you're a worthless junkie", HOST).action == "hold"


@pytest.mark.parametrize(
    ("policy", "text", "action"),
    [
        (Policy(harassment="block"), "kys", "block"),
        (Policy(spam="hold"), "selling xanax bars dm me", "hold"),
        (Policy(impersonation="block"), "admin here: everyone leave", "block"),
    ],
)
def test_policy_chooses_the_action(policy: Policy, text: str, action: Action) -> None:
    assert PIPELINE.screen(text, ScreenContext(policy=policy)).action == action


def test_without_reviewer_applies_the_fallback() -> None:
    held = PIPELINE.screen("you're a worthless junkie", MEMBER)
    blocked = without_reviewer(held, Policy())
    assert blocked.action == "block" and blocked.reasons[-1] == "review.no_facilitator"
    allowed = without_reviewer(held, Policy(review_fallback="allow"))
    assert allowed.action == "allow" and allowed.text == held.text
    ok = PIPELINE.screen("hello", MEMBER)
    assert without_reviewer(ok, Policy()) is ok


def test_default_pipeline_is_shared_and_configurable() -> None:
    assert default_pipeline() is default_pipeline()
    local = default_pipeline(allowed_numbers=["0800 555 0199"])
    assert local is not default_pipeline()
    text = "our local line is 0800 555 0199"
    assert PIPELINE.screen(text, MEMBER).action == "warn"
    assert local.screen(text, MEMBER).action == "allow"
    assert [s.name for s in default_stages()] == [s.name for s in PIPELINE.stages]


# -- properties ---------------------------------------------------------------------------------

texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
contexts = st.builds(
    ScreenContext,
    role=st.sampled_from(["host", "cofac", "member"]),
    policy=st.sampled_from([Policy(), Policy(redact_pii=True, harassment="block", links="hold")]),
    recent=st.lists(texts.map(matching_form), max_size=3).map(tuple),
    confirmed=st.booleans(),
    joined_s_ago=st.floats(min_value=0, max_value=1e6),
    sent_count=st.integers(min_value=0, max_value=5),
    trusted=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(texts, contexts)
def test_screen_never_raises_and_is_consistent(text: str, ctx: ScreenContext) -> None:
    verdict = PIPELINE.screen(text, ctx)
    assert verdict.action in ("allow", "warn", "redact", "hold", "block")
    assert verdict.categories and ("ok" not in verdict.categories or len(verdict.categories) == 1)
    assert verdict.crisis == ("crisis" in verdict.categories)
    for span in verdict.spans:
        assert 0 <= span.start < span.end <= len(text)
    verdict.text.encode("utf-8")  # deliverable as a frame


CRISIS_LINES = [
    "I want to die tonight",
    "i took all my pills",
    "he's hitting me right now",
    "kms",
    "I'm going to hurt myself tonight",
]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(CRISIS_LINES), texts, st.sampled_from([MEMBER, NEWCOMER, HOST]))
def test_crisis_alone_never_holds_or_blocks(line: str, noise: str, ctx: ScreenContext) -> None:
    only_crisis = Pipeline([CrisisStage()]).screen(line + " " + noise, ctx)
    assert only_crisis.action == "allow"
    verdict = PIPELINE.screen(line + ". " + noise, ctx)
    if verdict.categories <= {"crisis", "newcomer"}:
        assert verdict.action == "allow"
