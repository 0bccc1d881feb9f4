"""The bench report: CPU per delivery shows the part spent in the server's child processes."""

from pathlib import Path
from typing import Any

import pytest

from bench import report


def _e(total: float | None, children: float | None) -> dict[str, Any]:
    return {"cpu_us_at_fixed": total, "cpu_us_children_at_fixed": children}


def test_cpu_at_fixed_names_the_child_processes_share() -> None:
    assert report._cpu_at_fixed(_e(33.8, 12.46)) == "33.8 (12.5 in child processes)"


def test_cpu_at_fixed_adds_havens_own_screening_time() -> None:
    e = {**_e(43.8, 8.1), "screen_at_fixed": {"us_per_msg": 187.4, "pct": 18.6}}
    assert report._cpu_at_fixed(e) == (
        "43.8 (8.1 in child processes; screening 187 µs a message, 19% of a core)"
    )
    e = {**_e(25.0, None), "screen_at_fixed": {"us_per_msg": 150.0, "pct": 15.0}}
    assert report._cpu_at_fixed(e) == "25.0 (screening 150 µs a message, 15% of a core)"


def test_cpu_at_fixed_is_the_bare_figure_without_children() -> None:
    assert report._cpu_at_fixed(_e(13.1, 0.0)) == "13.1"
    assert report._cpu_at_fixed(_e(13.1, 0.01)) == "13.1"
    assert report._cpu_at_fixed(_e(13.1, None)) == "13.1"
    # Results written before the split was measured have no such field.
    assert report._cpu_at_fixed({"cpu_us_at_fixed": 9.5}) == "9.5"
    assert report._cpu_at_fixed(_e(None, None)) == report._num(None, 1)


def _stepped(offers: list[tuple[float, float, bool]]) -> dict[str, Any]:
    """An (e) result from (offered, delivered, passed) steps, as bench/run.py writes it."""
    steps = [{"offered_deliveries_s": o, "delivered_s": d, "pass": ok} for o, d, ok in offers]
    best = max((s for s in steps if s["pass"]), key=lambda s: s["delivered_s"])
    return {"steps": steps, "max_sustained_step": best, "max_sustained_s": best["delivered_s"]}


def _targets(haven: dict[str, Any], socketio: dict[str, Any]) -> str:
    res = {
        "profile": {"name": "full", "e_fixed": 20_000, "a_rate": 2000},
        "targets": {"haven": {"e": haven}, "socketio-node": {"e": socketio}},
        "variants": {},
    }
    return "\n".join(report._targets_section(res))


def test_maxima_in_the_same_interval_of_the_search_are_level() -> None:
    # Both passed 100,000/s and failed 107,500/s: 99,980 against 100,000 delivered is noise.
    haven = _stepped(
        [(100_000, 99_980, True), (130_000, 129_990, False), (107_500, 107_550, False)]
    )
    socketio = _stepped(
        [(100_000, 99_990, False), (100_000, 100_000, True), (107_500, 107_490, False)]
    )
    row = next(r for r in _targets(haven, socketio).splitlines() if "1× Node socket.io" in r)
    assert "both passed 100,000/s and failed 107,500/s" in row
    assert row.endswith("| met |")


def test_maxima_in_different_intervals_compare_as_measured() -> None:
    haven = _stepped([(100_000, 99_980, True), (107_500, 107_550, False)])
    socketio = _stepped([(107_500, 107_500, True), (115_000, 114_990, False)])
    row = next(r for r in _targets(haven, socketio).splitlines() if "1× Node socket.io" in r)
    assert "both passed" not in row
    assert row.endswith("| **missed** |")


def test_the_machine_line_gives_the_box_speed_when_it_was_measured() -> None:
    line = report._speed({"python_loop_ms": 142.6, "python_loop_ms_at_end": 1_503.2})
    assert "took 143 ms at the start, 1,503 ms at the end" in line
    assert "at the end" not in report._speed({"python_loop_ms": 142.6})
    assert report._speed({}) == ""  # results written before the figure was measured


def test_the_speed_probe_times_its_loop() -> None:
    from bench import machine

    assert 0 < machine.python_loop_ms(rounds=1) < 60_000


def test_a_comparison_across_a_change_of_box_speed_says_so() -> None:
    haven = {**_stepped([(45_000, 44_620, True), (60_000, 60_000, False)]), "box_ms": [53, 60]}
    socketio = {**_stepped([(95_000, 95_000, True), (100_000, 99_000, False)]), "box_ms": [85, 94]}
    row = next(r for r in _targets(haven, socketio).splitlines() if "1× Node socket.io" in r)
    assert "; box 56 vs 90 ms)" in row
    # Within 20% of each other, or not recorded (results of earlier runs): nothing added.
    socketio["box_ms"] = [60, 66]
    row = next(r for r in _targets(haven, socketio).splitlines() if "1× Node socket.io" in r)
    assert "box" not in row
    del socketio["box_ms"]
    row = next(r for r in _targets(haven, socketio).splitlines() if "1× Node socket.io" in r)
    assert "box" not in row
    # Interleaved step-ups took turns on the same box, whatever their end points measured.
    socketio["box_ms"] = [85, 94]
    haven["interleaved"] = socketio["interleaved"] = True
    row = next(r for r in _targets(haven, socketio).splitlines() if "1× Node socket.io" in r)
    assert "box" not in row


def test_the_run_says_whether_the_step_ups_were_interleaved() -> None:
    def res(*flags: bool | None) -> dict[str, Any]:
        searches = [_stepped([(10_000, 10_000, True)]) for _ in flags]
        for e, flag in zip(searches, flags, strict=True):
            if flag is not None:
                e["interleaved"] = flag
        return {
            "targets": {f"t{i}": {"e": e} for i, e in enumerate(searches)},
            "variants": {"off": {"e": {"error": "not run"}}},
            "e_seconds": 412.4,
        }

    assert "one step of each in turn (412 s)" in report._order_line(res(True, True))[0]
    assert "after the previous" in report._order_line(res(True, False))[0]
    # Results written before the interleaving have no such field.
    assert "after the previous" in report._order_line(res(None, None))[0]
    assert report._order_line(res()) == []


def test_the_plot_keeps_its_axes_wide_whatever_the_range_of_rates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limit's label once took its place from the linear axis, far left of a log axis that
    # starts at 10,000: the layout then squeezed the plot into a third of the picture.
    # matplotlib comes with the bench's extras (`make bench`), not with `make test`'s.
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    closed: list[Any] = []
    monkeypatch.setattr(plt, "close", lambda fig=None: closed.append(fig))
    steps = [{"offered_deliveries_s": x, "p99_ms": x / 1000} for x in (10_000, 60_000, 200_000)]
    res = {
        "targets": {"haven": {"e": {"steps": steps}}},
        "profile": {"e_rooms": 50, "e_members": 20, "sender_fraction": 0.1},
    }
    assert report.plot(res, tmp_path / "plot.png")
    (fig,) = closed
    box = fig.axes[0].get_position()
    assert box.x0 < 0.15 and box.width > 0.75, box
