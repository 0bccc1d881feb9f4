"""Moderation: a pure, synchronous pipeline that screens every message before delivery.

Public API (what the rooms core calls):

- ``default_pipeline(allowed_numbers=()) -> Pipeline``; ``Pipeline.screen(text, ctx) -> Verdict``
- ``ScreenContext``, ``Policy`` (``Policy.from_overrides(meeting.policy)``), ``PolicyError``
- ``Verdict``, ``Span``, ``Action``, ``Category``, ``CrisisKind``
- ``without_reviewer(verdict, policy)``: a held verdict when no facilitator is present
- ``crisis_hint(kind)``: the facilitator alert's suggested response
- ``matching_form(text)``: what to keep in ``ScreenContext.recent``
- ``pseudonym_problem(name, facilitator_names)``, ``is_confusable(a, b)``: join-time checks
- ``name_content_problem(name, pipeline)``, ``name_crisis(name, pipeline)``: what a name says
- ``load_resources(path, locale) -> CareCard``: the crisis resources card
"""

from .context import ScreenContext
from .names import name_content_problem, name_crisis
from .normalise import display_form, matching_form
from .pipeline import Pipeline, Stage, default_pipeline, without_reviewer
from .policy import Policy, PolicyError
from .resources import CareCard, CareLine, ResourcesError, default_card, load_resources
from .stages.crisis import hint as crisis_hint
from .stages.impersonation import is_confusable, pseudonym_problem
from .verdict import Action, Category, CrisisKind, Span, StageResult, Verdict

__all__ = [
    "Action",
    "CareCard",
    "CareLine",
    "Category",
    "CrisisKind",
    "Pipeline",
    "Policy",
    "PolicyError",
    "ResourcesError",
    "ScreenContext",
    "Span",
    "Stage",
    "StageResult",
    "Verdict",
    "crisis_hint",
    "default_card",
    "default_pipeline",
    "display_form",
    "is_confusable",
    "load_resources",
    "matching_form",
    "name_content_problem",
    "name_crisis",
    "pseudonym_problem",
    "without_reviewer",
]
