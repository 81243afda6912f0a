"""How the bf16 backend should cut its matrix products: rows per block and the multiple the last block is padded to.

oneDNN builds a bf16 matrix-product kernel for every new number of rows (:func:`core.backends._blocked_linear`).
Each setting explains the same held-out validation texts (``bench_explain_sampling.held_out_texts``: none
of the explain bench's 24, which are the report) at DistilBERT size (random weights), in its own fresh
process, so every setting starts with an empty kernel cache as the app does. Settings run in turn,
round after round, so the machine's load drifts over all of them alike. ``0`` blocks means one product
per call, no padding (the code before blocking). Prints one JSON object: the explain p50 and sum per
setting and round, and each setting's sum as a ratio of the unblocked one in the same round.

    python bench/bench_bf16_blocks.py                  # 40 texts, 3 rounds, 8 settings (about 8 minutes)
    python bench/bench_bf16_blocks.py --quick          # smoke run: 2 texts, 1 round, 2 settings
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import EMOTION, build_random_distilbert  # noqa: E402

SETTINGS = ((0, 1), (128, 16), (128, 32), (256, 16), (256, 32), (256, 64), (512, 32), (512, 64))
WARM_UP = "i feel a little nervous about tomorrow but mostly excited to see everyone again"


def one_setting(model_dir: Path, block: int, align: int, n_texts: int) -> dict[str, float]:
    """Explain the held-out texts with one setting (in this process); p50 and sum of the seconds."""
    import torch

    import core.backends as cb
    from bench.bench_explain_sampling import held_out_texts
    from core.explain import TokenShapExplainer
    from core.model import load_classifier

    torch.set_num_threads(2)
    cb.BF16_BLOCK_ROWS, cb.BF16_ALIGN_ROWS = (block, align) if block else (10**9, 1)
    texts = held_out_texts(EMOTION / "validation.txt", n_texts)
    clf = load_classifier(model_dir, backend="torch-bf16")
    explainer = TokenShapExplainer(clf.model, clf.tokenizer, clf.labels, cache_size=0, backend=clf.backend)
    explainer.explain(WARM_UP)
    secs = [explainer.explain(t).seconds for t in texts]
    return {"p50_s": round(statistics.median(secs), 4), "sum_s": round(sum(secs), 3)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--texts", type=int, default=40)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="smoke run: 2 texts, 1 round, 2 settings")
    p.add_argument("--setting", help=argparse.SUPPRESS)  # "block,align,model_dir": one child process
    args = p.parse_args(argv)
    if args.setting:
        block, align, model_dir = args.setting.split(",", 2)
        print(json.dumps(one_setting(Path(model_dir), int(block), int(align), args.texts)))
        return 0
    settings = SETTINGS[:1] + SETTINGS[3:4] if args.quick else SETTINGS
    texts, rounds = (2, 1) if args.quick else (args.texts, args.rounds)
    report: dict = {"bench": "bf16_blocks", "texts": texts, "rounds": [], "settings": {}}
    with tempfile.TemporaryDirectory(prefix="bench-blocks-") as tmp:
        model_dir = build_random_distilbert(Path(tmp) / "distilbert-random")
        for r in range(rounds):
            row = {}
            for block, align in settings:
                done = subprocess.run(
                    [sys.executable, __file__, "--texts", str(texts), "--setting", f"{block},{align},{model_dir}"],
                    cwd=ROOT, capture_output=True, text=True, check=True)
                row[f"{block},{align}"] = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"round {r + 1} {block},{align}: {row[f'{block},{align}']}", file=sys.stderr, flush=True)
            base = row["0,1"]["sum_s"]
            for v in row.values():
                v["sum_vs_unblocked"] = round(v["sum_s"] / base, 3)
            report["rounds"].append(row)
    for key in report["rounds"][0]:
        ratios = [row[key]["sum_vs_unblocked"] for row in report["rounds"]]
        report["settings"][key] = {"sum_vs_unblocked_median": round(statistics.median(ratios), 3),
                                   "sum_vs_unblocked": ratios}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
