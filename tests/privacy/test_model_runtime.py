"""The semantic screen's model runtime writes nothing and has its telemetry off.

ONNX Runtime's Linux builds carry a telemetry client that, on import, writes a device id and a
debug log into the temporary directory. ``app/moderation/embed.py`` switches it off before the
library is imported, even when the environment asks for it on. Checked in a fresh interpreter
(the library reads the switch once, at import) with its own temporary directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import os
from app.moderation.embed import Encoder
import onnxruntime
encoder = Encoder.load()
assert encoder.runtime == "onnx"
encoder.encode("I am sitting on the edge of the roof")
print(os.environ["ORT_DISABLE_TELEMETRY"])
"""


def test_loading_and_running_the_model_writes_nothing_and_keeps_telemetry_off(
    tmp_path: Path,
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "ORT_DISABLE_TELEMETRY": "0"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
    assert list(tmp.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]
