"""Link policy: members may not post links in open rooms by default; facilitators may.

Finds URLs with a scheme, ``www.`` addresses, bare domains with a common top-level domain
("bit.ly/x", "example.com") and spelled-out ones ("example dot com"). Domains in
``policy.link_domains`` (and their subdomains) are allowed: members often point each other to
recovery resources. E-mail addresses are left to the PII stage.
"""

from __future__ import annotations

import re

from ..context import ScreenContext
from ..message import Message
from ..prefilter import _trie_regex
from ..scans import DISPLAY
from ..verdict import Span, StageResult

_TLDS = (
    "com|net|org|io|co|gg|ly|me|app|xyz|info|biz|tv|us|uk|ca|au|de|fr|ru|to|link|site|"
    "online|live|club|shop|top|store|page|dev|ai|in|nz|za|ng|ie|eu|gov|edu|ws|cc|tk|ml|ga|cf|"
    "gq|pw|su|cn|jp|br|es|it|nl|se|ch|at|be|pl|mx|ar|ly|sh|fm|am|im|vip|win|bet|casino|"
    "porn|xxx|sex|cam|icu|buzz|rest|fun|lol|click|bio|one|life|world|today|news|chat|social|"
    "stream|video|money|cash|loan|network|space|website|tech|cloud|email|group|support"
)
_URL = re.compile(
    r"(?:(?:https?|ftp)://|www\.)[^\s<>\"'`]+"
    r"|(?<![@\w.\-])(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+(?:" + _TLDS + r")"
    r"(?::\d{1,5})?(?:/[^\s<>\"'`]*)?(?![\w\-@])",
    re.IGNORECASE,
)
# "example dot com", "example[.]com", "example (dot) net": spelled out to slip past filters.
_SPELLED = re.compile(
    r"(?<![a-z0-9])[a-z0-9\-]{2,}\s*(?:\(dot\)|\[dot\]|\[\.\]|\(\.\)|\sdot\s)\s*(?:"
    + _TLDS
    + r")(?![a-z0-9])",
    re.IGNORECASE,
)
# What a match of _URL needs: a scheme or "www.", or a dot and a top-level domain ending there.
_URL_NEEDS = re.compile(
    r"://|www\.|\.(?:" + _trie_regex(_TLDS.split("|")) + r")(?![\w\-@])", re.IGNORECASE
)
_SCHEME = re.compile(r"^(?:(?:https?|ftp)://)?(?:www\.)?", re.IGNORECASE)
_EMAIL_NEIGHBOUR = re.compile(r"\sat\s*$|\(at\)\s*$|\[at\]\s*$", re.IGNORECASE)


def _host(url: str) -> str:
    rest = _SCHEME.sub("", url)
    host = re.split(r"[/:?#]", rest, maxsplit=1)[0]
    return host.lower().rstrip(".")


_G_URL = DISPLAY.add(_URL)
_G_SPELLED = DISPLAY.add(_SPELLED)


def find_links(display: str, admitted: int | None = None) -> list[tuple[int, int, str]]:
    """Links in a display-form text as ``(start, end, host)``; spelled-out ones have host ''.

    ``admitted``: the text's ``scans.DISPLAY`` mask when known (the regexes that cannot match
    are skipped)."""
    if admitted is None:
        admitted = DISPLAY.admitted(display)
    found = []
    if admitted & _G_URL and _URL_NEEDS.search(display):
        for m in _URL.finditer(display):
            url = m.group(0).rstrip(".,;:!?)]}")
            found.append((m.start(), m.start() + len(url), _host(url)))
    if not admitted & _G_SPELLED:
        return found
    for m in _SPELLED.finditer(display):
        # "name at gmail dot com" is an e-mail address: the PII stage reports it.
        if _EMAIL_NEIGHBOUR.search(display, 0, m.start()) is None and not any(
            s <= m.start() < e for s, e, _ in found
        ):
            found.append((m.start(), m.end(), ""))
    return found


def _allowed(host: str, domains: tuple[str, ...]) -> bool:
    return bool(host) and any(host == d or host.endswith("." + d) for d in domains)


class LinksStage:
    name = "links"

    def check(self, msg: Message, ctx: ScreenContext) -> StageResult | None:
        policy = ctx.policy
        if ctx.is_facilitator or policy.links == "allow":
            return None
        if "." not in msg.display and " dot " not in msg.matching:
            return None
        links = [
            (s, e)
            for s, e, host in find_links(msg.display, msg.display_admitted())
            if not _allowed(host, policy.link_domains)
        ]
        if not links:
            return None
        if policy.links == "warn" and ctx.confirmed:
            return None
        spans = tuple(Span(s, e, "spam") for s, e in links)
        return StageResult("spam", policy.links, ("links.not_allowed",), spans)
