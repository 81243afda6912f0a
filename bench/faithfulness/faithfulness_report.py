"""Summaries and target checks of :mod:`bench.faithfulness.faithfulness` records (pure functions of the per-text
records)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

GRADIENT_AND_LIME = ("integrated_gradients", "gradient_x_input", "lime")


def _mean(xs: list[float]) -> float | None:
    return round(float(np.mean(xs)), 4) if xs else None


def table(records: list[dict[str, Any]], methods: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per method: mean comprehensiveness and sufficiency, rank agreement with the reference, median seconds."""
    out = {}
    for name in methods:
        rows = [r["methods"][name] for r in records if name in r["methods"]]
        if not rows:
            continue
        out[name] = {"texts": len(rows),
                     "comprehensiveness": _mean([m["comprehensiveness"] for m in rows]),
                     "sufficiency": _mean([m["sufficiency"] for m in rows]),
                     "spearman_ref": _mean([m["spearman_ref"] for m in rows if "spearman_ref" in m]),
                     "same_top_ref": _mean([float(m["same_top_ref"]) for m in rows if "same_top_ref" in m]),
                     "median_s": round(float(np.median([m["seconds"] for m in rows])), 4)}
    return out


def summarise(records: list[dict[str, Any]], methods: Sequence[str]) -> dict[str, Any]:
    """The tables (all texts done; the texts with a reference), stability and the faithfulness line's cost."""
    with_ref = [r for r in records if "reference" in r["methods"]]
    stab = [r["stability"] for r in records if "stability" in r]
    live = [r["live_s"] for r in records]
    line = [r["live_s"] + r["line_s"] for r in records]
    return {
        "texts_done": len(records),
        "all_texts": table(records, methods),
        "reference_subset": table(with_ref, methods),
        "stability": {"sampled_texts": len(stab), "spearman_mean": _mean([s["spearman"] for s in stab]),
                      "top_word_changed": _mean([float(s["top_changed"]) for s in stab])},
        "faithfulness_line": {"weak_share": _mean([float(r["line"]["weak"]) for r in records if "line" in r]),
                              "gap_to_random_mean": _mean([r["line"]["comprehensiveness"] - r["line"]["random"]
                                                           for r in records if "line" in r]),
                              "live_p50_s": round(float(np.median(live)), 4) if live else None,
                              "live_with_line_p50_s": round(float(np.median(line)), 4) if line else None,
                              "line_p50_s": round(float(np.median([r["line_s"] for r in records])), 4)
                              if records else None},
    }


def _check(ok: bool | None, **numbers: Any) -> dict[str, Any]:
    return {"pass": ok, **numbers}


def targets(report: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, each with the numbers it compares and ``pass`` (None when a side is missing)."""
    ref_t, all_t = report.get("reference_subset", {}), report.get("all_texts", {})
    out: dict[str, Any] = {}
    if "ours" in ref_t and "reference" in ref_t:
        ours, ref = ref_t["ours"], ref_t["reference"]
        out["comprehensiveness >= reference - 0.01"] = _check(
            ours["comprehensiveness"] >= ref["comprehensiveness"] - 0.01, ours=ours["comprehensiveness"],
            reference=ref["comprehensiveness"])
        out["sufficiency <= reference + 0.01"] = _check(
            ours["sufficiency"] <= ref["sufficiency"] + 0.01, ours=ours["sufficiency"], reference=ref["sufficiency"])
        out["time <= reference / 30"] = _check(ours["median_s"] * 30 <= ref["median_s"], ours_s=ours["median_s"],
                                               reference_s=ref["median_s"],
                                               ratio=round(ref["median_s"] / max(ours["median_s"], 1e-9), 1))
    if "ours" in all_t:
        for name in GRADIENT_AND_LIME:
            if name in all_t:
                out[f"comprehensiveness >= {name}"] = _check(
                    all_t["ours"]["comprehensiveness"] >= all_t[name]["comprehensiveness"],
                    ours=all_t["ours"]["comprehensiveness"], other=all_t[name]["comprehensiveness"])
    line = report.get("faithfulness_line", {})
    if line.get("live_p50_s"):
        added = line["live_with_line_p50_s"] / line["live_p50_s"] - 1
        out["faithfulness line adds <= 25% to the live p50"] = _check(added <= 0.25, added=round(added, 4))
    stab = report.get("stability", {})
    if stab.get("sampled_texts"):
        out["sampled: spearman between seeds >= 0.9"] = _check(stab["spearman_mean"] >= 0.9,
                                                                spearman=stab["spearman_mean"])
        out["sampled: top word the same on >= 90%"] = _check(stab["top_word_changed"] <= 0.1,
                                                              changed=stab["top_word_changed"])
    return out
