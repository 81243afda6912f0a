"""The analysis's model pass on Ray (``--engine ray``): Ray Data reads, predicts and writes parquet shards.

The driver writes the split's texts as parquet chunks, Ray Data reads them, ``map_batches`` runs
:class:`BatchPredictor` (one model load per worker actor, ``concurrency`` workers) and writes one
parquet shard per block with the probabilities, logits, [CLS] states and token counts; the driver
reads the shards back in row order into a :class:`core.classifier.model.Prediction`. Everything after the
model pass (UMAP, label-issue ranking, the table) is the local engine's own code. The driver cuts
the rows into the local engine's length batches before writing them, and each worker runs every
batch whole as one forward pass, so the model sees the same padded tensors: with one thread on both
sides the outputs agree to float rounding and the UMAP built on them is the same map (the tests
compare every artifact within 1e-5).

Ray is optional: nothing else in the project imports this module unless ``--engine ray`` is asked
for, and ``pip install -r requirements-ray.txt`` installs it. A remote cluster (``--ray-address``)
needs the model folder and the cache folder on storage every node can read.

>>> from core.classifier.model import load_classifier                          # doctest: +SKIP
>>> ray_clf = RayClassifier(load_classifier("../shared/models/emotion-minilm"), work_dir="/tmp/w")  # doctest: +SKIP
>>> ray_clf.predict(["i feel great"], with_hidden=True).probs.shape  # doctest: +SKIP
(1, 6)
"""

from __future__ import annotations

import builtins
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from core.classifier.model import DEFAULT_BATCH_SIZE, FORWARD_OVERHEAD_TOKENS, Classifier, Prediction, length_batches

ROWS_PER_INPUT_FILE = 4096  # rows per input file (whole batches): a block for every worker, small enough to stream
RAY_MISSING = "the Ray engine needs Ray: pip install -r requirements-ray.txt"
CORE_DIR = Path(__file__).resolve().parents[1]


class RayEngineError(RuntimeError):
    """Ray is not installed, the cluster cannot be reached, or a Ray job failed (the message says which)."""


def _listening(address: str) -> bool:
    """Whether a ``host:port`` (or ``ray://host:port``) address accepts a TCP connection within 5 s.

    Ray itself retries an unreachable address for minutes; other forms (``auto``) are left to Ray.
    """
    import socket

    found = re.match(r"^(?:ray://)?\[?([^\]/]+?)\]?:(\d+)$", address.strip())
    if not found:
        return True
    try:
        socket.create_connection((found[1], int(found[2])), timeout=5).close()
        return True
    except OSError:
        return False


def connect(address: str | None = None, *, num_cpus: int | None = None) -> None:
    """Join the Ray cluster at ``address``, or start a local one for ``num_cpus`` predictor workers.

    A local cluster gets one logical CPU more than ``num_cpus`` (default: this machine's cores) for
    Ray Data's list, read and write tasks: with every CPU held by a predictor actor they could never
    be scheduled and the pipeline would wait forever.

    Reuses a connection already made in this process. The workers import this repository's ``core``
    package, shipped with the job (``py_modules``), so a remote cluster needs no checkout.
    """
    try:
        import ray
    except ImportError:
        raise RayEngineError(RAY_MISSING) from None
    if ray.is_initialized():
        return
    if address and not _listening(address):
        raise RayEngineError(f"could not reach Ray at {address}: nothing answers there")
    runtime_env = {"py_modules": [str(CORE_DIR)], "env_vars": {"TOKENIZERS_PARALLELISM": "false"}}
    # Ray's progress bars swap builtins.print for a Python function in the driver (ray.experimental.tqdm_ray)
    # and never put it back; numba cannot type that, so every later compile that prints (pynndescent's
    # neighbour search, through numba.get_num_threads) failed in this process.
    os.environ.setdefault("RAY_TQDM_PATCH_PRINT", "0")
    builtin_print = builtins.print
    try:
        if address:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
        else:
            # Ray lowers its workers' priority (niceness 15) by default; a local run that stands in for
            # this machine's own engine gets the same priority as the local engine.
            os.environ.setdefault("RAY_worker_niceness", "0")
            ray.init(address="local", num_cpus=(num_cpus or os.cpu_count() or 1) + 1, include_dashboard=False,
                     runtime_env=runtime_env, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayEngineError(f"could not reach Ray at {address or 'a new local cluster'}: {exc}") from None
    finally:
        builtins.print = builtin_print  # the same swap, made by ray.init itself


def cluster_workers() -> tuple[int, int]:
    """(predictor workers, GPUs) the connected cluster can hold: its CPUs less one for Ray Data's I/O tasks."""
    import ray

    res = ray.cluster_resources()
    return max(1, int(res.get("CPU", 2)) - 1), int(res.get("GPU", 0))


class BatchPredictor:
    """The ``map_batches`` class: loads the classifier once per worker, then predicts each batch.

    Rows arrive with the ``batch`` the driver put them in (:func:`write_inputs`); each batch runs as
    one padded forward pass, exactly as the local engine runs it, so the outputs are the same.
    Returns a pyarrow table per batch: ``row`` (the input row number), ``probs``, ``logits``,
    ``hidden`` (fixed-size lists of float32), ``n_tokens`` and ``truncated``.
    """

    def __init__(self, model_dir: str, labels: Sequence[str], max_length: int, batch_size: int,
                 backend: str = "torch", overhead_tokens: int = FORWARD_OVERHEAD_TOKENS) -> None:
        import torch

        from core.classifier.model import load_classifier

        torch.set_num_threads(1)  # each actor holds one CPU of the cluster
        self.classifier = load_classifier(model_dir, data_labels=list(labels), max_length=max_length, backend=backend)
        self.batch_size = batch_size
        self.overhead_tokens = overhead_tokens

    def __call__(self, batch):
        import pyarrow as pa

        texts = batch.column("text").to_pylist()
        groups = batch.column("batch").to_numpy()
        parts = []
        for b in dict.fromkeys(groups.tolist()):  # each driver-made batch, in order, as one forward
            rows = np.flatnonzero(groups == b)
            parts.append(self.classifier.predict([texts[i] for i in rows], batch_size=len(rows), with_hidden=True,
                                                 overhead_tokens=self.overhead_tokens))
        pred = Prediction(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                            ("probs", "logits", "hidden", "n_tokens", "truncated")))
        rows = np.concatenate([np.flatnonzero(groups == b) for b in dict.fromkeys(groups.tolist())])
        row_ids = batch.column("row").to_numpy()[rows]

        def matrix(values: np.ndarray) -> pa.FixedSizeListArray:
            values = np.ascontiguousarray(values, dtype=np.float32)
            return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])

        return pa.table({
            "row": pa.array(row_ids), "probs": matrix(pred.probs), "logits": matrix(pred.logits),
            "hidden": matrix(pred.hidden), "n_tokens": pa.array(pred.n_tokens.astype(np.int64)),
            "truncated": pa.array(pred.truncated.astype(bool)),
        })


