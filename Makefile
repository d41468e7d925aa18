# newsqa tasks. `make run` and `make test` work on a fresh machine: both set up .venv first.
PY := .venv/bin/python

.PHONY: setup run index test lint bench clean

setup:
	bash scripts/setup.sh

run: setup  ## answer questions on the bundled corpus (Discord bot, or console without a token)
	$(PY) -m bot

index: setup  ## build or update the index of the corpus
	$(PY) -m retrieval index

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

test: lint  ## lint, type-check and run the test suite
	$(PY) -m pytest -q

bench: setup  ## answer quality and latency, conversations, encoders, indexing, reindexing, scale, stores, Ray build, bot latency
	$(PY) bench/answers.py
	$(PY) bench/quality.py
	$(PY) bench/conversations.py
	$(PY) bench/conversations.py --synthetic 450
	$(PY) bench/encoder.py
	$(PY) bench/indexing.py
	$(PY) bench/reindex.py
	$(PY) bench/scale.py
	$(PY) bench/stores.py --limit 500
	$(PY) bench/ray_build.py --docs 100
	$(PY) bench/bot_latency.py

clean:
	rm -rf var/index .pytest_cache .mypy_cache .ruff_cache
