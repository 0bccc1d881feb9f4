"""Policy overrides and the crisis resources card."""

import json
from pathlib import Path

import pytest

from app.moderation import CareCard, Policy, PolicyError, load_resources
from app.moderation.resources import DEFAULT_CARD, ResourcesError


def test_defaults() -> None:
    p = Policy()
    assert (p.harassment, p.spam, p.impersonation, p.links) == ("hold", "block", "hold", "block")
    assert (p.newcomer_cooldown, p.newcomer_window_s) == (2, 300.0)
    assert p.review_fallback == "block" and p.redact_pii is False
    assert p.action_for("pii") == "warn" and p.action_for("crisis") == "allow"
    assert Policy.from_overrides(None) == p == Policy.from_overrides({})


def test_overrides_from_json() -> None:
    raw = json.loads(
        '{"harassment": "block", "redact_pii": true, "newcomer_window_s": 60,'
        ' "link_domains": ["WWW.Example.org"], "allowed_numbers": ["0800 555 0199"]}'
    )
    p = Policy.from_overrides(raw)
    assert p.harassment == "block" and p.action_for("pii") == "redact"
    assert p.newcomer_window_s == 60.0
    assert p.link_domains == ("example.org",) and p.allowed_numbers == ("08005550199",)
    assert Policy.from_overrides(p.to_overrides()) == p


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"harassment": "warn"}, "harassment"),
        ({"nonsense": 1}, "nonsense"),
        ({"newcomer_cooldown": -1}, "newcomer_cooldown"),
        ({"newcomer_cooldown": "2"}, "newcomer_cooldown"),
        ({"redact_pii": "yes"}, "redact_pii"),
        ({"link_domains": ["not a domain"]}, "link_domains"),
        ({"allowed_numbers": ["12"]}, "allowed_numbers"),
        ({"review_fallback": "hold"}, "review_fallback"),
    ],
)
def test_invalid_overrides_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        Policy.from_overrides(overrides)


def test_policy_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Policy.from_overrides([])  # type: ignore[arg-type]


def test_default_card_is_the_us_card() -> None:
    card = load_resources(None)
    assert card is DEFAULT_CARD
    contacts = {(line.contact, line.how) for line in card.lines}
    assert {
        ("988", "call"),
        ("988", "text"),
        ("1-800-662-4357", "call"),
        ("911", "call"),
    } <= contacts
    assert ("741741", "text") in contacts
    assert set(card.numbers()) >= {"988", "18006624357", "911", "741741"}
    wire = card.to_wire()
    assert wire["title"] and wire["lines"][0]["contact"] == "988"
    json.dumps(wire)


def test_operator_file_per_locale(tmp_path: Path) -> None:
    path = tmp_path / "resources.json"
    uk = {
        "title": "Help now",
        "lines": [{"name": "Samaritans", "contact": "116 123", "how": "call"}],
    }
    fr = {"title": "Aide", "lines": [{"name": "3114", "contact": "3114", "how": "call"}]}
    path.write_text(json.dumps({"en-GB": uk, "fr-FR": fr, "default": uk}))
    assert load_resources(path, "en-GB").lines[0].name == "Samaritans"
    assert load_resources(path, "EN-gb").locale == "en-GB"
    assert load_resources(path, "fr").title == "Aide"  # language match
    assert load_resources(path, "de-DE").locale == "default"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"en": {"title": "x", "lines": []}}', "lines"),
        ('{"en": {"title": "x", "lines": [{"name": "a", "contact": "1", "how": "fax"}]}}', "how"),
        (
            '{"en": {"title": "x", "lines": [{"name": "a", "contact": "1", "how": "call",'
            ' "url": "http://x"}]}}',
            "https",
        ),
        ('{"en": {"title": "x", "lines": [], "extra": 1}}', "extra"),
    ],
)
def test_invalid_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ResourcesError, match=message):
        load_resources(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ResourcesError, match="cannot read"):
        load_resources(tmp_path / "nope.json")


def test_card_is_frozen() -> None:
    with pytest.raises(ValueError):
        CareCard(title="x", lines=())
