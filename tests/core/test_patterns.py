"""Review by pattern: suspects grouped by their reason (real negation rules, real sentence encoder, HDBSCAN),
and the spot-check gate against planted patterns of known precision."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.review.patterns import PatternSettings, build_patterns, pattern_table, suspects, wilson
from core.review.spotcheck import spot_check, spot_rows

NEGATED_ANGRY = ["i dont feel angry about it at all", "i didnt feel angry when they left", "i never feel angry at him",
                 "i don t feel angry anymore about the move", "honestly i wasnt feeling angry just tired",
                 "i do not feel angry with my sister", "i am not feeling angry today", "i didn t feel angry at work",
                 "i dont feel angry that she forgot"]
CONTRAST_HOPELESS = [f"i used to feel hopeless about {w} but now i am fine" for w in
                     ("school", "work", "money", "my future", "dating", "my health", "the house", "my job", "my art")]
KEEP = ["i feel angry at the referee", "i feel so sad today", "i feel happy with my new car", "i feel scared of dogs"]


def _fixture() -> pd.DataFrame:
    texts = NEGATED_ANGRY + CONTRAST_HOPELESS + KEEP
    labels = ["anger"] * len(NEGATED_ANGRY) + ["sadness"] * len(CONTRAST_HOPELESS) + ["anger", "sadness", "joy",
                                                                                       "fear"]
    score = np.linspace(1.0, 0.5, len(texts))
    score[-len(KEEP):] = 0.01
    return pd.DataFrame({"text": texts, "label": labels, "mislabel_score": score,
                         "lex_suggest": [""] * len(NEGATED_ANGRY) + ["joy"] * len(CONTRAST_HOPELESS) + [""] * 4,
                         "suggested_label": ["joy"] * len(texts)})


def test_negated_angry_rows_are_one_pattern_named_by_their_cue():
    table = _fixture()
    patterns = build_patterns(table, settings=PatternSettings(top_share=0.8, min_size=5))
    assert len(suspects(table, 0.8)) == len(patterns.rows) == round(0.8 * len(table))
    negated = patterns.of("negated:anger:angry")
    assert sorted(negated.index) == list(range(len(NEGATED_ANGRY)))
    assert patterns.names["negated:anger:angry"] == 'negated "angry" (anger)'
    assert set(negated["cue"]) == {"angry"} and set(negated["suggest"]) == {"joy"}
    contrast = patterns.rows.loc[list(range(9, 18))]
    assert set(contrast["reason"]) == {"contrast"} and contrast["pattern"].nunique() == 1
    assert contrast["score"].is_monotonic_decreasing  # most suspect first
    assert not set(KEEP) & set(patterns.rows["text"])  # not suspects: in no pattern


def test_small_groups_join_their_class_and_the_table_carries_the_audit():
    table = _fixture()
    patterns = build_patterns(table, settings=PatternSettings(top_share=0.8, min_size=20))
    assert "negated:anger:*" in patterns.names and patterns.names["negated:anger:*"] == "negated anger words"
    audit = pd.DataFrame({"sample_id": [0, 1, 2, 3, 12], "judgement": ["wrong", "wrong", "wrong", "right", "wrong"],
                          "correct_label": ["joy", "joy", "neutral", None, "joy"]})
    out = pattern_table(patterns, audit).set_index("pattern")
    row = out.loc["negated:anger:*"]
    assert (row["size"], row["audited"], row["wrong"]) == (9, 4, 3)
    assert row["precision"] == pytest.approx(0.75)
    assert (row["low"], row["high"]) == pytest.approx(wilson(3, 4))
    assert row["given"] == "anger 9" and row["suggested"] == "joy 9"


def test_rows_no_rule_names_are_clustered_by_the_encoder_and_named_by_their_words():
    pytest.importorskip("sentence_transformers")
    from core.analysis.signals.encoder import embed

    football = [f"we watched the football match and the {w} team lost the final" for w in
                ("home", "local", "city", "school", "national", "youth", "county", "college", "old", "best")]
    cooking = [f"i baked bread and cooked {w} soup for dinner in the kitchen" for w in
               ("tomato", "onion", "potato", "pumpkin", "carrot", "lentil", "chicken", "pea", "leek", "bean")]
    table = pd.DataFrame({"text": football + cooking, "label": ["joy"] * 20, "mislabel_score": np.linspace(1, 0.5, 20)})
    vectors = embed(table["text"].tolist())
    patterns = build_patterns(table, settings=PatternSettings(top_share=1.0, cluster_min_size=5),
                              embed=lambda positions: vectors[positions])
    clusters = [p for p in patterns.names if p.startswith("cluster:")]
    assert len(clusters) == 2
    by_topic = {patterns.rows.at[0, "pattern"], patterns.rows.at[10, "pattern"]}
    assert by_topic == set(clusters)
    names = " ".join(patterns.names[p] for p in clusters)
    assert any(w in names for w in ("football", "match", "team")) and any(w in names for w in ("soup", "bread",
                                                                                                  "kitchen"))


def _planted(ids: list[int], precision: float, seed: int) -> set[int]:
    """The rows whose suggested class a perfect reviewer confirms: ``precision`` of ``ids``."""
    rng = np.random.default_rng(seed)
    return set(rng.choice(ids, size=int(round(precision * len(ids))), replace=False).tolist())


def _judge(rows: tuple[int, ...], right: set[int]) -> pd.DataFrame:
    return pd.DataFrame({"sample_id": list(rows), "action": ["relabel" if r in right else "keep" for r in rows],
                         "new_label": ["joy" if r in right else "anger" for r in rows], "batch": [None] * len(rows)})


@pytest.mark.parametrize("precision", [0.5, 1.0])
def test_the_gate_opens_for_a_precise_pattern_and_stays_shut_for_a_coin_flip(precision):
    ids = list(range(100, 160))
    suggest = dict.fromkeys(ids, "joy")
    opened = 0
    for seed in range(60):
        right = _planted(ids, precision, seed)
        rows = spot_rows(ids, 10, f"pattern-{seed}")
        assert len(set(rows)) == 10 and set(rows) <= set(ids)
        half = spot_check(ids, suggest, _judge(rows[:5], right), action="relabel", k=10, threshold=0.55,
                          seed_text=f"pattern-{seed}")
        assert half.judged == 5 and not half.passes  # never before all k rows are judged
        check = spot_check(ids, suggest, _judge(rows, right), action="relabel", k=10, threshold=0.55,
                           seed_text=f"pattern-{seed}")
        hits = len(set(rows) & right)
        assert check.hits == hits and check.lower == pytest.approx(wilson(hits, 10)[0])
        assert check.passes == (wilson(hits, 10)[0] >= 0.55)
        opened += check.passes
    if precision == 1.0:
        assert opened == 60
    else:
        assert opened <= 3  # 9 of 10 right from a coin: about 1%


def test_a_bulk_decision_is_no_judgement_and_ambiguous_counts_any_wrong_label():
    ids = list(range(10))
    rows = spot_rows(ids, 4, "p")
    decisions = pd.DataFrame({"sample_id": list(rows), "action": ["relabel", "ambiguous", "not_emotion", "relabel"],
                              "new_label": ["fear", None, None, "joy"], "batch": [None, None, None, "b" * 32]})
    suggest = dict.fromkeys(ids, "joy")
    relabel = spot_check(ids, suggest, decisions, action="relabel", k=4, threshold=0.5, seed_text="p")
    assert (relabel.judged, relabel.hits) == (3, 0)
    ambiguous = spot_check(ids, suggest, decisions, action="ambiguous", k=4, threshold=0.5, seed_text="p")
    assert (ambiguous.judged, ambiguous.hits) == (3, 3)
    with pytest.raises(ValueError, match="gates"):
        spot_check(ids, suggest, decisions, action="keep", k=4, seed_text="p")
