"""ReviewSync: decisions reach a file:// target as immutable event files and come back, on real folders."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.analysis.cache import AnalysisCache
from core.analysis.precomputed import find_precomputed, publish_precomputed
from core.redact import redact_url
from core.review.store import ReviewStore
from core.review.sync import ReviewSync, SyncTargetError
from core.review.trust import EventRules

REPO = Path(__file__).resolve().parents[2]
KEY = "data-fp:validation"
RULES = EventRules(labels=frozenset({"joy", "fear"}), rows={KEY: 100_000})


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make ``folder`` refuse new files for real: immutable for root (chattr), mode 0500 otherwise."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o500)
        try:
            yield
        finally:
            folder.chmod(0o700)


def _target_events(target: Path) -> list[dict]:
    files = sorted((target / "events").glob("*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def _digest(target: Path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in (target / "events").iterdir()}


def _decide(store: ReviewStore, n: int, reviewer: str, offset: int = 0) -> list:
    return [store.record(KEY, offset + i, action="relabel", old_label="joy", new_label="fear", reviewer=reviewer,
                         text_hash=f"{offset + i:016x}", model_fingerprint="m", model_pred="joy") for i in range(n)]


def test_decisions_reach_the_target_and_come_back_into_an_empty_store(tmp_path: Path) -> None:
    target = tmp_path / "target"
    store = ReviewStore(tmp_path / "a" / "reviews.sqlite")
    made = _decide(store, 7, "ana")
    sync = ReviewSync(store, target.as_uri(), every_s=3600, rules=RULES)
    assert sync.sync_now()
    assert sorted(e["event_id"] for e in _target_events(target)) == sorted(d.event_id for d in made)
    assert sync.pending() == 0 and "everything synced" in sync.status()

    fresh = ReviewStore(tmp_path / "b" / "reviews.sqlite")  # the Space restarted with an empty disk
    ReviewSync(fresh, target.as_uri(), every_s=3600, rules=RULES).start().close()
    back = fresh.history(KEY)
    assert sorted(back["event_id"]) == sorted(d.event_id for d in made)
    original = store.history(KEY).drop(columns="id").sort_values("event_id").reset_index(drop=True)
    restored = back.drop(columns="id").sort_values("event_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(original, restored)


def test_files_on_the_target_are_never_rewritten(tmp_path: Path) -> None:
    target = tmp_path / "target"
    store = ReviewStore(tmp_path / "reviews.sqlite")
    sync = ReviewSync(store, target.as_uri(), every_s=3600, rules=RULES)
    _decide(store, 3, "ana")
    sync.sync_now()
    first = _digest(target)
    _decide(store, 2, "ana", offset=10)
    sync.sync_now()
    sync.sync_now()  # nothing new: no new file
    second = _digest(target)
    assert len(first) == 1 and len(second) == 2
    assert {k: second[k] for k in first} == first
    assert not [f for f in (target / "events").iterdir() if f.name.startswith(".")]  # no temporary left over


def test_two_replicas_on_one_target_converge(tmp_path: Path) -> None:
    """Decisions made after the other replica's reached this one converge; two decisions on one sample
    made before either synced stay each replica's own last recorded one (see core.review.store)."""
    url = (tmp_path / "target").as_uri()
    a, b = ReviewStore(tmp_path / "a.sqlite"), ReviewStore(tmp_path / "b.sqlite")
    sa, sb = ReviewSync(a, url, every_s=3600, rules=RULES), ReviewSync(b, url, every_s=3600, rules=RULES)
    _decide(a, 5, "ana")
    assert sa.sync_now() and sb.sync_now()  # b has seen ana's decisions
    _decide(b, 5, "bo", offset=3)  # samples 3 and 4 decided again on b
    b.record(KEY, 3, action="keep", old_label="joy", reviewer="bo")  # the latest decision for sample 3
    for sync in (sb, sa):
        assert sync.sync_now()
    assert a.count() == b.count() == 11
    for column in ("event_id", "reviewer", "action"):
        assert a.latest(KEY)[column].tolist() == b.latest(KEY)[column].tolist()
    assert a.latest(KEY).set_index("sample_id").loc[3, "action"] == "keep"
    assert sa.pending() == sb.pending() == 0
    assert len(_target_events(tmp_path / "target")) == 11  # restored events are not pushed back


def test_a_read_only_target_loses_nothing_and_recovers(tmp_path: Path) -> None:
    target = tmp_path / "target"
    (target / "events").mkdir(parents=True)
    store = ReviewStore(tmp_path / "reviews.sqlite")
    sync = ReviewSync(store, target.as_uri(), every_s=3600, rules=RULES)
    with read_only(target / "events"):
        made = _decide(store, 4, "ana")  # the reviewer is never blocked
        assert not sync.sync_now()
        assert "failed" in sync.status() and "4 decisions not yet synced" in sync.status()
        assert store.count() == 4 and sync.pending() == 4
        assert not list((target / "events").iterdir())
    assert sync.sync_now()
    assert sync.pending() == 0 and "failed" not in sync.status()
    assert sorted(e["event_id"] for e in _target_events(target)) == sorted(d.event_id for d in made)


