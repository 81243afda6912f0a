"""Inference backends: where a classifier's forward pass runs (PyTorch fp32/bf16, ONNX Runtime fp32/int8).

Every backend takes padded ``(N, L)`` token ids and an attention mask and returns the logits and,
when asked, the final-layer [CLS] hidden states of the same pass, as float32 numpy arrays.
:class:`core.classifier.model.Classifier` (classification and the split analysis) and
:class:`core.explanation.explain.TokenShapExplainer` (the SHAP evaluations) both call :meth:`Backend.forward`.

=================  ==========================================================================
name               what runs
=================  ==========================================================================
``torch``          PyTorch fp32 eager; the last layer at [CLS] only (:mod:`core.classifier.cls_only`,
                   which applies to the PyTorch backends only).
``torch-bf16``     a copy of the model entirely in bf16 (weights and activations; the logits and
                   [CLS] states come back as fp32): matrix products on the CPU's bf16 units
                   (AVX-512 BF16 / AMX).  Autocast (bf16 products, fp32 norms and softmax) was
                   tried first: its fp32 <-> bf16 casts took about a third of each forward, and the
                   whole-bf16 model ran 1.27x faster than autocast with bf16 weights and met the
                   same faithfulness bars (README, "Inference backends").
``onnx``           ONNX Runtime fp32 on a graph exported by ``torch.onnx.export(dynamo=True)``.
``onnx-int8``      that graph with int8 weights and per-batch dynamically quantised activations
                   (``onnxruntime.quantization.quantize_dynamic``, MatMul only).
``onnx-int8-static``  int8 weights and activations with scales calibrated on texts
                   (``quantize_static``, QDQ format, MatMul only); needs calibration texts.
``auto``           the default: ``torch-bf16`` where the CPU multiplies bf16 natively
                   (AVX-512 BF16 or AMX, :func:`resolve`), else ``torch``.  On CPUs without
                   those units bf16 is emulated and slower than fp32.  bf16 met the faithfulness
                   bars on emotion-minilm (README, "Inference backends"); the int8 backends did not,
                   so they stay opt-in.
=================  ==========================================================================

Exported and quantised graphs are cached under ``<cache_dir>/backends/<fingerprint>-<name>/``
(``model.onnx`` plus ``export.json`` with the seconds the export took; :mod:`core.classifier.onnx_export`),
so the cost is paid once.

:func:`load_backend` checks a non-default backend against PyTorch fp32 on a probe batch of
real sentences before using it: the ``onnx`` backend must give probabilities within
:data:`FP32_TOLERANCE`; reduced-precision backends within :data:`REDUCED_TOLERANCE` and the same
predicted class on every probe row.  A backend that fails its check or cannot load (a missing
package, an architecture the exporter cannot trace) falls back to ``torch`` with one logged
warning saying why.

Example
-------
>>> backend, note = load_backend("onnx", model, tokenizer, cache_dir=Path("c"), fingerprint="ab")  # doctest: +SKIP
>>> logits, cls = backend.forward(ids, mask, with_hidden=True)                                    # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.classifier.onnx_export import PROBE_TEXTS, onnx_path, probe_batch
from core.settings import BACKENDS

__all__ = [
    "BACKENDS", "BF16_FLAGS", "FP32_TOLERANCE", "PROBE_TEXTS", "REDUCED_TOLERANCE", "Backend", "BackendError",
    "OnnxBackend", "TorchBackend", "check_backend", "load_backend", "resolve",
]

log = logging.getLogger(__name__)

#: CPU flags (``/proc/cpuinfo``) of units that multiply bf16 natively.
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
#: Largest allowed probability difference from PyTorch fp32 on the probe batch, fp32 backends.
FP32_TOLERANCE = 1e-4
#: The same for reduced-precision backends (bf16, int8); they must also predict the same class on
#: every probe row.  0.05 passes bf16 (largest difference from fp32 over the 2,000 emotion validation
#: rows: 0.034 with emotion-minilm) and rejects a quantisation that moves a probability by 0.1 or more.
REDUCED_TOLERANCE = 0.05
class BackendError(RuntimeError):
    """A backend that cannot be built or that disagrees with PyTorch fp32."""


class Backend:
    """One way to run the forward pass; subclasses implement :meth:`forward`.

    Attributes
    ----------
    name : one of :data:`BACKENDS`.
    export_seconds : seconds spent exporting/quantising when this load built the graph, else 0.
    cached : whether the graph came from the on-disk cache.
    """

    name: str = "torch"
    export_seconds: float = 0.0
    cached: bool = False

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray, *,
                with_hidden: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """``(N, K)`` float32 logits and ``(N, H)`` float32 [CLS] states (``None`` unless ``with_hidden``)."""
        raise NotImplementedError

    def probs(self, input_ids: np.ndarray, attention_mask: np.ndarray | None = None) -> np.ndarray:
        """Softmax probabilities ``(N, K)`` (float64) of a batch; the mask defaults to all ones."""
        if attention_mask is None:
            attention_mask = np.ones_like(input_ids)
        logits, _ = self.forward(input_ids, attention_mask)
        return _softmax(logits.astype(np.float64))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class TorchBackend(Backend):
    """PyTorch eager: the model in fp32, or a copy of it entirely in bf16."""

    def __init__(self, model: Any, *, bf16: bool = False) -> None:
        self.bf16 = bool(bf16)
        self.name = "torch-bf16" if bf16 else "torch"
        self.model = _bf16_copy(model) if bf16 else model

    def forward(self, input_ids, attention_mask, *, with_hidden=False):
        import torch

        ids = torch.as_tensor(np.asarray(input_ids, dtype=np.int64))
        mask = torch.as_tensor(np.asarray(attention_mask, dtype=np.int64))
        with torch.inference_mode():
            out = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=with_hidden)
        logits = out.logits.float().numpy()
        hidden = out.hidden_states[-1][:, 0].float().numpy() if with_hidden else None
        return logits, hidden


class OnnxBackend(Backend):
    """ONNX Runtime on the CPU; the graph takes ``input_ids``, ``attention_mask`` and gives ``logits``, ``cls``."""

    def __init__(self, path: Path, *, name: str = "onnx", threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or _torch_threads())
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = Path(path)
        self.name = name
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def forward(self, input_ids, attention_mask, *, with_hidden=False):
        feed = {"input_ids": np.ascontiguousarray(input_ids, dtype=np.int64),
                "attention_mask": np.ascontiguousarray(attention_mask, dtype=np.int64)}
        if with_hidden:
            logits, hidden = self.session.run(["logits", "cls"], feed)
            return np.asarray(logits, dtype=np.float32), np.asarray(hidden, dtype=np.float32)
        (logits,) = self.session.run(["logits"], feed)
        return np.asarray(logits, dtype=np.float32), None


def _bf16_copy(model: Any) -> Any:
    """A copy of ``model`` (hooks included) with every parameter and buffer in bf16."""
    import copy

    import torch

    attached = getattr(model, "inference_backend", None)  # load_classifier's; not part of the copy
    out = copy.deepcopy(model, memo={id(attached): None} if attached is not None else None)
    return out.to(torch.bfloat16)


@dataclass(frozen=True)
class CheckResult:
    """How a backend compared with PyTorch fp32 on the probe batch."""

    max_prob_diff: float
    same_class: bool
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_prob_diff <= self.tolerance and (self.same_class or self.tolerance <= FP32_TOLERANCE)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def cpu_flags() -> set[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (empty where there is no such file)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.partition(":")[2].split())
    return set()


def resolve(name: str, flags: set[str] | None = None) -> tuple[str, str]:
    """The concrete backend for ``name`` and why (``auto`` picks by the CPU's bf16 support)."""
    if name != "auto":
        return name, ""
    found = sorted(set(BF16_FLAGS) & (cpu_flags() if flags is None else flags))
    if found:
        return "torch-bf16", f"auto: the CPU has {', '.join(found)}"
    return "torch", "auto: no native bf16 on this CPU (bf16 would be emulated, slower than fp32)"


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def tolerance_for(name: str) -> float:
    """Probe tolerance of backend ``name``: :data:`FP32_TOLERANCE` for fp32 ones, else :data:`REDUCED_TOLERANCE`."""
    return FP32_TOLERANCE if name in ("torch", "onnx") else REDUCED_TOLERANCE


def check_backend(backend: Backend, reference: Backend, tokenizer: Any) -> CheckResult:
    """Compare ``backend`` with ``reference`` (PyTorch fp32) on the probe batch."""
    ids, mask = probe_batch(tokenizer)
    want = reference.probs(ids, mask)
    got = backend.probs(ids, mask)
    if got.shape != want.shape:
        raise BackendError(f"{backend.name} gives {got.shape} probabilities, PyTorch {want.shape}")
    # the [CLS] states feed the embedding map and neighbours: they must come out too, of the right shape
    _, hidden_ref = reference.forward(ids, mask, with_hidden=True)
    _, hidden = backend.forward(ids, mask, with_hidden=True)
    if hidden is None or hidden.shape != hidden_ref.shape:
        raise BackendError(f"{backend.name} gives no [CLS] states of shape {hidden_ref.shape}")
    return CheckResult(
        max_prob_diff=float(np.abs(got - want).max()),
        same_class=bool((got.argmax(1) == want.argmax(1)).all()),
        tolerance=tolerance_for(backend.name),
    )


# -- choosing a backend ---------------------------------------------------------------------------


def build_backend(name: str, model: Any, tokenizer: Any, *, cache_dir: Path | None, fingerprint: str,
                  calibration_texts: Sequence[str] | None = None) -> Backend:
    """Backend ``name`` for ``model`` (no check against PyTorch; see :func:`load_backend`)."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    name, _ = resolve(name)
    if name in ("torch", "torch-bf16"):
        if name == "torch-bf16":
            import torch

            if not torch.backends.mkldnn.is_available():
                raise BackendError("this PyTorch build has no oneDNN (needed for fast bf16 on the CPU)")
        return TorchBackend(model, bf16=name == "torch-bf16")
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise BackendError(f"onnxruntime is not installed ({exc})") from None
    if cache_dir is None:
        raise BackendError("ONNX backends need a cache folder for the exported graph")
    if name == "onnx-int8-static" and not calibration_texts:
        raise BackendError("static int8 needs calibration texts (a few hundred training texts)")
    try:
        path, seconds, cached = onnx_path(name, model, tokenizer, cache_dir=Path(cache_dir), fingerprint=fingerprint,
                                          calibration_texts=calibration_texts)
    except BackendError:
        raise
    except ImportError as exc:
        raise BackendError(f"the ONNX export needs a package that is missing ({exc})") from None
    except Exception as exc:  # the exporter cannot trace every architecture
        raise BackendError(f"export failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})"
                           ) from None
    backend = OnnxBackend(path, name=name)
    backend.export_seconds, backend.cached = seconds, cached
    return backend


def load_backend(name: str, model: Any, tokenizer: Any, *, cache_dir: Path | None, fingerprint: str,
                 calibration_texts: Sequence[str] | None = None) -> tuple[Backend, str]:
    """Backend ``name`` checked against PyTorch fp32, or ``torch`` when it cannot load or disagrees.

    Returns the backend and a one-line note (also logged: a warning on fallback, info otherwise).

    Raises
    ------
    ValueError : ``name`` is not one of :data:`BACKENDS` (a typo is the user's to fix, not a fallback).
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    name, why = resolve(name)
    reference = TorchBackend(model)
    if name == "torch":
        note = f"backend torch (PyTorch fp32{'; ' + why if why else ''})"
        log.info(note)
        return reference, note
    try:
        backend = build_backend(name, model, tokenizer, cache_dir=cache_dir, fingerprint=fingerprint,
                                calibration_texts=calibration_texts)
        result = check_backend(backend, reference, tokenizer)
    except BackendError as exc:
        note = f"backend {name} unavailable, using torch: {exc}"
        log.warning(note)
        return reference, note
    except Exception as exc:  # a session that cannot run the probe: same fallback, with the reason
        note = f"backend {name} unavailable, using torch: {type(exc).__name__}: {str(exc)[:200]}"
        log.warning(note)
        return reference, note
    if not result.ok:
        why = (f"probe probabilities differ from PyTorch fp32 by {result.max_prob_diff:.2g} "
               f"(tolerance {result.tolerance:g})" if result.max_prob_diff > result.tolerance
               else "a probe row changes its predicted class")
        note = f"backend {name} failed its check, using torch: {why}"
        log.warning(note)
        return reference, note
    extra = f", exported in {backend.export_seconds:.1f} s" if backend.export_seconds else ""
    extra += f"; {why}" if why else ""
    note = f"backend {name} (probe within {result.max_prob_diff:.1g} of PyTorch fp32{extra})"
    log.info(note)
    return backend, note
