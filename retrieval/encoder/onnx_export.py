"""Making the ONNX files of a sentence-transformers model (needs torch; run once per model).

Steps, each chosen by measurement on the packaged all-MiniLM-L6-v2 (bench/encoder.py):

1. export the transformer with eager attention (the graph that onnxruntime's BERT
   optimiser recognises), returning the token embeddings; pooling stays in numpy so the
   sentence spans of a chunk can be pooled from the same pass;
2. fuse attention, layer norms and GELU with ``onnxruntime.transformers.optimizer``:
   this is the fp32 file (cosine 1.0000 to torch);
3. quantise its weights to int8 per output channel (``quantize_dynamic``): this is the
   int8 file, a quarter of the size; per-channel scales keep cosine to fp32 at ~0.993
   where one scale per tensor gives ~0.96.

Files are written under a lock, to temporary names, then renamed, so two processes never
export twice at once and a reader never sees half a file. The export is deterministic for
given library versions: the same files (and sha256) come out again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from retrieval.errors import ModelError

log = logging.getLogger(__name__)

_OPSET = 17


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _export_transformer(model_dir: Path, dest: Path) -> tuple[int, int]:
    """The raw fp32 graph of the model's transformer; returns (heads, hidden size)."""
    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    hf: Any = st[0].auto_model  # a transformers model; typed loosely by the library
    hf.eval()
    hf.set_attn_implementation("eager")  # fused by the optimiser; SDPA's graph is not

    class TokenEmbeddings(torch.nn.Module):
        # transformers 5 takes keyword arguments only; the ONNX graph gets positional ones.
        def __init__(self) -> None:
            super().__init__()
            self.hf = hf

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.hf(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    _to_onnx(TokenEmbeddings(), dest, "token_embeddings")
    return int(hf.config.num_attention_heads), int(hf.config.hidden_size)


def _to_onnx(module: Any, dest: Path, output: str) -> None:
    """Export a torch module taking (input_ids, attention_mask, token_type_ids), any batch
    and length, to the raw fp32 graph ``dest`` whose one output is named ``output``."""
    import torch

    ids = torch.ones((2, 16), dtype=torch.int64)
    axes = {0: "batch", 1: "tokens"}
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about Python values in the graph
        torch.onnx.export(
            module, (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(dest),
            input_names=names, output_names=[output],
            dynamic_axes={n: axes for n in [*names, output]},
            opset_version=_OPSET, dynamo=False,
        )  # fmt: skip


def _fused_and_int8(raw: Path, heads: int, hidden: int) -> tuple[Path, Path]:
    """The fused fp32 graph and its int8 quantisation, written beside ``raw``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    fused = optimizer.optimize_model(
        str(raw), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1
    )
    fp32 = raw.with_name("fp32.onnx")
    fused.save_model_to_file(str(fp32))
    int8 = raw.with_name("int8.onnx")
    quantize_dynamic(
        str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True,
        # The fused operators are outside ONNX's shape inference; they output floats.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )  # fmt: skip
    return fp32, int8


def _write_meta(path: Path, onnx_file: Path, variant: str, model_dir: Path) -> None:
    import onnxruntime

    meta = {
        "variant": variant,
        "sha256": _sha256(onnx_file),
        "bytes": onnx_file.stat().st_size,
        "model_dir": str(model_dir),
        "onnxruntime": onnxruntime.__version__,
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, path)


@contextlib.contextmanager
def _lock(folder: Path) -> Iterator[None]:
    with open(folder / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # a concurrent exporter finishes first
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def export(model_dir: Path, folder: Path) -> None:
    """Write ``fp32.onnx`` and ``int8.onnx`` (and their ``.json``) into ``folder``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _lock(folder):
            if all((folder / f"{v}.json").is_file() for v in ("fp32", "int8")):
                return  # another process exported while this one waited
            try:
                _export_all(model_dir, folder)
            except ModelError:
                raise
            except Exception as exc:  # torch, onnx and onnxruntime raise many kinds
                raise ModelError(f"cannot export {model_dir} to ONNX: {exc}") from None
    except OSError as exc:  # the cache folder itself: a file in the way, read-only, full
        raise ModelError(
            f"cannot write the model cache {folder} (NEWSQA_MODEL_CACHE): {exc.strerror or exc}"
        ) from None


def _export_all(model_dir: Path, folder: Path) -> None:
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        raw = Path(tmp) / "raw.onnx"
        heads, hidden = _export_transformer(model_dir, raw)
        fp32, int8 = _fused_and_int8(raw, heads, hidden)
        for variant, made in (("fp32", fp32), ("int8", int8)):
            os.replace(made, folder / f"{variant}.onnx")
            _write_meta(folder / f"{variant}.json", folder / f"{variant}.onnx", variant, model_dir)
    log.info("exported %s to ONNX in %s", model_dir, folder)


def reader_model(model_dir: Path, arrays: dict[str, Any] | None = None) -> Any:
    """The packaged transformer with a start/end head (torch), its transformer layers
    changed by the weights file's ``arrays`` (`retrieval.answer.reader`) when given."""
    import numpy as np
    import torch
    from transformers import AutoModel

    class ReaderModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
            self.head = torch.nn.Linear(int(self.bert.config.hidden_size), 2)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            # transformers 5 takes keyword arguments only; the ONNX graph gets positional ones.
            states = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            return self.head(states)

    model = ReaderModel()
    if arrays is not None:
        state = model.state_dict()
        with torch.no_grad():
            for name, value in state.items():
                if f"{name}.q" in arrays:  # int8 rows and their scales
                    q, scale = arrays[f"{name}.q"], arrays[f"{name}.scale"]
                    delta = q.astype(np.float32) * scale[:, None]
                    value += torch.from_numpy(delta)
                elif f"{name}.delta" in arrays:
                    value += torch.from_numpy(arrays[f"{name}.delta"].astype(np.float32))
                elif name.startswith("head."):
                    value.copy_(torch.from_numpy(arrays[name].astype(np.float32)))
    model.eval()
    return model


def export_reader(model_dir: Path, weights: Path, folder: Path) -> None:
    """Write the reader graph of ``weights`` as ``int8.onnx`` (and ``int8.json``) into
    ``folder``: exported, fused and quantised as the encoder is."""
    from retrieval.answer.reader import read_weights

    arrays = read_weights(weights)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _lock(folder):
            if (folder / "int8.json").is_file():
                return  # another process exported while this one waited
            try:
                _export_reader(model_dir, arrays, folder)
            except ModelError:
                raise
            except Exception as exc:  # torch, onnx and onnxruntime raise many kinds
                raise ModelError(f"cannot export the reader to ONNX: {exc}") from None
    except OSError as exc:
        raise ModelError(
            f"cannot write the model cache {folder} (NEWSQA_MODEL_CACHE): {exc.strerror or exc}"
        ) from None


def _export_reader(model_dir: Path, arrays: dict[str, Any], folder: Path) -> None:
    model = reader_model(model_dir, arrays)
    model.bert.set_attn_implementation("eager")  # fused by the optimiser; SDPA's graph is not
    config = model.bert.config
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        raw = Path(tmp) / "raw.onnx"
        _to_onnx(model, raw, "logits")
        _, int8 = _fused_and_int8(raw, int(config.num_attention_heads), int(config.hidden_size))
        os.replace(int8, folder / "int8.onnx")
        _write_meta(folder / "int8.json", folder / "int8.onnx", "int8", model_dir)
    log.info("exported the reader to ONNX in %s", folder)
