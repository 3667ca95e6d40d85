"""The report of a simulated run: summary numbers, report.md text, PNG plots."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from simulator.metrics import DayRow
from simulator.plots import model_updates, rolling, weighted_mean
from simulator.report import RunInfo, summarise, write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EVENT_DAY = 35  # appearance drift: model accuracy drops from 95 % to 80 %
WEEKS = 10


def _day(day: int, parts: int = 100, model_accuracy: float | None = 0.95, **kw: object) -> DayRow:
    """A working day (or a weekend when ``parts`` is 0) with simple, hand-checkable values."""
    if parts == 0:
        return DayRow(day, 0, 0, 0, None, None, None, None, None, None, None, 0.0, 24.0)
    values: dict[str, object] = {
        "defective": 4, "good_out": parts - 4, "fty": (parts - 4) / parts,
        "false_call_rate": 0.01, "escape_rate": 0.25, "model_accuracy": model_accuracy,
        "vision_accuracy": 0.9, "final_accuracy": 0.97, "throughput_per_h": parts / 8.0,
        "production_h": 8.0, "idle_h": 16.0, "model_version": "v0001", "events": ""}
    values.update(kw)
    return DayRow(day=day, parts=parts, **values)  # type: ignore[arg-type]


def _weeks(n: int = WEEKS) -> list[DayRow]:
    """``n`` weeks from a Monday; model accuracy 0.95 before EVENT_DAY, 0.80 from it."""
    rows = []
    for day in range(7 * n):
        if day % 7 >= 5:
            rows.append(_day(day, parts=0))
        else:
            acc = 0.95 if day < EVENT_DAY else 0.80
            event = "lighting" if day == EVENT_DAY else ""
            rows.append(_day(day, model_accuracy=acc, events=event))
    return rows


def _info(**kw: object) -> RunInfo:
    values: dict[str, object] = {
        "recipe": "cylinder-bonding", "seed": 7, "days_planned": 730, "goal": "fp-reduction",
        "parts_per_day": 100, "model": "v0001 (timm:resnet18)",
        "events": ((float(EVENT_DAY), "lighting"),),
        "command": "inspkit simulate --days 730 --seed 7", "wall_s": 12.5, "parts_per_s": 400.0,
        "time_shares": {"image generation": 0.41, "model inference": 0.35, "simulation": 0.24}}
    values.update(kw)
    return RunInfo(**values)  # type: ignore[arg-type]


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 10_000  # a drawn figure, not an empty canvas
    with Image.open(path) as image:
        assert image.size == (1100, 440)


def test_summarise_first_last_whole_windows() -> None:
    summary = {m: (f, l, w) for m, f, l, w in summarise(_weeks())}
    first, last, whole = summary["model_accuracy"]
    # 50 working days. First 30 = weeks 0-5: 25 days at 0.95, 5 (days 35-39) at 0.80.
    assert first == pytest.approx((25 * 0.95 + 5 * 0.80) / 30)
    # Last 30 = weeks 4-9: 5 days (28-32) at 0.95, 25 at 0.80.
    assert last == pytest.approx((5 * 0.95 + 25 * 0.80) / 30)
    assert whole == pytest.approx(0.875)
    assert summary["fty"] == pytest.approx((0.96, 0.96, 0.96))
    assert summary["idle_h"] == pytest.approx((16.0, 16.0, 16.0))  # weekends are not working days


def test_summarise_weights_by_parts() -> None:
    rows = [_day(0, parts=1, model_accuracy=0.0), _day(1, parts=99, model_accuracy=1.0)]
    summary = {m: (f, l, w) for m, f, l, w in summarise(rows, first_days=1)}
    assert summary["model_accuracy"] == pytest.approx((0.0, 1.0, 0.99))


def test_rates_weighted_by_their_own_denominators() -> None:
    # Escapes are pooled over defective parts: 1 of 1 escaped, then 0 of 9 -> 1/10.
    rows = [_day(0, defective=1, escape_rate=1.0, false_call_rate=0.0),
            _day(1, defective=9, escape_rate=0.0, false_call_rate=0.5)]
    assert weighted_mean(rows, "escape_rate") == pytest.approx(0.1)
    # False calls are pooled over good parts: 99 and 91 good parts.
    assert weighted_mean(rows, "false_call_rate") == pytest.approx(0.5 * 91 / 190)
    # Throughput pools parts over production hours: 300 parts in 10 h.
    rows = [_day(0, parts=100, throughput_per_h=50.0, production_h=2.0),
            _day(1, parts=200, throughput_per_h=25.0, production_h=8.0)]
    assert weighted_mean(rows, "throughput_per_h") == pytest.approx(30.0)


def test_summarise_skips_none_and_empty_windows() -> None:
    rows = [_day(0, model_accuracy=None), _day(1, parts=0), _day(2, model_accuracy=0.5)]
    summary = {m: (f, l, w) for m, f, l, w in summarise(rows, first_days=1)}
    assert summary["model_accuracy"] == (None, 0.5, 0.5)
    assert all(v is None for _, *vs in summarise([]) for v in vs)
    with pytest.raises(ValueError):
        summarise(rows, first_days=0)


def test_rolling_is_trailing_and_pooled() -> None:
    days_parts_acc = [(0, 1, 0.0), (1, 99, 1.0), (2, 100, 0.5)]
    rows = [_day(d, parts=p, model_accuracy=a) for d, p, a in days_parts_acc]
    days, means = rolling(rows, "model_accuracy", window=2)
    assert days == [0, 1, 2]
    assert means == pytest.approx([0.0, 0.99, (99 + 50) / 199])


def test_model_updates_ignore_gaps_and_go_live() -> None:
    rows = [_day(0), _day(1, parts=0), _day(2), _day(3, model_version="v0002"),
            _day(4, model_version="")]
    assert model_updates(rows) == [(3.0, "model v0002")]


def test_report_has_summary_table_plots_and_rerun(tmp_path: Path) -> None:
    files = write_report(tmp_path / "run", _weeks(), _info())
    text = files.report.read_text()
    assert files.report == tmp_path / "run" / "report.md"
    assert "| metric | first 30 working days | last 30 working days | whole run |" in text
    assert "| model accuracy | 92.50 % | 82.50 % | 87.50 % |" in text
    assert "| first-time yield | 96.00 % | 96.00 % | 96.00 % |" in text
    assert "| throughput (parts per production hour) | 12.5/h | 12.5/h | 12.5/h |" in text
    assert "70 of 730 planned days" in text
    assert "- day 35: lighting" in text
    assert "| image generation | 41.0 % |" in text
    assert "inspkit simulate --days 730 --seed 7" in text
    assert "Interrupted" not in text
    assert [p.name for p in files.plots] == ["accuracy.png", "quality.png", "line.png"]
    for path in files.plots:
        _assert_png(path)
        assert f"]({path.name})" in text
    assert not list((tmp_path / "run").glob(".*tmp"))  # no temp file left behind


def test_interrupted_run_says_so(tmp_path: Path) -> None:
    rows = _weeks(2)
    files = write_report(tmp_path, rows, _info(interrupted=True))
    text = files.report.read_text()
    assert ("**Interrupted after day 14 of 730 — this report covers the complete days only.**"
            in text)
    assert "- day 35: lighting (after the simulated days)" in text


def test_zero_rows(tmp_path: Path) -> None:
    files = write_report(tmp_path, [], _info(interrupted=True, time_shares={}))
    text = files.report.read_text()
    assert files.plots == ()
    assert "Interrupted after day 0 of 730" in text
    assert "no complete day was simulated" in text
    assert "![" not in text


def test_weekends_only_and_none_everywhere(tmp_path: Path) -> None:
    weekend = [_day(5, parts=0), _day(6, parts=0)]
    files = write_report(tmp_path / "a", weekend, _info())
    assert "no day had parts" in files.report.read_text()
    for path in files.plots:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
    blank: dict[str, object] = {
        "fty": None, "false_call_rate": None, "escape_rate": None, "model_accuracy": None,
        "vision_accuracy": None, "final_accuracy": None, "throughput_per_h": None,
        "model_version": ""}
    rows = [_day(d, **blank) for d in range(3)]  # type: ignore[arg-type]
    files = write_report(tmp_path / "b", rows, _info())
    assert "| model accuracy | — | — | — |" in files.report.read_text()
    for path in files.plots:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
