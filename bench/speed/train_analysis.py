"""What the mislabel signals add to an uncached analysis of the split the model trained on.

Runs ``python -m core.analysis.precompute --split train`` in a fresh process on an empty cache folder (so
every stage and every signal family is computed), then reads the stage times the analysis records in its
``meta.json`` (``stage_seconds``, ``signal_seconds``) and the process's wall time. ``--from-analysis DIR``
reads an analysis folder already built instead (its own record of an uncached run; wall time unknown).

    python bench/speed/train_analysis.py                          # emotion-minilm, dair-ai/emotion train split
    python bench/speed/train_analysis.py --from-analysis .cache/analysis/<key>
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import EMOTION, MINILM, app_env  # noqa: E402

OUT = ROOT / "bench" / "speed" / "results" / "train_analysis.json"


def summary(meta: dict) -> dict:
    """The analysis's total, its signals' share and each stage and family, from its ``meta.json``."""
    stages = meta.get("stage_seconds") or {}
    if "signals" not in stages:
        raise ValueError("this analysis computed no signals (not a trained-on split, or an older cache)")
    total = float(meta["seconds"])
    signals = float(stages["signals"])
    return {"split": meta.get("split"), "rows": meta.get("n_rows"), "model": meta.get("model"),
            "model_fingerprint": meta.get("model_fingerprint"), "backend": meta.get("backend"),
            "created": meta.get("created"), "analysis_s": round(total, 1), "signals_s": round(signals, 1),
            "without_signals_s": round(total - signals, 1), "signals_share": round(signals / total, 3),
            "stage_seconds": stages, "signal_seconds": meta.get("signal_seconds") or {}}


def run_cold(model: Path, data: Path, cache_dir: Path) -> tuple[Path, float]:
    """One uncached precompute of the train split in a fresh process: its analysis folder and wall seconds."""
    cmd = [sys.executable, "-m", "core.analysis.precompute", "--model", str(model), "--data", str(data),
           "--split", "train", "--cache-dir", str(cache_dir)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=app_env(), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"precompute failed ({done.returncode}):\n{done.stderr[-3000:]}")
    (folder,) = [m.parent for m in (cache_dir / "analysis").glob("*/meta.json")]
    return folder, wall


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=MINILM)
    p.add_argument("--data", type=Path, default=EMOTION)
    p.add_argument("--from-analysis", type=Path, help="an analysis folder already built (its meta.json)")
    p.add_argument("--out", type=Path, default=OUT, help=f"JSON file (default {OUT.relative_to(ROOT)})")
    args = p.parse_args(argv)
    if args.from_analysis:
        meta = args.from_analysis / "meta.json"
        if not meta.is_file():
            p.error(f"{args.from_analysis}: no meta.json (not an analysis folder)")
        wall, text = None, meta.read_text()
    else:
        with tempfile.TemporaryDirectory(prefix="train-analysis-") as tmp:
            folder, wall = run_cold(args.model, args.data, Path(tmp))
            text = (folder / "meta.json").read_text()
    try:
        report = summary(json.loads(text))
    except ValueError as err:
        p.error(str(err))
    report = {"bench": "train_analysis", "process_wall_s": None if wall is None else round(wall, 1), **report}
    print(json.dumps(report, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
