"""Embedding passages on a Ray cluster: Ray Data feeds a pool of model actors.

Each actor loads the same encoder a local build would use (``load_encoder``) once and runs
its ``encode_passages`` on a batch of rows, so the vectors are those of a local build up to
float rounding (batches are padded differently). Rows carry their position and results are
put back in the input order. Ray is imported only here, and only when a build asks for it
(``index --ray``); nothing else in newsqa imports this module.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.encoder.factory import backend_for
from retrieval.errors import ConfigError

if TYPE_CHECKING:
    from retrieval.settings import Settings

log = logging.getLogger(__name__)

#: The address value that means "start a Ray on this machine".
LOCAL = "local"


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # Ray Data is a separate part of the ray package
    except ImportError:
        raise ConfigError("embedding on Ray needs Ray: install newsqa[ray]") from None
    return ray


def _check_reachable(address: str) -> None:
    """Fail at once on a host:port nobody listens on (Ray itself retries for minutes)."""
    import socket

    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return  # e.g. "auto": Ray resolves it and fails fast itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address!r}: {exc}") from None


def _local_batches(
    settings: Settings, backend: str, texts: Sequence[str], batch_size: int
) -> list[list[int]]:
    """The batches (positions) in which a local build's encoder would embed ``texts``.

    The int8 encoder quantises activations per batch, so a vector depends on its batch
    mates: the cluster must see the local build's batches to return the local vectors.
    ONNX batches by token count (:func:`~retrieval.encoder.onnx.token_batches`),
    sentence-transformers by characters, ``batch_size`` at a time.
    """
    if backend.startswith("onnx-"):
        from pathlib import Path

        from tokenizers import Tokenizer

        from retrieval.encoder.base import resolve_model
        from retrieval.encoder.onnx import check_pooling, token_batches

        model_dir = Path(resolve_model(settings.model))
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(check_pooling(model_dir))
        lengths = [len(e.ids) for e in tokenizer.encode_batch(list(texts))]
        return token_batches(lengths, batch_size)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    step = max(batch_size, 1)
    return [order[g : g + step] for g in range(0, len(order), step)]


def _group(
    ids: list[int], texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
) -> bytes:
    return pickle.dumps((ids, [texts[i] for i in ids], [list(spans[i]) for i in ids]))


class _EmbedActor:
    """One model per actor: loaded in ``__init__``, used for every group it is given.

    A row is one group of passages (pickled between our own processes), so Ray never
    splits or merges the batches the driver formed.
    """

    def __init__(self, settings: Settings, backend: str) -> None:
        from retrieval.encoder.factory import load_encoder

        self.encoder = load_encoder(settings, backend)
        self.batch_size = settings.batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = []
        for raw in batch["group"]:
            positions, texts, spans = pickle.loads(raw)
            passages, sentences = self.encoder.encode_passages(texts, spans, self.batch_size)
            out.append(pickle.dumps((positions, passages, sentences, self.encoder.digest)))
        return {"result": np.array(out, dtype=object)}


class RayEncoder:
    """Encodes passages on a Ray cluster with the backend a local build would use.

    Only ``encode_passages`` runs on the cluster (that is the build's work); ``dimension``
    and ``digest`` are known once it has run.
    """

    def __init__(self, settings: Settings, address: str = LOCAL, actors: int | None = None):
        self.settings = settings
        self.model = settings.model
        self.backend = backend_for(settings)
        self.digest = ""
        self._dimension = 0
        self.ray = _import_ray()
        if not self.ray.is_initialized():
            self._connect(address)
        resources = self.ray.cluster_resources()
        self.gpus = int(resources.get("GPU", 0))
        cpus = int(resources.get("CPU", 1))
        # One actor per GPU when there are GPUs, else one per CPU (each runs one batch).
        self.actors = actors or max(1, self.gpus or cpus)
        log.info("Ray cluster: %d CPUs, %d GPUs; %d embedding actors", cpus, self.gpus, self.actors)

    def _connect(self, address: str) -> None:
        if address not in ("", LOCAL):
            _check_reachable(address)
        try:
            if address in ("", LOCAL):
                self.ray.init(include_dashboard=False, log_to_driver=False)
            else:
                self.ray.init(address=address, log_to_driver=False)
        except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError ...
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"cannot reach the Ray cluster at {address!r}: {first}") from None

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        passages, _ = self.encode_passages(texts, [[] for _ in texts], batch_size, progress)
        return passages

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        batch_size: int = 64,
        progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        ray = self.ray
        from ray.data import ActorPoolStrategy, DataContext

        # Our own bar counts rows as the local build's does; Ray's operator bars would
        # print alongside it.
        DataContext.get_current().enable_progress_bars = False
        n = len(texts)
        # Groups of whole local batches in the local order (see _local_batches), about
        # 8 x batch_size rows each; an actor re-forms the same batches from a group.
        groups: list[bytes] = []
        members: list[int] = []
        for local in _local_batches(self.settings, self.backend, texts, batch_size):
            members.extend(local)
            if len(members) >= max(batch_size, 1) * 8:
                groups.append(_group(members, texts, spans))
                members = []
        if members:
            groups.append(_group(members, texts, spans))
        ds = ray.data.from_items([{"group": g} for g in groups], override_num_blocks=len(groups))
        ds = ds.map_batches(
            _EmbedActor,
            fn_constructor_args=(self.settings, self.backend),
            batch_size=1,
            batch_format="numpy",
            compute=ActorPoolStrategy(size=max(1, min(self.actors, len(groups)))),
            num_gpus=1 if self.gpus else None,
        )
        first = np.cumsum([0, *(len(s) for s in spans)])
        passages = np.zeros((0, 0), np.float32)
        sentences = np.zeros((0, 0), np.float32)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=n, desc="embedding", unit="chunk")
        for batch in ds.iter_batches(batch_format="numpy", batch_size=1):
            ids, vecs, sents, digest = pickle.loads(batch["result"][0])
            if not passages.size:
                self._dimension, self.digest = int(vecs.shape[1]), str(digest)
                passages = np.zeros((n, self._dimension), np.float32)
                sentences = np.zeros((int(first[-1]), self._dimension), np.float32)
            passages[ids] = vecs
            rows = [np.arange(first[i], first[i + 1]) for i in ids]
            if rows:
                sentences[np.concatenate(rows).astype(np.int64)] = sents
            if bar is not None:
                bar.update(len(ids))
        if bar is not None:
            bar.close()
        return passages, sentences
