# medvol — build, demo, tests, benchmarks. See README.md.
SWIFT ?= swift
VENV ?= .venv
PYTHON ?= python3

.PHONY: docs all deps build release demo test unit-tests sanitizers conformance venv benchmark fuzz clean

all: build

## Debian packages (ITK, GDCM, tools), installed only if missing.
deps:
	@scripts/install-deps.sh

## Python venv with the independent readers the conformance tests compare against.
venv: $(VENV)/.ready
$(VENV)/.ready: Tests/conformance/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r Tests/conformance/requirements.txt
	touch $@

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## The main job on a built-in sample: medvol writes a synthetic CT series, converts it, describes it.
demo: release
	@scripts/demo.sh .build/release/medvol

## Every test: Swift unit tests, then the conformance suite against SimpleITK, nibabel and pydicom.
test: deps venv
	$(SWIFT) build --build-tests
	MEDVOL_PYTHON=$(CURDIR)/$(VENV)/bin/python $(SWIFT) test --skip-build
	MEDVOL=$(CURDIR)/.build/debug/medvol $(VENV)/bin/python -m pytest -q --basetemp=$(CURDIR)/.build/pytest Tests/conformance
	$(MAKE) docs

## The DocC catalog, built with warnings as errors (every symbol link resolves), and a check that every public
## symbol declared in Sources/MedVol has a doc comment.
docs:
	$(SWIFT) package --disable-sandbox generate-documentation --target MedVol --warnings-as-errors --output-path $(CURDIR)/.build/MedVol.doccarchive
	python3 scripts/check-documented.py

## The unit tests under AddressSanitizer (leak reports off: they come from Foundation and ITK) and
## ThreadSanitizer, each in its own build folder.
sanitizers: deps venv
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=detect_leaks=0 MEDVOL_PYTHON=$(CURDIR)/$(VENV)/bin/python $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	MEDVOL_PYTHON=$(CURDIR)/$(VENV)/bin/python $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan

unit-tests: deps
	$(SWIFT) test

conformance: deps venv
	$(SWIFT) build
	MEDVOL=$(CURDIR)/.build/debug/medvol $(VENV)/bin/python -m pytest -q --basetemp=$(CURDIR)/.build/pytest Tests/conformance
	$(MAKE) docs

## Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of every Swift reader, FUZZ_SECONDS per target;
## crash inputs land in Tests/fuzz-regressions/<target>/ and fail the run. See docs/fuzzing.md.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: deps
	SWIFT=$(SWIFT) scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

## Timings against cat, dcm2niix, SimpleITK and pydicom (writes docs/benchmarks.md).
benchmark: release venv
	$(VENV)/bin/python benchmarks/run.py --medvol .build/release/medvol

clean:
	rm -rf .build .build-fuzz .build-asan .build-tsan demo-output
