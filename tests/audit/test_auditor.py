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


def _judge(auditor: Auditor, draw, judgement: str = "right", **kw) -> dict:
    if judgement == "wrong":
        kw = {"correct_label": next(x for x in LABELS if x != draw.label), "reason": "planted", **kw}
    return auditor.decide(draw.token, judgement, **kw)


def test_a_draw_shows_the_text_and_given_label_and_a_token_and_nothing_of_the_model(auditor: Auditor) -> None:
    draws = auditor.next("uniform", n=5) + auditor.next("stratified", n=5)
    for draw in draws:
        assert set(vars(draw)) == {"token", "sample_id", "text", "label", "sampling"}
        assert draw.text == auditor.table["text"].iat[draw.sample_id]
    assert all(auditor.strata[d.sample_id] in ("top1", "top5", "top20") for d in draws[5:])
    assert len({d.token for d in draws}) == 10


def test_draws_not_yet_judged_come_back_first_so_no_row_is_skipped(auditor: Auditor) -> None:
    first = auditor.next("uniform", n=3)
    again = auditor.next("uniform", n=5)
    assert [d.token for d in again[:3]] == [d.token for d in first]
    _judge(auditor, first[0])
    assert auditor.next("uniform", n=1)[0].token == first[1].token


def test_the_reveal_comes_with_the_decision_and_the_next_draw_skips_it(auditor: Auditor) -> None:
    first = auditor.next("uniform")[0]
    reveal = _judge(auditor, first)
    assert reveal["pred"] == auditor.table["pred"].iat[first.sample_id]
    assert set(reveal["probs"]) == set(LABELS)
    assert 1 <= reveal["ranking"]["rank"] <= len(auditor.table) and "loss" in reveal["signals"]
    assert auditor.next("uniform")[0].sample_id != first.sample_id


def test_a_token_is_accepted_once_and_only_if_this_server_issued_it(auditor: Auditor) -> None:
    draw = auditor.next("uniform")[0]
    with pytest.raises(AuditError, match="not issued"):
        auditor.decide("f" * 32, "right")
    _judge(auditor, draw)
    with pytest.raises(AuditError, match="already used"):
        auditor.decide(draw.token, "ambiguous")
    assert auditor.decisions()["judgement"].tolist() == ["right"]


def test_a_revealed_row_is_final_a_second_draw_of_it_is_refused_and_a_revision_leaves_the_estimate(
        tmp_path: Path, auditor: Auditor) -> None:
    draws = auditor.next("uniform", n=40)
    for i, d in enumerate(draws):
        _judge(auditor, d, "wrong" if i % 4 == 0 else "right")
    before = audit_report(auditor)["rates"]
    # a second issued draw of a judged row (as a replica's or a forged ledger would hold) is refused
    (stale,) = auditor.ledger.issue(KEY, [(draws[1].sample_id, "uniform:all")])
    with pytest.raises(AuditError, match="judged already"):
        auditor.decide(stale, "wrong", correct_label="joy" if draws[1].label != "joy" else "fear", reason="x")
    for d in draws[:10]:
        auditor.revise(d.sample_id, "ambiguous", reason="reread after the reveal")
    with pytest.raises(AuditError, match="reason"):
        auditor.revise(draws[11].sample_id, "ambiguous")
    assert audit_report(auditor)["rates"] == before and audit_report(auditor)["revised"] == 10
    frame = auditor.frame("train")
    assert (frame["revised_judgement"].notna().sum(), frame["judgement"].eq("wrong").sum()) == (10, 10)


def test_stratified_draws_of_another_ranking_are_left_out_and_said(tmp_path: Path, auditor: Auditor) -> None:
    for d in auditor.next("uniform", n=30):
        _judge(auditor, d, "wrong" if d.sample_id % 3 == 0 else "right")
    for d in auditor.next("stratified", n=12):
        _judge(auditor, d, "wrong")
    same = audit_report(auditor)
    assert same["used"] == 42 and "ranking shown now" in same["design"]
    assert auditor.decisions()["weight"].sum() == pytest.approx(len(auditor.table))  # derived, never stale
    reranked = auditor.table.assign(mislabel_score=np.random.default_rng(9).random(len(auditor.table)))
    later = Auditor(auditor.store, KEY, reranked, labels=LABELS)
    recorded = audit_report(later)  # every row drawn under the first ranking: its recorded strata hold
    assert recorded["used"] == 42 and f"drawn under ({auditor.digest})" in recorded["design"]
    for d in later.next("uniform", n=5):
        _judge(later, d)
    mixed = later.decisions(), audit_report(later)  # two designs: the uniform rows alone
    assert mixed[1]["used"] == 35 and "12 stratified judgements" in mixed[1]["design"]
    assert mixed[0].loc[mixed[0]["used"], "weight"].sum() == pytest.approx(len(reranked))


def test_a_tag_the_trust_check_refuses_is_never_estimated_from_and_never_crashes(auditor: Auditor) -> None:
    from core.review.trust import EventRules, check_event

    rules = EventRules(labels=frozenset(LABELS), rows={KEY: len(auditor.table)})
    event = {"event_id": "abcdef012345", "time": "2026-01-01T00:00:00+00:00", "dataset_key": KEY, "sample_id": 3,
             "action": "keep", "old_label": auditor.table["label"].iat[3], "audit": "uniform:foo"}
    assert check_event(event, rules)[1] == "refused"
    auditor.store.record(KEY, 3, action="keep", old_label=event["old_label"], audit="uniform:foo")  # an old file
    assert audit_report(auditor)["decisions"] == 0


@pytest.mark.parametrize("kwargs, match", [
    ({"judgement": "wrong", "correct_label": None, "reason": "x"}, "needs the correct class"),
    ({"judgement": "wrong", "correct_label": "nonsense", "reason": "x"}, "needs the correct class"),
    ({"judgement": "wrong", "correct_label": "joy"}, "reason"),
    ({"judgement": "right", "correct_label": "joy"}, "only a wrong label"),
    ({"judgement": "maybe"}, "unknown judgement"),
])
def test_a_judgement_that_does_not_fit_is_refused_and_nothing_is_stored(auditor: Auditor, kwargs, match) -> None:
    draw = next(d for d in auditor.next("uniform", n=20) if d.label != "joy")
    with pytest.raises(AuditError, match=match):
        auditor.decide(draw.token, **kwargs)
    assert auditor.decisions().empty
    _judge(auditor, draw)  # the token is still open: the refused judgement used nothing


def test_audit_decisions_survive_a_restart_and_a_sync(tmp_path: Path, auditor: Auditor) -> None:
    for sampling, n in (("uniform", 6), ("stratified", 3)):
        for i, draw in enumerate(auditor.next(sampling, n=n)):
            auditor.decide(draw.token, ("right", "ambiguous", "not_emotion")[i % 3], reviewer="ana")
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
        auditor.decide(draw.token, "wrong" if wrong else "right",
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
        auditor.decide(draw.token, "wrong" if i % 3 == 0 else "right",
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
