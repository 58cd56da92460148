# The only commands a newcomer needs. `run` and `test` bootstrap the virtual environment
# themselves on a machine with nothing but Python 3.11 and make.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark

export DWH_HOME ?= $(CURDIR)/dwh_home
SCALE ?= 1.0
SEED ?= 20230215
# The demo's last delivered day: the edition that holds every demo report year.
PEILDATUM ?= 2023-12-31
# make test runs the suite on two workers (tests/conftest.py groups tests that share a fixture).
TEST_WORKERS ?= 2

.PHONY: run test test-fast lint bench clean install install-spark java

$(STAMP): pyproject.toml constraints.txt
	@echo "installing the pinned stack into $(VENV) (first time only, ~1 minute)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

install: $(STAMP)

# The Spark dbt target's extra (docs/scale-out.md) and the Java it runs on; the test suite
# compares both engines, so `make test` installs it. Debian's JRE when `java` is missing.
$(SPARK_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,spark]'
	@touch $@

java:
	@command -v java >/dev/null || { \
		echo "installing Java 17 for Spark (openjdk-17-jre-headless)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; }

install-spark: $(SPARK_STAMP) java

run: $(STAMP)
	$(BIN)/dwh demo --scale $(SCALE) --seed $(SEED)
	$(BIN)/dwh run --peildatum $(PEILDATUM)

test: $(SPARK_STAMP) java
	$(BIN)/pytest -n $(TEST_WORKERS)

test-fast: $(STAMP)
	$(BIN)/pytest -m "not e2e"

lint: $(STAMP)
	$(BIN)/ruff check flows tests benchmarks
	$(BIN)/ruff format --check flows tests benchmarks
	cd dbt_project && ../$(BIN)/sqlfluff lint models
	cd dbt_project && ../$(BIN)/sqlfluff lint --config .sqlfluff-spark models
	$(BIN)/mypy flows

# make bench BENCH_SCALES="1": the scales to measure; BENCH_REPEATS interleaved repetitions.
# BENCH_ENGINE_SCALES: the scales at which both dbt engines are timed (docs/scale-out.md).
BENCH_SCALES ?= 1 10 30
BENCH_REPEATS ?= 3
BENCH_ENGINE_SCALES ?= 1 10
bench: $(SPARK_STAMP) java
	$(BIN)/python -m benchmarks.run --scales $(BENCH_SCALES) --repeats $(BENCH_REPEATS)
	for s in $(BENCH_ENGINE_SCALES); do \
		DWH_SPARK_DRIVER_MEMORY=$${DWH_SPARK_DRIVER_MEMORY:-6g} $(BIN)/python -m benchmarks.engines --scale $$s || exit 1; done

clean:
	rm -rf $(VENV) dwh_home dbt_project/target dbt_project/logs .pytest_cache .cache test-artifacts
