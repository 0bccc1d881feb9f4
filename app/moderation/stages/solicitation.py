"""Solicitation: drug selling and commercial spam.

Dealers contacting people in early recovery is a real harm in these rooms, so an offer to sell
drugs is spam even without a link. Drugs are named freely in shares ("I used to buy xanax on
the street"), so a drug name alone never counts: it must come with an offer ("for sale",
"hmu", "dm me", "who wants", "delivery", "cash app").
"""

from __future__ import annotations

from ..context import ScreenContext
from ..message import Message
from ..normalise import compile_words
from ..scans import MATCHING
from ..verdict import StageResult

_DRUG = (
    r"bars?|xans?|xanax|percs?|percocets?|perc30s?|oxys?|oxycodone|oxycontin|roxys?|roxies|"
    r"blues|m30s?|fent|fentanyl|fenty|dope|molly|mdma|coke|cocaine|crack|weed|carts?|"
    r"pills|addys?|adderall|meth|tina|shrooms|lean|codeine|heroin|acid|ket|ketamine|"
    r"benzos?|klonopin|valium|opiates|subs|suboxone|kush|zaza|pressies|ecstasy|lsd|dmt"
)
_OFFER = (
    r"for sale|selling|sell (?:you|u|some)|hmu|hit me up (?:for|if)|dm me|dm for|pm me|"
    r"inbox me|who wants|anyone (?:want|need)s?|(?:need|want) a plug|plug here|your plug|"
    r"discreet|discrete|shipping|delivery|deliver|cash ?app|venmo me|zelle|in stock|"
    r"good prices?|best prices?|hook (?:you|u) up|wanna buy|want to buy|buy some|"
    r"got (?:some|plenty|lots) .{0,20}for"
)
_DRUG_RE = compile_words(_DRUG)
_OFFER_RE = compile_words(_OFFER + r"|cheap (?:" + _DRUG + r")")
_COMMERCIAL = compile_words(
    r"(?:earn|make) \$?\d[\d,]* (?:a|per|every) (?:day|week|hour|month)"
    r"|work(?:ing)? from home .{0,30}(?:\$|earn|income|opportunity)"
    r"|(?:free|cheap) (?:bitcoin|crypto|money|followers|likes|gift ?cards?|iphone)"
    r"|(?:bitcoin|crypto|forex|nft)s?\W.{0,30}(?:signals|profit|invest\w*|dm|join|earn)"
    r"|get rich (?:quick|fast|with|from|today|now)"
    r"|(?:signals|profit|invest\w*|earn) .{0,30}(?:bitcoin|crypto|forex|nft)s?"
    r"|only ?fans|buy (?:cheap )?followers|promo code|discount code|coupon code|\d+ ?% off"
    r"|click (?:here|this link|the link)|link in (?:my )?bio"
    r"|(?:sub|subscribe) to my|check out my (?:channel|page|store|shop|youtube|podcast|onlyfans)"
    r"|no prescription|without (?:a )?prescription|rehab money|free grant"
)

_G_DRUG = MATCHING.add(_DRUG_RE)
_G_OFFER = MATCHING.add(_OFFER_RE)
_G_COMMERCIAL = MATCHING.add(_COMMERCIAL)


class SolicitationStage:
    name = "solicitation"

    def check(self, msg: Message, ctx: ScreenContext) -> StageResult | None:
        text = msg.matching
        reasons: list[str] = []
        admitted = msg.matching_admitted()
        both = _G_DRUG | _G_OFFER
        if admitted & both == both and _DRUG_RE.search(text) and _OFFER_RE.search(text):
            reasons.append("spam.drug_sale")
        if admitted & _G_COMMERCIAL and _COMMERCIAL.search(text):
            reasons.append("spam.commercial")
        if not reasons:
            return None
        return StageResult("spam", ctx.policy.spam, tuple(reasons))
