"""The first explanations of a fresh process: what an analyst waits for after starting the app.

Each run starts a new Python process that loads emotion-minilm on the default backend, builds the
explainer, and times three explanations in order: a short text (exact path), a shorter one, and a
longer one (sampled path). ``--root`` runs another checkout's code the same way (for before/after
comparisons); runs alternate between the checkouts. Prints one JSON object.

    python bench/start/first_explain.py                      # 2 runs of this checkout
    python bench/start/first_explain.py --root ../old-checkout --runs 2
    python bench/start/first_explain.py --quick              # smoke run: 1 run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import MINILM  # noqa: E402

TEXTS = ("i feel so happy today", "i am scared",
         "i was so nervous before the interview but everyone there was kind and i think it went well")

CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
from core.explanation.explain import TokenShapExplainer
from core.classifier.model import load_classifier
clf = load_classifier({model!r})
explainer = TokenShapExplainer(clf.model, clf.tokenizer, clf.labels, backend=clf.backend)
out = []
for text in {texts!r}:
    t0 = time.perf_counter()
    att = explainer.explain(text)
    out.append({{"text": text, "seconds": round(time.perf_counter() - t0, 3), "evals": att.n_evals}})
print(json.dumps(out))
"""


def one_run(root: Path, model: Path) -> list[dict]:
    code = CHILD.format(root=str(root.resolve()), model=str(model), texts=TEXTS)
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", type=Path, action="append", default=[], help="another checkout to run alike")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--model", type=Path, default=MINILM)
    p.add_argument("--quick", action="store_true", help="smoke run: 1 run of this checkout")
    args = p.parse_args(argv)
    roots = [ROOT, *args.root]
    report: dict = {"bench": "first_explain", "model": args.model.name, "runs": {str(r): [] for r in roots}}
    for _ in range(1 if args.quick else args.runs):
        for root in roots:
            report["runs"][str(root)].append(one_run(root, args.model))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
