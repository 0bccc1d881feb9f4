"""The two shared prefilter scans of a message (see ``prefilter.py``).

- ``MATCHING``: patterns run on the matching form or the squeezed form (crisis, abuse,
  solicitation, impersonation); a message is scanned in both forms when they differ.
- ``DISPLAY``: patterns run on the display form (PII, links), case-insensitively.

``Message.matching_admitted()`` and ``Message.display_admitted()`` scan once per message and
keep the mask of the patterns that may match; a stage runs a registered pattern only when its
bit (what ``add`` returned) is set.
"""

from __future__ import annotations

from .prefilter import SharedScan

MATCHING = SharedScan("matching")
DISPLAY = SharedScan("display", fold_case=True)
