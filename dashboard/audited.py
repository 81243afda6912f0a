"""Words for the metrics on audited labels (:mod:`core.audit.verdict`), shared by Overview, Confusion and
Compare: every figure with its 95% interval and the number of audited rows behind it, the rows set apart
counted, and nothing pretended when no audit exists.

>>> audited_summary({"rows": 0, "source": "none"}).startswith("No blind audit of this split yet")
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from core.services.audits import format_p

NO_AUDIT = ("No blind audit of this split yet: the metrics above are against the given labels only. Judge rows "
            "on the Blind audit page, or import a committed audit there.")


def pct(est: Mapping) -> str:
    """``81.0% (77.2–84.4%)``, or a dash for a missing figure."""
    if not est or est.get("value") is None or not math.isfinite(est["value"]):
        return "–"
    return f"{100 * est['value']:.1f}% ({100 * est['low']:.1f}–{100 * est['high']:.1f}%)"


def _apart(m: Mapping) -> str:
    a = m.get("set_apart", {})
    return f"{a.get('ambiguous', 0)} ambiguous and {a.get('not_emotion', 0)} not-emotion rows set apart"


def audited_summary(m: Mapping) -> str:
    """The served model on the audited labels, in Markdown."""
    if m.get("problem"):
        return f"The metrics on audited labels are unavailable: {m['problem']}"
    if not m.get("rows"):
        return NO_AUDIT
    head = (f"**On the audited labels** ({m['rows']} audited rows from {m['source']}; {_apart(m)}; "
            f"{m['wrong_labels']} given labels judged wrong)")
    if m.get("too_few"):
        return head + ": too few rows for an interval; counts only."
    f1 = m["macro_f1"]
    return (f"{head}: accuracy **{pct(m['accuracy'])}**, macro F1 {f1['value']:.3f} "
            f"({f1['low']:.3f}–{f1['high']:.3f}). "
            f"Against the given labels of the same rows: accuracy {pct(m['given_accuracy'])}. "
            f"On the rows whose given label is wrong, the model predicts the audited class "
            f"{pct(m['wrong_rows_fixed'])} of the time.")


def compare_audited(c: Mapping) -> str:
    """Both models on the audited labels and their paired difference, in Markdown."""
    if c.get("problem"):
        return f"The comparison on audited labels is unavailable: {c['problem']}"
    if not c.get("rows"):
        return NO_AUDIT.replace("the metrics above are", "the comparison is")
    a, b, d = c["a"], c["b"], c["accuracy_delta"]
    text = (f"**On the audited labels** ({c['rows']} audited rows from {c['source']}; {_apart(c)}): "
            f"A {pct(a['accuracy'])}, B {pct(b['accuracy'])}; B − A {100 * d['value']:+.1f} points "
            f"(95% interval {100 * d['low']:+.1f} to {100 * d['high']:+.1f}), McNemar p "
            f"{format_p(c['mcnemar']['p_value'])} ({c['mcnemar']['only_a_right']} rows only A gets right, "
            f"{c['mcnemar']['only_b_right']} only B).")
    if c.get("verdicts_disagree"):
        text += (f"\n\n**The given labels and the audited labels disagree on which model is better** (given labels: "
                 f"B − A {100 * c['given_delta']:+.1f} points). The audited labels say what the text says.")
    return text
