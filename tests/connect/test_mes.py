"""The MES sinks (SQLite, PostgreSQL) and ``open_mes``: one row per part, replays ignored."""

from __future__ import annotations

import re
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from inspkit.connect.mes import (
    COLUMNS,
    MesError,
    MesRecord,
    PostgresMes,
    SqliteMes,
    open_mes,
    redact_url,
)
from inspkit.errors import ConnectError, InspkitError
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


# --- read back, threads --------------------------------------------------------------------------

def test_records_are_ordered_by_decision_time_then_serial(tmp_path: Path) -> None:
    mes = SqliteMes(tmp_path / "mes.db")
    records = [_record(3, decided_s=1.0), _record(1, decided_s=2.0), _record(2, decided_s=1.0),
               _record(4, line="L2", decided_s=0.5)]
    mes.record_many(records)
    assert [r.serial for r in mes.records()] == [4, 2, 3, 1]
    assert [r.serial for r in mes.records("L1")] == [2, 3, 1]
    assert mes.records("nowhere") == []
    assert mes.records("L2") == [records[3]]
    mes.close()


def test_sqlite_mes_may_be_used_from_another_thread(tmp_path: Path) -> None:
    mes = SqliteMes(tmp_path / "mes.db")
    added: list[int] = []
    worker = threading.Thread(target=lambda: added.append(mes.record_many([_record(1)])))
    worker.start()
    worker.join(10)
    assert added == [1] and mes.count() == 1
    mes.close()


# --- open_mes -------------------------------------------------------------------------------------

def test_open_mes_sqlite_relative_and_absolute(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = open_mes("sqlite:///rel.db")
    absolute = open_mes(f"sqlite:///{tmp_path / 'abs.db'}")  # an absolute path gives four slashes
    assert isinstance(relative, SqliteMes) and isinstance(absolute, SqliteMes)
    assert relative.record_many([_record(1)]) == 1 and absolute.record_many([_record(2)]) == 1
    relative.close()
    absolute.close()
    assert (tmp_path / "rel.db").is_file() and (tmp_path / "abs.db").is_file()


@pytest.mark.parametrize(("url", "says"), [
    ("mysql://u:hunter2@db/mes", "unknown scheme"),
    ("mes.db", "unknown scheme"),
    ("sqlite:///", "names no file"),
    ("sqlite://host/mes.db", "names no file"),
    ("postgresql://u:hunter2@db:5432/", "names no database"),
    ("postgresql://u:hunter2@db:abc/mes", "port that is not a number"),
    ("postgres://u:hunter2 x@db/mes", "malformed"),
    ("postgresql://u@db/mes?password=hunter2&bogus=1", "malformed"),
])
def test_open_mes_rejects_bad_urls_in_one_line_without_the_password(url: str, says: str) -> None:
    with pytest.raises(MesError) as caught:
        open_mes(url)
    message = str(caught.value)
    assert says in message and "expected sqlite:///" in message
    assert "hunter2" not in message and "\n" not in message


def test_open_mes_sqlite_in_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(MesError, match="check that its folder exists"):
        open_mes(f"sqlite:///{tmp_path / 'no' / 'such' / 'mes.db'}")


def test_unreachable_server_is_a_quick_one_line_mes_error() -> None:
    port = _closed_port()
    started = time.monotonic()
    with pytest.raises(MesError) as caught:
        open_mes(f"postgresql://inspkit:hunter2@127.0.0.1:{port}/mes")
    message = str(caught.value)
    assert time.monotonic() - started < 10
    assert "cannot connect to the MES" in message and f"127.0.0.1:{port}" in message
    assert "hunter2" not in message and "\n" not in message and "***" in message
    assert isinstance(caught.value, ConnectError) and isinstance(caught.value, InspkitError)


def test_redact_url() -> None:
    assert redact_url("postgresql://u:p%40ss@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact_url("postgresql://h:5432/db?password=x&sslmode=require") == \
        "postgresql://h:5432/db?password=***&sslmode=require"
    assert redact_url("sqlite:///a.db") == "sqlite:///a.db"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- PostgreSQL (INSPKIT_TEST_PG) -----------------------------------------------------------------

def test_postgres_round_trip(pg_url: str) -> None:
    mes = open_mes(pg_url)
    assert isinstance(mes, PostgresMes)
    records = [_record(1, vision_verdict=Verdict.OK, final_verdict=Verdict.NG, truth=Verdict.NG),
               _record(2, vision_verdict=None, model_verdict=None, p_ok=None, final_verdict="OK",
                       decided_by="vision", disposition="next", model_version=None),
               _record(2**40, truth=None, defect_type=None, p_ok=0.1 + 0.2)]
    assert mes.count() == 0
    assert mes.record_many(records) == 3
    assert mes.count() == 3
    back = mes.records()
    assert back == sorted(records, key=lambda r: (r.decided_s, r.serial))
    assert all(type(v) in (str, int, float, type(None)) for r in back for v in r)
    assert back[0].vision_verdict == "OK" and type(back[0].final_verdict) is str
    assert back[-1].p_ok == 0.1 + 0.2  # double precision keeps the float exactly
    mes.close()
    mes.close()  # a second close does nothing
    again = PostgresMes(pg_url)  # the table exists now: kept as it is
    assert again.count() == 3 and again.records("L1") == back and again.records("L2") == []
    again.close()


def test_postgres_replay_is_a_no_op_and_key_is_line_station_serial(pg_url: str) -> None:
    mes = PostgresMes(pg_url)
    assert mes.record_many([_record(1), _record(2)]) == 2
    assert mes.record_many([_record(2, final_verdict="OK"), _record(3)]) == 1
    assert mes.record_many([_record(1), _record(2), _record(3)]) == 0
    assert mes.record_many([]) == 0
    others = [_record(1, station="S2"), _record(1, line="L2"), _record(1, line="L2")]
    assert mes.record_many(others) == 2
    assert mes.count() == 5
    assert [r.final_verdict for r in mes.records("L1") if r.station == "S1"] == ["NG", "NG", "NG"]
    mes.close()


def test_postgres_records_order(pg_url: str) -> None:
    mes = PostgresMes(pg_url)
    mes.record_many([_record(3, decided_s=1.0), _record(1, decided_s=2.0),
                     _record(2, decided_s=1.0), _record(4, line="L2", decided_s=0.5)])
    assert [r.serial for r in mes.records()] == [4, 2, 3, 1]
    assert [r.serial for r in mes.records("L1")] == [2, 3, 1]
    mes.close()


def test_postgres_mes_may_be_used_from_other_threads(pg_url: str) -> None:
    mes = PostgresMes(pg_url)
    added: list[int] = []

    def write(start: int) -> None:
        added.append(mes.record_many(_record(i) for i in range(start, start + 50)))

    workers = [threading.Thread(target=write, args=(k * 50,)) for k in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert sorted(added) == [50] * 4 and mes.count() == 200
    mes.close()


def test_postgres_wrong_password_and_closed_connection(pg_url: str) -> None:
    wrong = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1not-the-password@", pg_url)
    with pytest.raises(MesError, match="cannot connect to the MES") as caught:
        PostgresMes(wrong)
    assert "not-the-password" not in str(caught.value)
    mes = PostgresMes(pg_url)
    mes.close()
    with pytest.raises(MesError, match="cannot write to the MES"):
        mes.record_many([_record(1)])