def write_inputs(texts: Sequence[str], batches: Sequence[np.ndarray], folder: Path, *,
                 rows_per_file: int = ROWS_PER_INPUT_FILE) -> int:
    """The texts as parquet files ``input-00000.parquet`` ... in ``folder``; returns how many files.

    Each row carries its row number and its ``batch`` (an index into ``batches``, the local engine's
    :func:`core.classifier.model.length_batches`); a batch never straddles two files, so a worker runs it whole.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    n_files, pending, size = 0, [], 0

    def flush() -> None:
        nonlocal n_files, pending, size
        rows = np.concatenate([r for _, r in pending])
        ids = np.concatenate([np.full(len(r), b, dtype=np.int64) for b, r in pending])
        table = pa.table({"row": rows.astype(np.int64), "batch": ids, "text": [texts[i] for i in rows]})
        pq.write_table(table, folder / f"input-{n_files:05d}.parquet", row_group_size=len(rows))
        n_files, pending, size = n_files + 1, [], 0

    for b, rows in enumerate(batches):
        pending.append((b, np.sort(np.asarray(rows))))
        size += len(rows)
        if size >= rows_per_file:
            flush()
    if pending:
        flush()
    return n_files


def read_shards(folder: Path, n: int) -> Prediction:
    """Gather the predictor's parquet shards into one :class:`Prediction` in row order."""
    import pyarrow.parquet as pq

    table = pq.read_table(folder)
    rows = table.column("row").to_numpy()
    if len(rows) != n or not np.array_equal(np.sort(rows), np.arange(n)):
        raise RuntimeError(f"the Ray shards in {folder} hold {len(rows)} rows, not rows 0..{n - 1} once each")
    order = np.argsort(rows, kind="stable")

    def matrix(name: str) -> np.ndarray:
        col = table.column(name).combine_chunks()
        width = col.type.list_size
        return col.flatten().to_numpy().reshape(-1, width)[order].astype(np.float32)

    return Prediction(matrix("probs"), matrix("logits"), matrix("hidden"),
                      table.column("n_tokens").to_numpy()[order].astype(np.int64),
                      table.column("truncated").to_numpy(zero_copy_only=False)[order].astype(bool))


