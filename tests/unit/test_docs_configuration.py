"""docs/configuration.md lists every setting with its real default."""

import re
from pathlib import Path

import pytest
from pydantic_core import PydanticUndefined

from app.config import Settings, env_name

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
ROW = re.compile(r"^\| `(HAVEN_[A-Z0-9_]+)` \| ([^|]+) \|", re.MULTILINE)


def documented() -> dict[str, str]:
    return {name: default.strip() for name, default in ROW.findall(DOC.read_text())}


@pytest.mark.parametrize("field", list(Settings.model_fields))
def test_every_setting_is_documented_with_its_default(field: str) -> None:
    rows = documented()
    name = env_name(field)
    assert name in rows, f"{name} is missing from docs/configuration.md"
    default = Settings.model_fields[field].default
    if default is PydanticUndefined or default is None:
        return  # derived or unset: described in words
    shown = str(default).lower() if isinstance(default, bool) else str(default)
    assert rows[name] == f"`{shown}`", f"{name}: the doc says {rows[name]}, the code {shown}"


def test_no_documented_setting_is_unknown() -> None:
    fields = {env_name(field) for field in Settings.model_fields}
    assert set(documented()) <= fields
