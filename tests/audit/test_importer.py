"""The audit CSV importer on a real SQLite store: bad rows refused with a reason, twice adds nothing,
and the report with 0, 3 and 40 judgements says no more than its rows allow."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.audit.auditor import Auditor
from core.audit.importer import import_audit_csv
from core.audit.report import audit_report, format_report
from core.review.store import ReviewStore

LABELS = ["sadness", "joy", "anger"]
KEY = "fp:validation"


def _auditor(tmp_path: Path, n: int = 100) -> Auditor:
    table = pd.DataFrame({"text": [f"tweet {i}" for i in range(n)], "label": [LABELS[i % 3] for i in range(n)]})
    return Auditor(ReviewStore(tmp_path / "r.sqlite"), KEY, table, labels=LABELS)


def _row(i: int, judgement: str = "right", **kw) -> dict:
    given = LABELS[i % 3]
    row = {"split": "validation", "sample_id": i, "text": f"tweet {i}", "given_label": given, "judgement": judgement,
           "correct_label": "", "reason": "", "sampling": "uniform", "stratum": "all", "weight": 1.0}
    if judgement == "wrong":
        row.update(correct_label=next(x for x in LABELS if x != given), reason="planted")
    return {**row, **kw}


def test_bad_rows_are_refused_with_their_reason_and_a_second_import_adds_nothing(tmp_path: Path) -> None:
    auditor = _auditor(tmp_path)
    rows = [_row(0), _row(1, "wrong"), _row(2, split="test"), _row(3, text="another text"),
            _row(4, given_label="anger" if LABELS[1] != "anger" else "joy"), _row(5, judgement="maybe"),
            _row(6, "wrong", reason=""), _row(7, stratum="top99"), _row(500), _row(0, "wrong")]
    path = tmp_path / "audit.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    result = import_audit_csv(auditor, path, split="validation")
    reasons = dict(result.refused)
    assert result.added == 2 and len(result.refused) == 8
    for line, needle in [(4, "split"), (5, "text differs"), (6, "given label"), (7, "unknown judgement"),
                         (8, "reason"), (9, "stratum"), (10, "not in 0..99"), (11, "blind judgement already")]:
        assert needle in reasons[line], (line, reasons[line])
    again = import_audit_csv(auditor, path, split="validation")
    assert (again.added, again.already) == (0, 2)
    assert auditor.decisions()["judgement"].tolist() == ["right", "wrong"]


def test_a_file_without_the_columns_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame({"text": ["x"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="missing columns"):
        import_audit_csv(_auditor(tmp_path), path, split="validation")


@pytest.mark.parametrize("n, wrong_every, too_early", [(0, 0, True), (3, 3, True), (40, 4, False)])
def test_the_report_on_0_3_and_40_judgements(tmp_path: Path, n: int, wrong_every: int, too_early: bool) -> None:
    auditor = _auditor(tmp_path)
    path = tmp_path / "audit.csv"
    pd.DataFrame([_row(i, "wrong" if wrong_every and i % wrong_every == 0 else "right") for i in range(n)]
                 ).to_csv(path, index=False)
    if n:
        import_audit_csv(auditor, path, split="validation")
    report = audit_report(auditor)
    text = format_report(report)
    assert report["too_early"] is too_early and report["decisions"] == n
    assert "None" not in text and "nan" not in text
    if too_early:
        assert "Too early to estimate" in text and "%" not in text
    else:
        assert report["rates"]["wrong"]["value"] == pytest.approx(10 / 40)
        assert "Estimator:" in text and "Expected wrong labels: 25 " in text


def test_the_committed_train_audit_imports_whole_and_its_weights_are_the_designs():
    from tests.conftest import EMOTION

    if not (EMOTION / "train.txt").is_file():
        pytest.skip("needs ../shared/emotion (the train split the committed audit judged)")
    from core.audit.importer import committed_audit
    from core.data.keys import content_key, text_hashes
    from core.data.splits import load_splits

    data = load_splits(EMOTION, splits=("train",))
    table = data.frame("train")
    hashes = text_hashes(table["text"].tolist())
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        auditor = Auditor(ReviewStore(Path(folder) / "r.sqlite"), content_key(hashes, "train"), table,
                          labels=data.label_names, text_hashes=hashes)
        path = committed_audit("train")
        result = import_audit_csv(auditor, path, split="train")
        committed = pd.read_csv(path, keep_default_na=False)
        assert (result.added, result.refused) == (len(committed), [])
        derived = auditor.decisions().set_index("sample_id")["weight"]
        assert committed.set_index("sample_id")["weight"].to_numpy() == pytest.approx(
            derived.loc[committed["sample_id"]].to_numpy(), abs=1e-3)
        assert derived.sum() == pytest.approx(len(table))
