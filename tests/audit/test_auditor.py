"""The blind audit on a real SQLite store: what a draw shows, what a decision needs, and that audit
decisions survive a restart and a sync like any decision."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.audit.auditor import AuditError, Auditor
from core.audit.report import audit_report, format_report
from core.review.store import ReviewStore
from core.review.sync import ReviewSync
from core.review.trust import EventRules

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
KEY = "fp:train"


def _table(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    label = rng.choice(LABELS, n)
    probs = rng.dirichlet(np.ones(6), n)
    table = pd.DataFrame({"text": [f"tweet number {i}" for i in range(n)], "label": label,
                          "pred": np.array(LABELS)[probs.argmax(1)], "confidence": probs.max(1),
                          "loss": rng.random(n), "mislabel_score": rng.random(n)})
    for j, name in enumerate(LABELS):
        table[f"prob_{name}"] = probs[:, j]
    return table


@pytest.fixture
def auditor(tmp_path: Path) -> Auditor:
    return Auditor(ReviewStore(tmp_path / "reviews.sqlite"), KEY, _table(), labels=LABELS)


def test_a_draw_shows_the_text_and_given_label_and_nothing_of_the_model(auditor: Auditor) -> None:
    draws = auditor.next("uniform", n=5) + auditor.next("stratified", n=5)
    for draw in draws:
        assert set(vars(draw)) == {"sample_id", "text", "label", "sampling", "stratum"}
        assert draw.text == auditor.table["text"].iat[draw.sample_id]
    assert all(d.stratum in ("top1", "top5", "top20") for d in draws[5:])


def test_the_reveal_comes_with_the_decision_and_the_next_draw_skips_it(auditor: Auditor) -> None:
    first = auditor.next("uniform")[0]
    reveal = auditor.decide(first.sample_id, "uniform", "right")
    assert reveal["pred"] == auditor.table["pred"].iat[first.sample_id]
    assert set(reveal["probs"]) == set(LABELS)
    assert auditor.next("uniform")[0].sample_id != first.sample_id


@pytest.mark.parametrize("kwargs, match", [
    ({"judgement": "wrong", "correct_label": None, "reason": "x"}, "needs the correct class"),
    ({"judgement": "wrong", "correct_label": "nonsense", "reason": "x"}, "needs the correct class"),
    ({"judgement": "wrong", "correct_label": "joy"}, "reason"),
    ({"judgement": "right", "correct_label": "joy"}, "only a wrong label"),
    ({"judgement": "maybe"}, "unknown judgement"),
])
def test_a_judgement_that_does_not_fit_is_refused_and_nothing_is_stored(auditor: Auditor, kwargs, match) -> None:
    sid = int(np.flatnonzero(auditor.table["label"] != "joy")[0])
    with pytest.raises(AuditError, match=match):
        auditor.decide(sid, "uniform", **kwargs)
    assert auditor.decisions().empty


def test_audit_decisions_survive_a_restart_and_a_sync(tmp_path: Path, auditor: Auditor) -> None:
    for sampling, n in (("uniform", 6), ("stratified", 3)):
        for i, draw in enumerate(auditor.next(sampling, n=n)):
            auditor.decide(draw.sample_id, draw.sampling, ("right", "ambiguous", "not_emotion")[i % 3], reviewer="ana")
    target = tmp_path / "target"
    rules = EventRules(labels=frozenset(LABELS), rows={KEY: len(auditor.table)})  # what a restore checks
    sync = ReviewSync(auditor.store, target.as_uri(), every_s=3600, rules=rules)
    assert sync.sync_now()
    sync.close()
    restarted = Auditor(ReviewStore(tmp_path / "reviews.sqlite"), KEY, auditor.table, labels=LABELS)
    fresh_store = ReviewStore(tmp_path / "elsewhere.sqlite")
    ReviewSync(fresh_store, target.as_uri(), every_s=3600, rules=rules).start().close()
    restored = Auditor(fresh_store, KEY, auditor.table, labels=LABELS)
    columns = ["sample_id", "judgement", "sampling", "stratum", "weight"]
    pd.testing.assert_frame_equal(restarted.decisions()[columns], auditor.decisions()[columns])
    pd.testing.assert_frame_equal(restored.decisions()[columns], auditor.decisions()[columns])
    assert len(auditor.decisions()) == 9


def test_the_report_counts_every_judgement_and_rates_every_signal(auditor: Auditor) -> None:
    table = auditor.table
    for draw in auditor.next("uniform", n=60):
        wrong = draw.sample_id % 4 == 0
        other = next(x for x in LABELS if x != draw.label)
        auditor.decide(draw.sample_id, "uniform", "wrong" if wrong else "right",
                       correct_label=other if wrong else None, reason="planted" if wrong else "")
    planted = (np.arange(len(table)) % 4 == 0).astype(float)
    report = audit_report(auditor, {"oracle": planted, "loss": table["loss"].to_numpy()})
    assert report["decisions"] == 60 and report["by_judgement"]["wrong"] == report["by_judgement"].get("wrong")
    assert report["signals"]["oracle"]["uniform"]["roc_auc"] == pytest.approx(1.0)
    assert report["signals"]["oracle"]["precision_top10"]["value"] == pytest.approx(1.0)
    assert 0.1 < report["rates"]["wrong"]["value"] < 0.45
    assert "| oracle |" in format_report(report)


def test_the_cli_refuses_a_missing_review_database_with_one_line(tmp_path: Path, capsys) -> None:
    from core.audit.__main__ import main

    assert main(["--data", str(tmp_path), "--review-db", str(tmp_path / "none.sqlite")]) == 2
    assert "no such review database" in capsys.readouterr().err


def test_the_report_lists_each_signal_of_the_shipped_ranking_and_the_ranking_itself(tmp_path: Path) -> None:
    from core.analysis.signals.shipped import SIGNAL_NAMES, WEIGHTS, shipped_score
    from core.audit.report import SHIPPED, signal_columns

    table = _table()
    rng = np.random.default_rng(1)
    for col in WEIGHTS:
        table[col] = rng.random(len(table))
    table["mislabel_score"] = shipped_score(table)  # as a trained-on split's analysis stores it
    auditor = Auditor(ReviewStore(tmp_path / "reviews.sqlite"), KEY, table, labels=LABELS)
    for i, draw in enumerate(auditor.next("uniform", n=30)):
        auditor.decide(draw.sample_id, "uniform", "wrong" if i % 3 == 0 else "right",
                       correct_label=next(x for x in LABELS if x != draw.label) if i % 3 == 0 else None,
                       reason="planted" if i % 3 == 0 else "")
    report = audit_report(auditor)
    assert {SHIPPED, "loss", *WEIGHTS} <= set(report["signals"]) and "mislabel_score" not in report["signals"]
    text = format_report(report)
    assert f"| {SHIPPED} |" in text and all(f"| {SIGNAL_NAMES[c]} (`{c}`) |" in text for c in WEIGHTS)
    assert "mislabel_score" in signal_columns(_table())  # a held-out table: the stored score keeps its name
    oof = table.copy()
    oof.attrs["source"] = "out-of-fold"  # as core.analysis.workspace.out_of_fold_table marks its re-rank
    names = signal_columns(oof)
    assert "mislabel_score" in names and SHIPPED not in names  # cleanlab's out-of-fold score is not the shipped one


def test_the_cli_audits_the_train_split_unless_told_otherwise() -> None:
    from core.audit.__main__ import parser

    assert parser().parse_args(["--review-db", "x"]).split == "train"
    assert parser().parse_args(["--review-db", "x", "--split", "validation"]).split == "validation"