def test_a_background_thread_syncs_and_close_pushes_the_rest(tmp_path: Path) -> None:
    target = tmp_path / "target"
    store = ReviewStore(tmp_path / "reviews.sqlite")
    sync = ReviewSync(store, target.as_uri(), every_s=0.2, rules=RULES).start()
    _decide(store, 3, "ana")
    deadline = time.monotonic() + 60
    while sync.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sync.pending() == 0  # pushed by the thread, nobody called sync_now
    sync.close()
    _decide(store, 2, "ana", offset=5)
    sync.close()  # a second close pushes what was decided since
    assert len(_target_events(target)) == 5


def test_sigterm_pushes_and_exits_even_where_an_exception_would_be_swallowed(tmp_path: Path) -> None:
    """The SIGTERM handler ran inside a weakref callback (as CI caught it): ``sys.exit`` there was ignored and
    the server stayed up. The child below signals itself from such a callback, then would sleep."""
    db, target = tmp_path / "reviews.sqlite", tmp_path / "target"
    code = (
        "import os, signal, time, weakref\n"
        "from core.review.store import ReviewStore\n"
        "from core.review.sync import ReviewSync\n"
        "from core.review.trust import EventRules\n"
        f"store = ReviewStore({str(db)!r})\n"
        f"rules = EventRules(labels=frozenset({{'joy'}}), rows={{{KEY!r}: 100_000}})\n"
        f"sync = ReviewSync(store, {target.as_uri()!r}, every_s=3600, rules=rules).start()\n"
        "sync.exit_on_sigterm()\n"
        "for i in range(3):\n"
        f"    store.record({KEY!r}, i, action='keep', old_label='joy')\n"
        "class Box: pass\n"
        "box = Box()\n"
        "keep = weakref.ref(box, lambda _: (os.kill(os.getpid(), signal.SIGTERM), sum(range(10_000))))\n"
        "del box\n"
        "time.sleep(20)\n"
        "print('still running', flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                           timeout=50)
    assert child.returncode == 0, child.stderr
    assert "still running" not in child.stdout and "Stopped (SIGTERM)" in child.stderr
    local = {e["event_id"] for e in ReviewStore(db).events()}
    assert len(local) == 3 and {e["event_id"] for e in _target_events(target)} == local


def test_kill_9_loses_nothing_and_repushes_at_most_the_tail(tmp_path: Path) -> None:
    db, target = tmp_path / "reviews.sqlite", tmp_path / "target"
    code = (
        "from core.review.store import ReviewStore\n"
        "from core.review.sync import ReviewSync\n"
        "from core.review.trust import EventRules\n"
        f"store = ReviewStore({str(db)!r})\n"
        f"rules = EventRules(labels=frozenset({{'joy'}}), rows={{{KEY!r}: 100_000}})\n"
        f"sync = ReviewSync(store, {target.as_uri()!r}, every_s=3600, rules=rules)\n"
        "for i in range(100_000):\n"
        f"    store.record({KEY!r}, i, action='keep', old_label='joy')\n"
        "    if i % 3 == 0:\n"
        "        sync.sync_now()\n"
        "    print(i, flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env, cwd=REPO)
    assert child.stdout is not None
    for line in child.stdout:
        if int(line) >= 40:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL

    store = ReviewStore(db)
    local = {e["event_id"] for e in store.events()}
    on_target = [e["event_id"] for e in _target_events(target)]
    assert set(on_target) <= local and len(local - set(on_target)) <= 4  # at most the tail since the last sync
    ReviewSync(store, target.as_uri(), every_s=3600, rules=RULES).start().close()
    after = [e["event_id"] for e in _target_events(target)]
    assert set(after) == local
    assert len(after) - len(set(after)) <= 3  # a batch re-pushed at most once; restore ignores duplicates

    fresh = ReviewStore(tmp_path / "fresh.sqlite")
    ReviewSync(fresh, target.as_uri(), every_s=3600, rules=RULES).start().close()
    assert {e["event_id"] for e in fresh.events()} == local


def test_unreadable_lines_are_skipped_and_the_rest_restored(tmp_path: Path) -> None:
    target = tmp_path / "target"
    store = ReviewStore(tmp_path / "a.sqlite")
    made = _decide(store, 2, "ana")
    ReviewSync(store, target.as_uri(), every_s=3600, rules=RULES).sync_now()
    (target / "events" / "zz-foreign.jsonl").write_text('not json\n{"event_id": "x"}\n\n')
    fresh = ReviewStore(tmp_path / "b.sqlite")
    sync = ReviewSync(fresh, target.as_uri(), every_s=3600, rules=RULES)
    assert sync.sync_now()
    assert {e["event_id"] for e in fresh.events()} == {d.event_id for d in made}
    assert sync.counts.refused == 2 and "2 refused: zz-foreign.jsonl line 1: not JSON" in sync.status()


def test_a_url_that_is_not_one_is_a_clear_error(tmp_path: Path) -> None:
    store = ReviewStore(tmp_path / "a.sqlite")
    with pytest.raises(SyncTargetError, match="not a URL"):
        ReviewSync(store, str(tmp_path), rules=RULES)
    with pytest.raises(SyncTargetError, match="cannot be opened"):
        ReviewSync(store, "nosuchprotocol://x/y", rules=RULES)


# ---------------------------------------------------------------------------------------------
# Precomputed analyses


def _entry(cache_dir: Path, key: str) -> Path:
    table = pd.DataFrame({"text": ["a", "b"], "label": [0, 1], "pred": [0, 0], "loss": [0.1, 2.0],
                          "umap_x": [0.0, 1.0], "umap_y": [1.0, 0.0], "mislabel_score": [0.0, 1.0]})
    meta = {"n_rows": 2, "model_fingerprint": "m", "data_fingerprint": "d", "split": "validation"}
    return AnalysisCache(cache_dir).save(key, table, np.ones((2, 4), dtype=np.float32), meta)


@pytest.mark.parametrize("where", ["assets", "target"])
def test_a_precomputed_analysis_is_fetched_into_the_cache(tmp_path: Path, where: str) -> None:
    key = "k" * 20
    built = _entry(tmp_path / "built", key)
    target = tmp_path / "target"
    if where == "target":
        publish_precomputed(key, cache_dir=tmp_path / "built", url=target.as_uri())
        assets = tmp_path / "no-assets"
    else:
        assets = tmp_path / "built"  # same layout: assets/analysis/<key>/
    cache_dir = tmp_path / "cache"
    got = find_precomputed(key, cache_dir=cache_dir, url=target.as_uri(), assets_dir=assets)
    assert got == cache_dir / "analysis" / key
    cached, why = AnalysisCache(cache_dir).load(key, expect={"split": "validation"})
    assert why == "" and cached is not None and cached.table["loss"].tolist() == [0.1, 2.0]
    assert (got / "hidden.npy").read_bytes() == (built / "hidden.npy").read_bytes()
    assert find_precomputed(key, cache_dir=cache_dir, url=target.as_uri(), assets_dir=assets) is None  # cached


def test_no_precomputed_analysis_gives_none_and_writes_nothing(tmp_path: Path) -> None:
    partial = tmp_path / "target" / "analysis" / ("p" * 20)
    partial.mkdir(parents=True)
    (partial / "meta.json").write_text("{}")  # an incomplete upload is not used
    for key in ("p" * 20, "q" * 20):
        assert find_precomputed(key, cache_dir=tmp_path / "cache", url=(tmp_path / "target").as_uri(),
                                assets_dir=tmp_path / "none") is None
    assert not (tmp_path / "cache" / "analysis").exists() or not list((tmp_path / "cache" / "analysis").iterdir())


def test_the_restart_warning_shows_only_on_a_space_without_sync_or_persistent_storage(tmp_path: Path) -> None:
    from core.review.sync import ephemeral_warning
    from core.settings import Settings

    volume = tmp_path / "data"
    volume.mkdir()
    assert ephemeral_warning(Settings(cache_dir=tmp_path / "cache"), volume) == ""  # not a Space
    on_space = Settings(cache_dir=tmp_path / "cache", space_id="ana/emotion-lens")
    assert "will be lost when this Space restarts" in ephemeral_warning(on_space, volume)
    synced = Settings(cache_dir=tmp_path / "cache", space_id="ana/emotion-lens", review_sync=volume.as_uri())
    assert ephemeral_warning(synced, volume) == ""
    kept = Settings(cache_dir=volume / "cache", space_id="ana/emotion-lens")
    assert ephemeral_warning(kept, volume) == ""


def test_credentials_in_the_url_never_reach_the_status_repr_or_log(tmp_path: Path, caplog) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the target folder should be")
    url = f"{blocker.as_uri()}/sub?token=s3cr3tvalue&rev=main"
    store = ReviewStore(tmp_path / "a.sqlite")
    _decide(store, 1, "ana")
    sync = ReviewSync(store, url, every_s=3600, rules=RULES)
    with caplog.at_level("WARNING", logger="core.review.sync"):
        assert not sync.sync_now()
    shown = sync.status() + repr(sync) + caplog.text
    assert "failed" in sync.status() and "token=***" in sync.status()
    assert "s3cr3tvalue" not in shown and "s3cr3tvalue" in url


@pytest.mark.parametrize(("url", "shown"), [
    ("hf://ana:pw-123@datasets/o/r", "hf://***@datasets/o/r"),
    ("https://host/x?access_token=hf_abcdefghijkl&revision=main", "https://host/x?access_token=***&revision=main"),
    ("file:///srv/reviews", "file:///srv/reviews"),
])
def test_redact_url_hides_user_info_and_tokens(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_the_settings_repr_never_holds_the_sync_url() -> None:
    from core.settings import Settings

    settings = Settings(review_sync="hf://ana:s3cr3tvalue@datasets/o/r")
    assert "s3cr3tvalue" not in repr(settings) and settings.review_sync.endswith("datasets/o/r")