class RayClassifier:
    """A :class:`Classifier` stand-in whose ``predict`` runs on Ray; pass it to ``compute_analysis``.

    Parameters
    ----------
    classifier : the driver's loaded classifier (its folder, labels and ``max_length`` travel to the workers).
    work_dir : where the input chunks and output shards go (removed afterwards unless ``keep``);
        a temporary folder when ``None``. On a remote cluster it must be shared storage.
    workers : predictor actors (one CPU each); the cluster's CPUs less one when ``None``.
    """

    def __init__(self, classifier: Classifier, *, work_dir: str | Path | None = None, workers: int | None = None,
                 keep: bool = False) -> None:
        self.classifier = classifier
        self.labels = list(classifier.labels)
        self.source = classifier.source
        self.model_dir = classifier.model_dir
        self.work_dir = Path(work_dir) if work_dir is not None else None
        self.workers = workers
        self.keep = keep

    @property
    def fingerprint(self) -> str:
        """The wrapped classifier's fingerprint (same model, same cache key)."""
        return self.classifier.fingerprint

    def predict(self, texts: Sequence[str], *, batch_size: int = DEFAULT_BATCH_SIZE, with_hidden: bool = False,
                progress: Callable[[int, int], None] | None = None,
                overhead_tokens: int = FORWARD_OVERHEAD_TOKENS) -> Prediction:
        """Probabilities, logits, [CLS] states and token counts of ``texts``, computed by Ray workers."""
        import ray

        texts = list(texts)
        if not texts:
            return self.classifier.predict(texts, batch_size=batch_size, with_hidden=with_hidden)
        if not ray.is_initialized():
            connect(None, num_cpus=self.workers)
        cpus, _ = cluster_workers()
        workers = max(1, min(self.workers or cpus, cpus))
        try:
            if self.work_dir is not None:
                self.work_dir.mkdir(parents=True, exist_ok=True)
            base = Path(tempfile.mkdtemp(prefix="ray-analysis-", dir=self.work_dir))
        except OSError:  # a read-only cache folder: the system's temporary folder will do on one machine
            base = Path(tempfile.mkdtemp(prefix="ray-analysis-"))
        try:
            inputs, outputs = base / "input", base / "output"
            lengths = np.array([len(x) for x in self.classifier.tokenize(texts)[0]], dtype=np.int64)
            per_file = max(batch_size, min(ROWS_PER_INPUT_FILE, -(-len(texts) // workers)))
            n_files = write_inputs(texts, length_batches(lengths, batch_size, overhead_tokens=overhead_tokens), inputs,
                                   rows_per_file=per_file)
            # One read task and one block per input file (whole batches), so every worker gets work:
            # Ray Data's newer parquet reader packs small files into one task and ignores the block count.
            context = ray.data.DataContext.get_current()
            was_v2, context.use_datasource_v2 = context.use_datasource_v2, False
            try:
                ds = ray.data.read_parquet(str(inputs), override_num_blocks=n_files)
            finally:
                context.use_datasource_v2 = was_v2
            ds = ds.map_batches(  # batch_size=None: one whole input file (whole batches) per call
                BatchPredictor, batch_format="pyarrow", batch_size=None, concurrency=workers, num_cpus=1,
                fn_constructor_kwargs={"model_dir": str(self.model_dir), "labels": self.labels,
                                       "max_length": self.classifier.max_length, "batch_size": batch_size,
                                       "overhead_tokens": overhead_tokens,
                                       "backend": getattr(getattr(self.classifier, "backend", None), "name", "torch")},
            )
            try:
                ds.write_parquet(str(outputs))
            except ray.exceptions.RayError as exc:
                lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
                cause = [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)]
                raise RayEngineError(f"the Ray engine failed: {(cause or lines or [repr(exc)])[-1][:400]}") from exc
            pred = read_shards(outputs, len(texts))
        finally:
            if not self.keep:
                shutil.rmtree(base, ignore_errors=True)
        if progress is not None:
            progress(len(texts), len(texts))
        if not with_hidden:
            pred.hidden = None
        return pred


def _call(fn: Callable, key, shared: tuple):
    """Run ``fn(key, *shared)`` in a Ray worker, with as many torch threads as the task holds CPUs."""
    import ray
    import torch

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    torch.set_num_threads(max(1, int(cpus)))
    return fn(key, *shared)


def run_tasks(fn: Callable, keys: Sequence, shared: tuple, *, address: str | None = None,
              num_cpus: int | None = None) -> Iterator:
    """Run ``fn(key, *shared)`` for every key as a Ray task; yields each result as its task finishes.

    ``shared`` is put in Ray's object store once. Each task asks for one GPU where the cluster has
    GPUs, else ``num_cpus`` CPUs (default: the cluster's CPUs shared out between the tasks). A task
    that fails raises here, after the tasks that finished before it were yielded.
    """
    keys = list(keys)
    if not keys:
        return
    connect(address)
    import ray

    cpus, gpus = cluster_workers()
    cpus += 1  # cluster_workers keeps one CPU for Ray Data; plain tasks can use it
    per_task = num_cpus or max(1, cpus // min(len(keys), cpus))
    options = {"num_cpus": per_task, "num_gpus": 1 if gpus else 0, "max_retries": 0}
    shared_ref = ray.put(shared)
    pending = [ray.remote(_call).options(**options).remote(fn, key, shared_ref) for key in keys]
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        yield ray.get(ready[0])
