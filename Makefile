# gpm's build, test and tooling entry points. CI runs .ci/run: make test, demo, fuzz,
# release-test, ci-test and image.

GO       ?= go
BIN      := bin/gpm
# The release version: the tag on a tagged commit, else a Go pseudo-version
# (v1.2.4-0.20261201093000-abcdef123456 after v1.2.3), "+dirty" for changes.
# Recursive (=) so that only the targets that link gpm compute it.
VERSION  ?= $(shell $(GO) run ./scripts/release version 2>/dev/null || echo devel)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   = -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME ?= 10s
BENCH_MICRO ?= $(or $(TMPDIR),/tmp)/gpm-bench-micro.txt

.PHONY: all build test unit lint fuzz bench demo dist release-test ci-test image clean

all: build

## build: compile bin/gpm
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gpm

## test: lint, then every unit and end-to-end test with the race detector,
## naming each package as it starts so that a long one is not a silent wait
test: lint
	@set -e; for p in $$($(GO) list ./...); do echo "testing $$p"; $(GO) test -race -count=1 $$p; done

## unit: the tests without the race detector (faster while editing)
unit:
	$(GO) test -count=1 ./...

## lint: gofmt check, go vet (also as Windows and macOS see the code), a tidy go.mod, and builds for every release platform
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	$(GO) mod tidy -diff
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/gpm
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./cmd/gpm

## fuzz: run every fuzz target for FUZZTIME (default 10s) each; CI runs it with 5s
fuzz:
	GO=$(GO) ./scripts/fuzz.sh $(FUZZTIME)

## bench: Go micro-benchmarks, then the end-to-end benchmark (bench/), which checks the performance targets and rewrites BENCHMARKS.md
bench:
	@command -v curl >/dev/null 2>&1 || (apt-get update && apt-get install -y curl)
	$(GO) test -run='^$$' -bench=. -benchmem ./... | tee $(BENCH_MICRO)
	@! grep -q '^FAIL' $(BENCH_MICRO)
	$(GO) run ./bench -micro $(BENCH_MICRO) -out BENCHMARKS.md

## demo: build gpm and run its main job end to end against a local registry
demo: build
	./scripts/demo.sh $(BIN)

## dist: reproducible release archives for every platform, and dist/SHA256SUMS (scripts/release)
dist:
	rm -rf dist
	GO=$(GO) $(GO) run ./scripts/release dist -o dist

## release-test: check dist (reproducible from a fresh clone, every archive runs or is the right binary) and scripts/install.sh against gpm serve
release-test: build dist
	GO=$(GO) ./scripts/release-test.sh $(BIN) dist

## ci-test: run the CI/CD components of templates/ (gitlab-ci-local, installed into .tools/) and gpm's publish job against gpm serve
ci-test: build dist
	GO=$(GO) ./scripts/ci-test.sh $(BIN) dist

## image: OCI layout archive gpm-image.tar (linux/amd64 + linux/arm64, the dist binaries, CA certificates, non-root), no daemon; then checks it by unpacking and running its gpm
image: dist
	@test -f /etc/ssl/certs/ca-certificates.crt || (apt-get update && apt-get install -y ca-certificates)
	cd scripts/image && $(GO) run . -dist ../../dist -version '$(VERSION)' -commit '$(COMMIT)' \
		-time $$(git log -1 --format=%ct) -o ../../gpm-image.tar
	cd scripts/image && $(GO) run . -check ../../gpm-image.tar -version '$(VERSION)'

clean:
	rm -rf bin dist gpm-image.tar
