"""The learned ranking in the app's services: judgements in the review store refit the error model, the queue
re-ranks and says which model ranks it, a restart refits from the store, and every reason in the evidence
panel comes from that row's own signal values (a tiny real model on real tweets)."""

from __future__ import annotations

import numpy as np
import pytest

from core.audit import error_model as em
from core.services.ranking import FIXED, LEARNED
from tests.conftest import tiny_service

ROWS = 240


def _judge(service, n: int) -> None:
    """Blind uniform audit judgements: the planted rule calls a label wrong where the text has a negator."""
    table = service.analysis("train").table
    for _ in range(n):
        draw = service.audits.next("train", "uniform")
        wrong = bool(table.at[draw["sample_id"], "neg_any"] > 0)
        other = next(c for c in service.labels if c != draw["label"])
        service.audits.decide(draw["token"], "wrong" if wrong else "right", split="train",
                              correct_label=other if wrong else None, reason="planted: a negator" if wrong else "")


@pytest.mark.slow  # two analyses of a trained-on split with every signal family (a minute or two on 2 cores)
def test_judgements_refit_the_queue_and_a_restart_refits_from_the_store(tiny_model_dir, tmp_path_factory):
    service = tiny_service(tiny_model_dir, tmp_path_factory, "learned", ROWS, split="train")
    fixed = service.review_queue("train").index.tolist()
    assert service.ranking.refit("train")["ranker"] == FIXED  # no judgement yet: the fixed mix, and it says why
    assert "needs at least" in service.ranking.header("train")
    if int((service.analysis("train").table["neg_any"] > 0).sum()) < 2 * em.MIN_WRONG:
        pytest.skip("too few rows with a negator among the tiny split's rows to plant the rule")
    _judge(service, 150)
    state = service.ranking.refit("train")
    assert state["ranker"] == LEARNED and state["judgements"] == 150
    assert state["weights"]["neg_any"] == max(state["weights"].values())  # the planted rule is what it learned
    learned = service.review_queue("train")
    assert learned.index.tolist() != fixed
    table = service.analysis("train").table
    assert np.allclose(table["mislabel_score"].to_numpy(), service.ranking._models["train"].score(
        service.ranking._evidence_of("train")))
    assert "fixed_mix_score" in table and LEARNED in service.ranking.header("train")
    assert "held out on" in service.ranking.header("train")

    # 25 queue decisions start a background refit on the next check
    for sample_id in learned.index[:em.REFIT_EVERY]:
        service.reviews.decide(int(sample_id), "keep", split="train")
    service.ranking.check("train")
    for thread in [t for t in __import__("threading").enumerate() if t.name == "ranking-train"]:
        thread.join(timeout=120)
    assert service.ranking.state("train")["judgements"] == 150 + em.REFIT_EVERY

    # a restart on the same store and cache refits from the store
    from core.services.emotion import EmotionService

    again = EmotionService.load(service.settings, show_progress=False)
    for thread in [t for t in __import__("threading").enumerate() if t.name == "ranking-train"]:
        thread.join(timeout=120)
    assert again.ranking.state("train")["ranker"] == LEARNED
    assert again.review_queue("train").index.tolist()[:20] == service.review_queue("train").index.tolist()[:20]

    # every reason comes from the row's own values
    top = int(again.review_queue("train").index[0])
    ev = again.ranking.evidence(top, "train")
    ranks = again.ranking._evidence_of("train").iloc[top]
    for r in ev["reasons"]:
        if r["signal"] != "suggest":
            assert r["percentile"] == round(ranks[r["signal"]] * 100) and ranks[r["signal"]] >= 0.8
    row = again.analysis("train").table.iloc[top]
    assert not ev["suggested"] or ev["suggested"] != row["label"]
