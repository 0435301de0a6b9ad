# gpm's build, test and tooling entry points. CI runs `make test`, `make demo` and `make fuzz` (.ci/run).

GO       ?= go
BIN      := bin/gpm
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME ?= 10s
BENCH_MICRO ?= $(or $(TMPDIR),/tmp)/gpm-bench-micro.txt

.PHONY: all build test unit lint fuzz bench demo clean

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

clean:
	rm -rf bin
