"""``haven moderation check``: screen JSON lines from stdin with a policy, print verdicts.

Input, one JSON object per line: ``{"text": "..."}``. Output, one JSON line per input line in
the same order: ``{"verdict": "allow|warn|redact|hold|block", "categories": [...], "reasons":
[...]}`` with categories from crisis, pii, harassment, spam, ok. A line that is not such an
object gets ``{"error": "..."}`` and the command exits 1 at the end. Messages are screened
independently, as a member's messages in an open room with the given policy (default: the
default policy). Nothing is written anywhere else: no logs, no files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, TextIO

import typer

from .context import ScreenContext
from .pipeline import Pipeline, default_pipeline
from .policy import Policy, PolicyError
from .report import report_line

moderation_cli = typer.Typer(
    help="Moderation: check how the pipeline and a room policy judge messages.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@moderation_cli.callback()
def moderation() -> None:
    """Check how the pipeline and a room policy judge messages."""
    # A callback keeps this a command group, so "check" is a sub-command both under
    # `haven moderation` and with `python -m app.moderation.cli`.


def check_stream(source: TextIO, sink: TextIO, policy: Policy, pipeline: Pipeline) -> int:
    """Screen each JSON line of ``source`` into ``sink``; return the number of bad lines."""
    ctx = ScreenContext(role="member", policy=policy)
    bad = 0
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            item = None
        text = item.get("text") if isinstance(item, dict) else None
        if not isinstance(text, str):
            bad += 1
            out: dict[str, object] = {"error": f'line {number}: expected {{"text": string}}'}
        else:
            out = report_line(pipeline.screen(text, ctx))
        sink.write(json.dumps(out, ensure_ascii=False) + "\n")
        sink.flush()
    return bad


@moderation_cli.command("check")
def check(
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            help="JSON file of policy overrides, as stored in a meeting's policy.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Read {"text": ...} JSON lines on stdin; write one verdict JSON line per input."""
    try:
        overrides = json.loads(policy.read_text(encoding="utf-8")) if policy else None
        chosen = Policy.from_overrides(overrides)
    except (OSError, json.JSONDecodeError, PolicyError) as exc:
        typer.echo(f"haven: invalid policy file: {exc}", err=True)
        raise typer.Exit(2) from None
    bad = check_stream(sys.stdin, sys.stdout, chosen, default_pipeline())
    if bad:
        typer.echo(f'haven: {bad} input line(s) were not {{"text": string}} objects', err=True)
        raise typer.Exit(1)


if __name__ == "__main__":
    moderation_cli()
