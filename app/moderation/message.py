"""A message as the stages see it: the original text and its normalised forms."""

from __future__ import annotations

from typing import NamedTuple

from . import scans
from .normalise import DisplayText, display_text, matching_form_of_display, squeezed_of_matching


class Message(NamedTuple):
    """One message, normalised once and shared by every stage (read-only).

    - ``original``: what the sender typed (spans in a ``Verdict`` refer to it);
    - ``display``: the display form, what is delivered (spans in a ``StageResult`` refer to it);
    - ``matching``: the matching form, for rules and word lists;
    - ``squeezed``: the matching form with spaced-out words joined ("k y s" -> "kys");
    - ``offsets``: the display form's offset map; ``memo``: the prefilter masks, once computed.

    A named tuple: built for every message, it costs a fraction of a frozen dataclass.
    """

    original: str
    display: str
    matching: str
    squeezed: str
    offsets: DisplayText
    memo: dict[str, int]

    @classmethod
    def of(cls, text: str) -> Message:
        shown = display_text(text)
        matching = matching_form_of_display(shown.text)
        return cls(text, shown.text, matching, squeezed_of_matching(matching), shown, {})

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a display-form range ``[start, end)`` to the original text."""
        return self.offsets.to_original(start, end)

    def matching_admitted(self) -> int:
        """Mask of the ``scans.MATCHING`` patterns that may match the matching or the squeezed
        form (memoised: one scan per message)."""
        bits = self.memo.get("matching")
        if bits is None:
            if self.squeezed == self.matching:
                bits = scans.MATCHING.admitted(self.matching)
            else:
                bits = scans.MATCHING.admitted(self.matching, self.squeezed)
            self.memo["matching"] = bits
        return bits

    def display_admitted(self) -> int:
        """Mask of the ``scans.DISPLAY`` patterns that may match the display form (memoised)."""
        bits = self.memo.get("display")
        if bits is None:
            bits = self.memo["display"] = scans.DISPLAY.admitted(self.display)
        return bits
