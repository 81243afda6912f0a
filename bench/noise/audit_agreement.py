"""Agreement between two blind readers of the same audit rows, and each audit's shares: computed by code.

For each split with a second reader (``bench/data/emotion_<split>_audit_reader2.csv``, and a third,
``..._reader3.csv``, where one read the same rows, and ``..._reread.csv``, a whole independent second
read): Cohen's kappa (scikit-learn) over the four judgements,
and over *wrong* against the rest, on the rows both judged, with the raw agreement, for every pair.
For each committed audit: the share of wrong, ambiguous and not-emotion labels with 95%
intervals (:mod:`core.audit.estimate`: post-stratified, Wilson's interval at the effective sample size),
computed from its uniform rows (a simple random sample of the split).

    python bench/noise/audit_agreement.py --out bench/noise/results/audit_agreement.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.audit.estimate import share  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "bench" / "data"
SPLIT_ROWS = {"train": 16_000, "validation": 2_000, "test": 2_000}
OUTCOMES = ("wrong", "ambiguous", "not_emotion")


def agreement(first: pd.DataFrame, second: pd.DataFrame) -> dict:
    """Cohen's kappa of two readers on the rows both judged (by sample id)."""
    from sklearn.metrics import cohen_kappa_score

    both = first.merge(second, on="sample_id", suffixes=("_1", "_2"))
    a, b = both["judgement_1"].to_numpy(), both["judgement_2"].to_numpy()
    same_class = both["judgement_1"].eq("wrong") & both["judgement_2"].eq("wrong")
    return {"rows": int(len(both)), "agreement": float(np.mean(a == b)),
            "kappa": float(cohen_kappa_score(a, b)),
            "kappa_wrong_vs_rest": float(cohen_kappa_score(a == "wrong", b == "wrong")),
            "both_wrong": int(same_class.sum()),
            "both_wrong_same_class": int((same_class & both["correct_label_1"].eq(both["correct_label_2"])).sum())}


def shares(audit: pd.DataFrame, split_rows: int) -> dict:
    """Each outcome's share of the split from the audit's uniform rows, with its 95% interval."""
    uniform = audit[audit["sampling"] == "uniform"]
    strata = np.full(len(uniform), "all", dtype=object)
    out = {o: share(strata, uniform["judgement"].eq(o).to_numpy(), {"all": split_rows}).as_dict() for o in OUTCOMES}
    out["uniform_rows"] = int(len(uniform))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    report: dict = {}
    for split, rows in SPLIT_ROWS.items():
        path = DATA / f"emotion_{split}_audit.csv"
        if not path.is_file():
            continue
        audit = pd.read_csv(path, keep_default_na=False)
        report[split] = {"audit_rows": int(len(audit)), "shares_uniform": shares(audit, rows)}
        readers = {"first": audit}
        for name, suffix in (("second", "reader2"), ("third", "reader3"), ("reread", "reread")):
            path = DATA / f"emotion_{split}_audit_{suffix}.csv"
            if path.is_file():
                readers[name] = pd.read_csv(path, keep_default_na=False)
        names = list(readers)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                key = "second_reader" if (a, b) == ("first", "second") else f"{a}_vs_{b}"
                report[split][key] = agreement(readers[a], readers[b])
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
