"""ONNX export and int8 quantisation of a classifier, cached per model fingerprint and backend.

:func:`onnx_path` gives the cached graph of a backend (``onnx``, ``onnx-int8``, ``onnx-int8-static``),
exporting it on a miss with :func:`export_onnx` (PyTorch's dynamo exporter) and quantising with
:func:`quantize` (onnxruntime). :mod:`core.classifier.backends` loads and checks the graphs.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.files import staged_folder

log = logging.getLogger(__name__)

#: The probe batch: varied lengths, so one row pads the others (the mask path is checked too).
PROBE_TEXTS = (
    "i feel so happy today",
    "i am furious that my brother broke my phone and then laughed at me about it",
    "i was scared walking home alone in the dark",
    "what a surprise to see you here",
    "i love the way you look at me",
    "i feel lonely and sad since my best friend moved away to another city last month",
    "ok",
    "i am not sure how i feel about the new job yet but the people there seem nice enough",
)



def probe_batch(tokenizer: Any, texts: Sequence[str] = PROBE_TEXTS) -> tuple[np.ndarray, np.ndarray]:
    """Padded ids and mask of ``texts`` (the fixed probe sentences by default)."""
    enc = tokenizer(list(texts), padding=True, return_tensors="np", return_token_type_ids=False)
    return enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)


class _ExportWrapper:
    """A module returning ``(logits, [CLS] state)`` for ``(input_ids, attention_mask)``; built lazily (torch import)."""

    @staticmethod
    def build(model: Any) -> Any:
        import torch

        class Wrapper(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask):
                out = self.inner(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
                return out.logits, out.hidden_states[-1][:, 0]

        return Wrapper(model).eval()


def export_onnx(model: Any, tokenizer: Any, path: Path) -> None:
    """Export ``model`` to ``path`` with dynamic batch and length (``torch.onnx.export``, dynamo exporter).

    The legacy TorchScript exporter (``dynamo=False``) gives wrong logits for transformers 5 models
    (their attention-mask code is traced for the example's shape), so only the dynamo exporter is used.
    The [CLS]-only hooks of :mod:`core.classifier.cls_only` are removed for the export and put back after.
    """
    import contextlib
    import io

    import torch

    from core.classifier.cls_only import detached_cls_only

    ids, mask = probe_batch(tokenizer, PROBE_TEXTS[:2])
    batch, length = torch.export.Dim("batch"), torch.export.Dim("length")
    dims = {"input_ids": {0: batch, 1: length}, "attention_mask": {0: batch, 1: length}}
    with detached_cls_only(model), contextlib.redirect_stdout(io.StringIO()), torch.inference_mode(False):
        torch.onnx.export(
            _ExportWrapper.build(model), (torch.as_tensor(ids), torch.as_tensor(mask)), str(path),
            input_names=["input_ids", "attention_mask"], output_names=["logits", "cls"],
            dynamic_shapes=dims, dynamo=True, external_data=False, verbose=False,
        )


class _Calibration:
    """An ``onnxruntime.quantization.CalibrationDataReader`` over tokenised texts, a batch at a time."""

    def __init__(self, tokenizer: Any, texts: Sequence[str], batch: int = 16) -> None:
        self._batches = [probe_batch(tokenizer, texts[i: i + batch]) for i in range(0, len(texts), batch)]
        self._i = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._i >= len(self._batches):
            return None
        ids, mask = self._batches[self._i]
        self._i += 1
        return {"input_ids": ids, "attention_mask": mask}

    def rewind(self) -> None:
        self._i = 0


def quantize(fp32_path: Path, out_path: Path, *, static_texts: Sequence[str] | None, tokenizer: Any) -> None:
    """int8 weights (MatMul only) of the fp32 graph; activations dynamic, or static calibrated on ``static_texts``."""
    from onnxruntime.quantization import QuantFormat, QuantType, quant_pre_process, quantize_dynamic, quantize_static

    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp:
        pre = Path(tmp) / "pre.onnx"
        try:
            quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        except Exception as exc:  # pre-processing only helps; quantise the plain graph without it
            log.debug("quant_pre_process skipped: %s", exc)
            shutil.copyfile(fp32_path, pre)
        if static_texts is None:
            quantize_dynamic(str(pre), str(out_path), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                             per_channel=True)
        else:
            reader = _Calibration(tokenizer, list(static_texts))
            quantize_static(str(pre), str(out_path), reader, quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                            op_types_to_quantize=["MatMul"], per_channel=True,
                            extra_options={"ActivationSymmetric": True, "WeightSymmetric": True})


def onnx_path(name: str, model: Any, tokenizer: Any, *, cache_dir: Path, fingerprint: str,
              calibration_texts: Sequence[str] | None = None) -> tuple[Path, float, bool]:
    """The cached graph for backend ``name``, exported/quantised on a miss: (path, seconds spent, was cached).

    ``onnx-int8-static`` needs ``calibration_texts`` (checked by :func:`core.classifier.backends.build_backend`).
    """
    folder = Path(cache_dir) / "backends" / f"{fingerprint}-{name}"
    path = folder / "model.onnx"
    if path.is_file() and (folder / "export.json").is_file():
        return path, 0.0, True
    start = time.perf_counter()
    with staged_folder(folder, replace=False) as tmp:  # another process that finished first keeps its graph
        if name == "onnx":
            export_onnx(model, tokenizer, tmp / "model.onnx")
        else:
            fp32, _, _ = onnx_path("onnx", model, tokenizer, cache_dir=cache_dir, fingerprint=fingerprint)
            static = calibration_texts if name == "onnx-int8-static" else None
            quantize(fp32, tmp / "model.onnx", static_texts=static, tokenizer=tokenizer)
        seconds = time.perf_counter() - start
        meta = {"backend": name, "fingerprint": fingerprint, "export_seconds": round(seconds, 3),
                "calibration_texts": len(calibration_texts or ()) if name == "onnx-int8-static" else 0}
        (tmp / "export.json").write_text(json.dumps(meta), encoding="utf-8")
    return path, seconds, False
