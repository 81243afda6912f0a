"""The served model judged on audited labels: for each split with a committed blind audit, its accuracy and
macro F1 on the given labels of the whole split and on the audited labels (:mod:`core.audit.verdict`), with
95% intervals, through the same analysis cache and code the app uses.

    python bench/noise/served_audited.py --out bench/noise/results/served_audited.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

REPO = Path(__file__).resolve().parents[2]


def evaluate(model: str, data: str, split: str, cache_dir: str) -> dict | None:
    """The served model on ``split``'s given and audited labels; ``None`` without a committed audit."""
    from sklearn.metrics import f1_score

    from core.analysis.precompute import analyse_split
    from core.audit.auditor import Auditor
    from core.audit.importer import audit_decisions, committed_audit
    from core.audit.verdict import audited_metrics
    from core.classifier.model import load_classifier
    from core.data.keys import content_key, text_hashes
    from core.data.splits import load_splits
    from core.review.store import ReviewStore

    if committed_audit(split) is None:
        return None
    loaded = load_splits(data, splits=(split,))
    clf = load_classifier(model, data_labels=loaded.label_names, cache_dir=cache_dir)
    table = analyse_split(clf, loaded, split, cache_dir=cache_dir, show_progress=False).analysis.table
    hashes = text_hashes(table["text"].tolist())
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        auditor = Auditor(ReviewStore(Path(folder) / "none.sqlite"), content_key(hashes, split), table,
                          labels=list(clf.labels), text_hashes=hashes)
        decisions, source = audit_decisions(auditor, split)
    audited = audited_metrics(table["pred"], table, decisions, list(clf.labels))
    return {"source": source, "rows": len(table),
            "given": {"accuracy": float((table["pred"] == table["label"]).mean()),
                      "macro_f1": float(f1_score(table["label"], table["pred"], average="macro"))},
            "audited": audited}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(REPO.parent / "shared" / "models" / "emotion-minilm"))
    p.add_argument("--data", default=str(REPO.parent / "shared" / "emotion"))
    p.add_argument("--cache-dir", default=str(REPO / ".cache"))
    p.add_argument("--splits", default="validation,test")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    report = {"model": Path(args.model).name}
    for split in args.splits.split(","):
        result = evaluate(args.model, args.data, split, args.cache_dir)
        if result is not None:
            report[split] = result
    text = json.dumps(report, indent=2, default=float)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
