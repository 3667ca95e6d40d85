"""The review store: Eq. 5 selection, two-stage decisions with history, failed samples."""

from __future__ import annotations

import pytest

from inspkit.errors import InputError
from inspkit.maintain.reviews import Attention, Decision, ReviewStore
from inspkit.store.workspace import Workspace


@pytest.fixture
def store(scored_ws):
    with Workspace.open(scored_ws) as ws:
        yield ReviewStore(ws.conn)


def test_alpha_half_selects_every_inspected_sample_and_smaller_alpha_fewer(store) -> None:
    every = store.queue(0.5)
    assert len(every) == 12
    p = sorted(abs(s.prediction.p_ok - 0.5) for s in every)
    alpha = (p[5] + p[6]) / 2
    assert len(store.queue(alpha)) == 6
    assert all(abs(s.prediction.p_ok - 0.5) <= alpha for s in store.queue(alpha))


@pytest.mark.parametrize("alpha", [-0.1, 0.51])
def test_alpha_out_of_range_is_refused(store, alpha) -> None:
    with pytest.raises(InputError, match="alpha"):
        store.queue(alpha)


def test_two_stages_history_and_the_last_decision_counts(store) -> None:
    a, b, c = (s.prediction for s in store.queue(0.5)[:3])
    store.record([Decision(a.sample_id, True)], "test")  # stage 1 only: still open
    assert not store.state(a.sample_id).done and not store.state(a.sample_id).failed
    store.record([Decision(a.sample_id, True, Attention.TRAINING_FAIL)], "test")
    store.record([Decision(b.sample_id, False)], "test")
    store.record([Decision(c.sample_id, True, Attention.WELL_TRAINED)], "test")
    failed = {f.sample_id: f.label for f in store.failed()}
    other = "OK" if b.predicted == "NG" else "NG"
    assert failed == {a.sample_id: a.predicted, b.sample_id: other}  # D_g keeps its label, D_f is corrected
    store.record([Decision(a.sample_id, True, Attention.WELL_TRAINED)], "test")  # changed their mind
    assert a.sample_id not in {f.sample_id for f in store.failed()}
    assert [h["attention"] for h in store.history(a.sample_id)] == [None, "training-fail", "well-trained"]


def test_bad_decisions_store_nothing(store) -> None:
    first = store.queue(0.5)[0].prediction
    with pytest.raises(InputError, match="not in the review queue"):
        store.record([Decision(first.sample_id, False), Decision(999_999, False)], "test")
    with pytest.raises(InputError, match="only asked for a right prediction"):
        store.record([Decision(first.sample_id, False, Attention.WELL_TRAINED)], "test")
    with pytest.raises(InputError, match="called right but labelled"):
        store.record([Decision(first.sample_id, True, label="OK" if first.predicted == "NG" else "NG")], "test")
    assert store.history(first.sample_id) == []
