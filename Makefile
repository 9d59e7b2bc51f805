# VizTube: `make run` serves the API, `make test` runs the suite. Both set everything up themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
REQS   := requirements.txt requirements-server.txt requirements-dev.txt
PYTEST_WORKERS ?= 2

.PHONY: run test lint migrate local package bench bench-upload bench-resumable bench-media worker clean redis-server nginx wrk chromium

# Set-up, said as it goes (a fresh clone installs for about a minute): pip's own lines, then how long it took.
# chalice 1.34 (its packager drives pip) requires pip<26.3.
$(STAMP): $(REQS)
	@start=$$(date +%s); \
	echo "Setting up $(VENV): the pinned Python packages of $(REQS) (about a minute the first time)"; \
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || exit 1; \
	$(BIN)/python -m pip install -q --upgrade "pip<26.3" || exit 1; \
	$(BIN)/python -m pip install --no-input -r requirements-dev.txt || exit 1; \
	touch $(STAMP); \
	echo "$(VENV) is set up ($$(( $$(date +%s) - start )) s)"

run: $(STAMP)  ## serve the API on HOST:PORT (default 127.0.0.1:8000) the production way
	$(BIN)/python -m infra.serve

test: $(STAMP) redis-server nginx chromium lint  ## lint, type check, then the whole suite against a real (embedded) PostgreSQL, redis-server and Chromium
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile

lint: $(STAMP)  ## ruff (style, imports, stale noqa) and mypy over shared/, functions/ and app.py
	$(BIN)/ruff check .
	$(BIN)/mypy

redis-server:  # the Redis paths are tested against Debian's redis-server, installed when missing
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server (Debian package)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null; }

chromium:  # the browser tests (tests/browser/) drive Debian's Chromium through Playwright, installed when missing
	@command -v chromium >/dev/null || { \
	  echo "installing chromium (Debian package)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

migrate: $(STAMP)  ## apply database migrations (DATABASE_URL, or the embedded database)
	$(BIN)/python -m shared.migrate

local: $(STAMP)  ## chalice's own development server
	$(BIN)/chalice local --no-autoreload --host $${HOST:-127.0.0.1} --port $${PORT:-8000} --stage dev

package: $(STAMP)  ## the Lambda package, SAM template and ffmpeg layer into build/package
	find functions shared -name __pycache__ -type d -prune -exec rm -rf {} +
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/chalice package --stage prod \
	  --template-format yaml --merge-template infra/sam/resources.yaml build/package
	$(BIN)/python layers/ffmpeg/build.py build/package/ffmpeg-layer.zip

bench: $(STAMP) wrk  ## seed a dataset, serve it as the one-box profile does, drive it with wrk; req/s against each endpoint's limit
	@ls $(VENV)/lib/python*/site-packages/pgserver/pginstall/bin/pgbench >/dev/null 2>&1 || command -v pgbench >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql-client >/dev/null; }
	$(BIN)/python -m infra.bench.http_bench $(BENCH_ARGS)

nginx:  # `nginx -t` checks the one-box site: Debian's nginx, installed when missing
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx-light >/dev/null; }

wrk:  # the load generator, Debian's package, installed when missing
	@command -v wrk >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; }

bench-upload: $(STAMP)  ## server memory while 100 MB videos upload (1 and 4 at once)
	$(BIN)/python -m infra.bench.upload_memory

worker: $(STAMP)  ## a job worker (no HTTP) for the home `make run` uses; start N of them for N workers
	$(BIN)/python -m infra.worker

bench-resumable: $(STAMP)  ## a 1 GB resumable (tus) upload with a connection cut half-way: time, server RSS, checksum
	$(BIN)/python -m infra.bench.resumable_upload

bench-media: $(STAMP)  ## 60 s 360p/720p/1080p uploads: time to first HLS play, to the whole ladder, video s per CPU s (vs before)
	$(BIN)/python -m infra.bench.first_play $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build .chalice/deployments
