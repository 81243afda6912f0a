"""Skip the last-layer work that a [CLS]-pooled classifier throws away.

A BERT- or DistilBERT-style sequence classifier reads only position 0 ([CLS]) of its last
encoder layer. That layer still needs the keys and values of every position, but its attention
output projection, its feed-forward block and its layer norms matter only at position 0.
:func:`restrict_last_layer_to_cls` adds forward pre-hooks that cut those inputs down to
position 0. That removes about 9/12 of the last layer's matrix work: about 10% of a 6-layer
forward, measured by ``bench/speed/explain.py`` and ``bench/speed/analysis.py``. The logits and
the [CLS] hidden state stay the same; ``hidden_states[-1]`` then has length 1.

The hooks stay only if a probe batch gives the same logits and [CLS] state with them as without,
and a last hidden state of length 1 (so no later residual broadcast the cut back to every
position). A model whose layout is not recognised, whose head reads another position, or that is
not in eval mode (dropout makes the probe disagree) is left untouched.  Either way one line is
logged (logger ``core.classifier.cls_only``, INFO) saying whether the hooks were applied and, if not, why.

The trick applies to the PyTorch backends (``torch``, ``torch-bf16``) only: ONNX graphs are
exported from the model without the hooks (:func:`detached_cls_only`).

Layouts recognised: BERT-style encoders (``encoder.layer[-1].attention.output``: BERT, MiniLM,
RoBERTa, ELECTRA; tested on tiny models of each) and DistilBERT (``transformer.layer[-1]``).

Example
-------
>>> restrict_last_layer_to_cls(model)          # doctest: +SKIP
True
>>> model(**batch).hidden_states[-1].shape     # doctest: +SKIP
torch.Size([8, 1, 384])
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

__all__ = ["detached_cls_only", "restrict_last_layer_to_cls"]

log = logging.getLogger(__name__)

_HOOKS_ATTR = "_cls_only_hooks"
_MODULES_ATTR = "_cls_only_modules"


def _first_position(module: Any, args: tuple) -> tuple:
    """Forward pre-hook: keep only position 0 of every (batch, length, dim) input."""
    return tuple(a[:, :1] if getattr(a, "ndim", 0) == 3 else a for a in args)


def _position_wise_modules(model: Any) -> list[Any] | None:
    """The last layer's modules that work position by position after attention, or None."""
    base = getattr(model, "base_model", None)
    encoder = getattr(base, "encoder", None)
    layers = getattr(encoder, "layer", None)
    if layers is not None and len(layers) and hasattr(getattr(layers[-1], "attention", None), "output"):
        # BERT-style layers (BERT, MiniLM, RoBERTa, ELECTRA, ...): attention.output(hidden, residual)
        return [layers[-1].attention.output]
    transformer = getattr(base, "transformer", None)
    layers = getattr(transformer, "layer", None)
    if layers is not None and len(layers):
        last = layers[-1]
        if hasattr(getattr(last, "attention", None), "out_lin") and hasattr(last, "sa_layer_norm"):
            # DistilBERT: out_lin gives (B, 1, D); its residual add broadcasts to (B, L, D) (cheap,
            # elementwise) and the sa_layer_norm hook cuts that back to [CLS] before the FFN.
            return [last.attention.out_lin, last.sa_layer_norm]
    return None


def _probe(model: Any) -> tuple[Any, Any]:
    """Logits and last-layer hidden states of a fixed two-row batch (one row padded)."""
    import torch

    generator = torch.Generator().manual_seed(0)
    vocab = int(getattr(model.config, "vocab_size", 1000))
    ids = torch.randint(low=min(1000, vocab - 1), high=vocab, size=(2, 9), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    device = getattr(model, "device", ids.device)
    with torch.inference_mode():
        out = model(input_ids=ids.to(device), attention_mask=mask.to(device), output_hidden_states=True)
    return out.logits.float().cpu(), out.hidden_states[-1].float().cpu()


def restrict_last_layer_to_cls(model: Any, *, atol: float = 1e-4) -> bool:
    """Compute the last encoder layer after attention at [CLS] only, if that keeps the logits.

    Logs one INFO line (logger ``core.classifier.cls_only``) saying whether the hooks were applied, and why not.

    Parameters
    ----------
    model : transformers ``*ForSequenceClassification`` in eval mode
        Modified in place (hooks); call it once, before the model is shared between threads.
    atol : float
        Largest allowed difference of the probe batch's logits and [CLS] states.

    Returns
    -------
    bool
        Whether the hooks are in place (also when they already were).
    """
    if getattr(model, _HOOKS_ATTR, None):
        return True
    name = type(model).__name__
    applied, reason = _try_restrict(model, atol)
    if applied:
        log.info("cls_only: %s runs its last layer at [CLS] only (probe logits unchanged)", name)
    else:
        log.info("cls_only: %s left unchanged: %s", name, reason)
    return applied


def _try_restrict(model: Any, atol: float) -> tuple[bool, str]:
    """Add the hooks if the probe allows: (applied, why not)."""
    import torch

    if getattr(model, "training", False):
        return False, "the model is in train mode (dropout would make the probe disagree)"
    modules = _position_wise_modules(model)
    if modules is None:
        return False, "its layer layout is not a recognised BERT- or DistilBERT-style encoder"
    try:
        logits, hidden = _probe(model)
    except Exception as exc:  # a model this probe cannot drive is left as it is
        return False, f"the probe batch could not run ({type(exc).__name__}: {str(exc)[:120]})"
    handles = [m.register_forward_pre_hook(_first_position) for m in modules]
    why = ""
    try:
        logits2, hidden2 = _probe(model)
        if logits2.shape != logits.shape or not bool(torch.allclose(logits2, logits, atol=atol, rtol=0)):
            why = "the probe's logits changed with the hooks"
        elif hidden2.shape[1] != 1:  # nothing may broadcast the cut back to every position
            why = "a later step broadcast the cut back to every position"
        elif not bool(torch.allclose(hidden2[:, 0], hidden[:, 0], atol=atol, rtol=0)):
            why = "the probe's [CLS] state changed with the hooks"
    except Exception as exc:
        why = f"the probe failed with the hooks ({type(exc).__name__}: {str(exc)[:120]})"
    if why:
        for h in handles:
            h.remove()
        return False, why
    setattr(model, _HOOKS_ATTR, handles)
    setattr(model, _MODULES_ATTR, modules)
    return True, ""


@contextlib.contextmanager
def detached_cls_only(model: Any) -> Iterator[Any]:
    """Run a block with the [CLS]-only hooks removed (for an export of the full model); put them back after."""
    handles = getattr(model, _HOOKS_ATTR, None)
    if not handles:
        yield model
        return
    for h in handles:
        h.remove()
    try:
        yield model
    finally:
        setattr(model, _HOOKS_ATTR, [m.register_forward_pre_hook(_first_position)
                                     for m in getattr(model, _MODULES_ATTR)])
