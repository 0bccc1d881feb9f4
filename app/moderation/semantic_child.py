"""The semantic crisis screen's child process (``python -m app.moderation.semantic_child``).

One JSON string per line on stdin (a delivered message's display form); one JSON object per
line on stdout: ``{"kind": <crisis kind or null>}``, or ``{"error": <exception type>}``. The
first line out is ``{"ready": true}`` once the model is loaded, or ``{"error": ...}`` when it
cannot be. The process ends when its stdin closes, which happens when the server exits, however
it exits. It never writes to stderr (the server starts it with stderr to /dev/null) and logs
nothing: a traceback could quote a message.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

NICENESS = 10
"""Below the server's event loop: on shared cores the screen takes idle CPU, not the loop's."""


def _say(obj: object) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> None:
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    try:
        from app.moderation.after_delivery import shared_screen

        screen = shared_screen()
    except (OSError, ValueError) as exc:
        _say({"error": type(exc).__name__})
        return
    # Building the model's graph passes its weights through temporary copies, ~65 MB of which
    # glibc would otherwise keep for the life of the process: give them back.
    from app.memory import trim

    trim()
    _say({"ready": True})
    for line in sys.stdin:
        try:
            kind = screen.judge(json.loads(line))
        except Exception as exc:  # noqa: BLE001 - one bad input must not end the screen
            _say({"error": type(exc).__name__})
        else:
            _say({"kind": kind})


if __name__ == "__main__":
    main()
