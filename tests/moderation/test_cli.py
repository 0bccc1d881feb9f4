"""`haven moderation check`: JSON lines in, one verdict line out per input, in order."""

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from app.cli import app

LINES = [
    {"text": "Thanks for sharing, that hit home."},
    {"text": "I want to die tonight"},
    {"text": "call me at 555-123-4567"},
    {"text": "you're a worthless junkie"},
    {"text": "selling xanax bars dm me"},
]


def run(stdin: str, *args: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(app, ["moderation", "check", *args], input=stdin)
    out = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, out, result.stderr


def test_verdicts_in_order() -> None:
    code, out, _ = run("".join(json.dumps(x) + "\n" for x in LINES))
    assert code == 0
    assert out == [
        {"verdict": "allow", "categories": ["ok"], "reasons": []},
        {"verdict": "allow", "categories": ["crisis"], "reasons": ["crisis.suicide"]},
        {"verdict": "warn", "categories": ["pii"], "reasons": ["pii.phone"]},
        {"verdict": "hold", "categories": ["harassment"], "reasons": ["abuse.insult"]},
        {"verdict": "block", "categories": ["spam"], "reasons": ["spam.drug_sale"]},
    ]


def test_bad_lines_keep_their_place_and_fail_the_run() -> None:
    code, out, err = run('{"text": "hi"}\nnot json\n\n{"x": 1}\n{"text": "bye"}\n')
    assert code == 1
    assert [("error" in o) for o in out] == [False, True, True, False]
    assert "2 input line(s)" in err


def test_policy_file(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text('{"harassment": "block", "redact_pii": true}')
    code, out, _ = run(
        '{"text": "kys"}\n{"text": "call me at 555-123-4567"}\n', "--policy", str(policy)
    )
    assert code == 0
    assert [o["verdict"] for o in out] == ["block", "redact"]


def test_invalid_policy_file_exits_2(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text('{"harassment": "ban"}')
    code, out, err = run('{"text": "hi"}\n', "--policy", str(policy))
    assert code == 2 and out == [] and err.startswith("haven: invalid policy file")


def test_module_entry_point_streams_stdin() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "app.moderation.cli", "check"],
        input='{"text": "add me on insta @sober_sam_88"}\n{"text": "hello"}\n',
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["categories"] for o in out] == [["pii"], ["ok"]]
