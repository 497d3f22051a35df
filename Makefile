# Short aliases; the scripts they call do the work.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup test unit integration lint ci bench clean lock delivery services pyapp

setup:
	@scripts/setup.sh

lint: setup
	$(BIN)/ruff check runner tests bench
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest tests/unit

integration: setup
	$(BIN)/pytest tests/integration

test: lint
	$(BIN)/pytest

# The project's own pipeline, through dockstep, on the locally made Debian base.
ci: setup
	$(BIN)/dockstep run pipelines/ci.yml --var BASE_IMAGE=$$(images/bootstrap.sh debian)

# The delivery example: test, package (push to a local registry), deploy, verify.
delivery: setup
	scripts/ensure-registry.sh
	$(BIN)/dockstep run pipelines/delivery.yml --var BASE_IMAGE=$$(images/bootstrap.sh tiny)

# The services example: two services, their integration and a deploy chained on the api's
# image push, all from `dockstep run --all` in a scratch git repository (examples/services).
services: setup
	PYTHON=$(BIN)/python scripts/services-example.sh

# The worked example: a uv project tested against a PostgreSQL service, in two cells.
pyapp: setup
	$(BIN)/dockstep run examples/pyapp/pipeline.yml --var BASE_IMAGE=$$(images/bootstrap.sh debian)

bench: setup
	$(BIN)/python bench/all.py

clean: setup
	$(BIN)/dockstep clean

# Pin the dev dependencies pipelines/ci.yml installs (its cache key) to what .venv has.
lock: setup
	{ echo "# Exact versions of the dev dependencies, for the project's own pipeline (pipelines/ci.yml)."; \
	  echo "# Regenerate with \`make lock\` after changing pyproject.toml."; \
	  $(BIN)/pip freeze --exclude-editable | grep -v -e '^-e' -e '^dockstep'; } > requirements-dev.lock
