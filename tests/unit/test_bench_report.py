"""The bench report: CPU per delivery shows the part spent in the server's child processes."""

from typing import Any

from bench import report


def _e(total: float | None, children: float | None) -> dict[str, Any]:
    return {"cpu_us_at_fixed": total, "cpu_us_children_at_fixed": children}


def test_cpu_at_fixed_names_the_child_processes_share() -> None:
    assert report._cpu_at_fixed(_e(33.8, 12.46)) == "33.8 (12.5 in child processes)"


def test_cpu_at_fixed_is_the_bare_figure_without_children() -> None:
    assert report._cpu_at_fixed(_e(13.1, 0.0)) == "13.1"
    assert report._cpu_at_fixed(_e(13.1, 0.01)) == "13.1"
    assert report._cpu_at_fixed(_e(13.1, None)) == "13.1"
    # Results written before the split was measured have no such field.
    assert report._cpu_at_fixed({"cpu_us_at_fixed": 9.5}) == "9.5"
    assert report._cpu_at_fixed(_e(None, None)) == report._num(None, 1)
