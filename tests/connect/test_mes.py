"""The SQLite MES sink: one row per part, replays ignored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from inspkit.connect.mes import COLUMNS, MesRecord, SqliteMes
from inspkit.types import Verdict


def _record(serial: int, **kw: object) -> MesRecord:
    values: dict[str, object] = {
        "line": "L1", "station": "S1", "serial": serial, "shot_s": serial * 2.0,
        "decided_s": serial * 2.0 + 0.44, "vision_verdict": "OK", "model_verdict": "NG", "p_ok": 0.125,
        "final_verdict": "NG", "decided_by": "model", "disposition": "ng-buffer", "model_version": "v0001",
        "truth": "NG", "defect_type": "lump"}
    values.update(kw)
    return MesRecord(**values)  # type: ignore[arg-type]


def _rows(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT {', '.join(COLUMNS)} FROM inspections ORDER BY serial").fetchall()
    finally:
        conn.close()


def test_records_round_trip_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mes.db"
    mes = SqliteMes(path)
    records = [_record(1), _record(2, vision_verdict=None, model_verdict=None, p_ok=None,
                                   final_verdict="OK", decided_by="vision", disposition="next",
                                   model_version=None),
               _record(3, truth=None, defect_type=None)]
    assert mes.record_many(records) == 3
    assert [MesRecord(*row) for row in _rows(path)] == records
    mes.close()
    assert [MesRecord(*row) for row in _rows(path)] == records  # still there once closed


def test_truth_and_defect_type_default_to_none() -> None:
    record = MesRecord("L1", "S1", 1, 0.0, 0.5, "OK", None, None, "OK", "vision", "next", None)
    assert record.truth is None and record.defect_type is None


def test_verdict_enums_are_stored_as_text(tmp_path: Path) -> None:
    path = tmp_path / "mes.db"
    mes = SqliteMes(path)
    mes.record_many([_record(1, vision_verdict=Verdict.OK, model_verdict=Verdict.NG,
                             final_verdict=Verdict.NG, truth=Verdict.OK)])
    conn = sqlite3.connect(path)
    row = conn.execute("SELECT vision_verdict, model_verdict, final_verdict, truth, typeof(final_verdict)"
                       " FROM inspections").fetchone()
    conn.close()
    assert row == ("OK", "NG", "NG", "OK", "text")
    assert type(row[0]) is str
    mes.close()


def test_replayed_records_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "mes.db"
    mes = SqliteMes(path)
    assert mes.record_many([_record(1), _record(2)]) == 2
    # a replay of serial 2 (even with other values) plus one new part
    assert mes.record_many([_record(2, final_verdict="OK"), _record(3)]) == 1
    assert mes.record_many([_record(1), _record(2), _record(3)]) == 0
    assert mes.count() == 3
    rows = _rows(path)
    assert [r[2] for r in rows] == [1, 2, 3]
    assert rows[1][COLUMNS.index("final_verdict")] == "NG"  # the first record of a part stays
    mes.close()


def test_key_is_line_station_serial(tmp_path: Path) -> None:
    mes = SqliteMes(tmp_path / "mes.db")
    added = mes.record_many([_record(1), _record(1, station="S2"), _record(1, line="L2"), _record(1)])
    assert added == 3
    assert mes.count() == 3
    mes.close()


def test_count_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "mes.db"
    mes = SqliteMes(path)
    assert mes.count() == 0
    assert mes.record_many(_record(i) for i in range(10)) == 10  # any iterable
    assert mes.count() == 10
    mes.close()
    again = SqliteMes(path)  # opening an existing file keeps its rows
    assert again.count() == 10
    assert again.record_many([_record(10)]) == 1
    assert again.count() == 11
    again.close()


def test_empty_batch_adds_nothing(tmp_path: Path) -> None:
    mes = SqliteMes(tmp_path / "mes.db")
    assert mes.record_many([]) == 0
    assert mes.count() == 0
    mes.close()
