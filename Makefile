# Perisai: the two commands are `make dev` and `make test`; everything else is a step they call.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
UV := $(VENV)/bin/uv
# uv installs everything from uv.lock; it comes from PyPI into the venv, pinned here.
UV_VERSION := 0.13.9
PORT ?= 3000
LAMBDA_PYTHON := 3.14
LAMBDA_PLATFORM := aarch64-manylinux2014
# The Lambda runtime provides boto3, botocore and their own dependencies; the layer ships the rest.
LAMBDA_PROVIDED := boto3 botocore s3transfer urllib3 python-dateutil six
# Node 20 still runs the CDK; say so once in the README instead of on every synth.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 18,20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export PYTHONDONTWRITEBYTECODE := 1
export PYTHONPATH := $(CURDIR)/layers/common:$(CURDIR)/infra
# uv syncs this venv (not one of its own) and never downloads a Python.
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: dev test build layer openapi synth deploy bench partner lint lock clean

# The dev environment is exactly uv.lock (runtime + the dev extra); --locked also fails when
# pyproject.toml changed without `make lock`. Packages not in the lock are removed (pip and uv stay).
$(VENV)/.installed: pyproject.toml uv.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) sync --quiet --locked --extra dev
	touch $@

## lock: re-resolve uv.lock to the newest versions pyproject.toml allows (then commit it)
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) lock --upgrade

## build: the Lambda layer (no Docker) and the OpenAPI document it carries
build: $(VENV)/.installed openapi layer

openapi: $(VENV)/.installed
	$(PY) -m perisai_infra.openapi_doc

# The layer is the locked runtime dependencies (uv.lock, not the dev extra) less what the Lambda
# runtime provides, installed for Lambda's platform and Python from wheels only, each checked
# against the lock's hash; --no-deps: the export is already the whole closure.
# Layer size budget (docs/BENCHMARKS.md, under 25 MB unzipped): nothing pruned after that is imported
# at run time: package metadata and type stubs, the Swagger UI bundle (the API serves no Swagger UI),
# python-stdnum's other countries and data files (Perisai uses stdnum.id only), and the symbol tables
# of native libraries (--strip-unneeded keeps every dynamic symbol; skipped without llvm-strip).
layer: $(VENV)/.installed openapi
	rm -rf build/layer && mkdir -p build/layer/python
	$(UV) export --quiet --frozen --no-dev --no-emit-project --no-header --no-annotate \
		$(addprefix --no-emit-package ,$(LAMBDA_PROVIDED)) -o build/layer-requirements.txt
	$(UV) pip install --quiet --target build/layer/python --python-platform $(LAMBDA_PLATFORM) \
		--python-version $(LAMBDA_PYTHON) --only-binary :all: --no-deps --require-hashes \
		-r build/layer-requirements.txt
	for p in boto3 botocore s3transfer aws_xray_sdk; do \
		if [ -e build/layer/python/$$p ]; then echo "layer: $$p must not be in the layer" >&2; exit 1; fi; done
	rm -rf build/layer/python/bin build/layer/python/*.dist-info build/layer/python/*-stubs
	find build/layer/python -name '*.pyi' -delete
	rm -f build/layer/python/aws_lambda_powertools/event_handler/openapi/swagger_ui/*.{js,css}
	find build/layer/python/stdnum -mindepth 1 -maxdepth 1 -type d ! -name id -exec rm -rf {} +
	rm -f build/layer/python/stdnum/*.dat
	strip=$$(command -v llvm-strip || command -v aarch64-linux-gnu-strip || true); \
	if [ -n "$$strip" ]; then find build/layer/python -name '*.so' -exec "$$strip" --strip-unneeded {} +; \
	else echo "layer: no llvm-strip; native libraries keep their symbol tables" >&2; fi
	find build/layer/python -name '__pycache__' -prune -exec rm -rf {} +
	cp -r layers/common/perisai build/layer/python/perisai
	find build/layer/python/perisai -name '__pycache__' -prune -exec rm -rf {} +

## dev: the whole API on http://127.0.0.1:$(PORT) against an embedded AWS (moto)
# The local runtime runs the layer from source (layers/common), so it needs the OpenAPI
# document but not the Lambda-platform build of the layer; synth only needs its folder.
dev: $(VENV)/.installed openapi
	mkdir -p build/layer/python
	PORT=$(PORT) $(PY) -m local_runtime

## test: every test (unit, infra, API through the local runtime)
test: build
	$(PY) -m pytest -q -p no:cacheprovider

## synth: the CloudFormation template into cdk.out (cdk-nag runs inside)
synth: build
	npx --yes aws-cdk@2 synth --quiet

## deploy: needs AWS credentials (and `cdk bootstrap` once per account/region)
deploy: build
	npx --yes aws-cdk@2 deploy --require-approval broadening

## partner: administer partner keys, e.g. make partner ARGS="create --partner-id agen-jabar --name 'Agen Jabar' --channel agent_network --scopes enroll,pay --local"
partner: $(VENV)/.installed
	$(PY) -m perisai_admin.partner_cli $(ARGS)

bench: build
	$(PY) -m bench

## lint: ruff (rules in pyproject.toml), mypy --strict on the layer and the handlers, and no
## `# type: ignore` without an error code (ruff PGH003, mypy) and a reason after it. Runs every check, fails on any finding.
lint: $(VENV)/.installed
	status=0; \
	$(VENV)/bin/ruff check layers functions infra tests bench || status=1; \
	$(VENV)/bin/mypy layers/common/perisai functions || status=1; \
	if grep -rnE --include='*.py' '#[[:space:]]*type:[[:space:]]*ignore(\[[^]]*\])?[[:space:]]*$$' layers functions infra tests bench; then \
		echo 'lint: a `# type: ignore[code]` needs its reason after it, e.g. `# type: ignore[attr-defined]  # <why>`' >&2; status=1; fi; \
	exit $$status

clean:
	rm -rf build cdk.out .perisai .mypy_cache .ruff_cache
