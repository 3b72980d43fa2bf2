# The two commands of the README: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test chaos images bench screenshots clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV) || { echo "need python3-venv: apt-get install python3-venv"; exit 1; }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

## Start the console, a worker, beat and Redis at http://127.0.0.1:$${PORT:-8000}.
run: $(VENV)/.installed
	scripts/run.sh

## Run the whole test suite against real Redis, Docker and Chromium.
test: $(VENV)/.installed
	scripts/test.sh $(ARGS)

## Kill each process of a real `make run` under load (dockerd too) and count what was lost (none).
chaos: $(VENV)/.installed
	scripts/test.sh -m 'chaos or dockerd_restart' -s tests/test_chaos.py tests/test_faults.py

## Build the runtime images whose definitions changed, and install the blueprints' libraries.
images: $(VENV)/.installed
	scripts/services.sh docker
	$(PY) -m executor.images
	$(PY) manage.py blueprint_packages

## Measure the executor, the Lambda API, function URLs and a 2-minute soak of make run (one JSON object each).
bench: $(VENV)/.installed
	scripts/services.sh docker redis wrk
	$(PY) bench/invoke.py
	$(PY) bench/api.py
	$(PY) bench/http_triggers.py
	$(PY) bench/s3.py
	$(PY) bench/soak.py

## Screenshots of the console into docs/screenshots/ (real server, worker, Chromium).
screenshots: $(VENV)/.installed
	scripts/test.sh -m screenshots tests/test_screenshots.py

clean:
	rm -rf var/test var/media var/staticfiles
