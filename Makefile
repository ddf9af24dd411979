# Release-style build: stamps the build information that `vigil --version`
# prints. `go build ./cmd/vigil` works too and falls back to the VCS data
# the Go toolchain embeds.
PKG := github.com/vigil-monitoring/vigil/internal/version
VERSION ?= $(shell cat VERSION)
LDFLAGS := -X $(PKG).Version=$(VERSION) \
	-X $(PKG).Revision=$(shell git rev-parse HEAD 2>/dev/null) \
	-X $(PKG).Branch=$(shell git rev-parse --abbrev-ref HEAD 2>/dev/null) \
	-X $(PKG).BuildUser=$(shell whoami)@$(shell hostname) \
	-X $(PKG).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)

.PHONY: build test ci
build:
	go build -ldflags "$(LDFLAGS)" -o vigil ./cmd/vigil

test:
	go test ./...

ci:
	bash .ci/run
