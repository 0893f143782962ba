# Everyday targets. CI runs `bash .ci/run` (gofmt, tidy, vet, staticcheck, race tests, deployment
# checks).
# The repository is several Go modules: webhookd's own and nested ones (deploy,
# internal/mongotest) that keep test-only dependencies out of its go.mod. A pattern such as
# ./... stays inside one module, so every target runs in each (.ci/each).
.PHONY: run test race bench fuzz lint tidy ci image image-push

# The image the Helm chart deploys by default (charts/webhookd, image.repository), tagged with
# the release's version: the chart's appVersion for a release.
IMAGE ?= ghcr.io/webhookd/webhookd
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PLATFORMS ?= linux/amd64,linux/arm64

run: ## webhookd standalone (embedded NATS and store under ./data)
	go run ./cmd/webhookd --log-format text

test: ## the tests of every module, as the README's second command
	@bash .ci/each go test -race ./...

race: test

bench: ## every benchmark, including the whole pipeline's events/s
	@bash .ci/each go test -run XXX -bench . -benchmem ./...

FUZZTIME ?= 30s
fuzz: ## every fuzz target for FUZZTIME each
	@bash .ci/each bash -c 'for pkg in $$(go list ./...); do \
		for f in $$(go test -list "Fuzz.*" $$pkg | grep "^Fuzz"); do \
			echo "== $$pkg $$f"; go test -run XXX -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done'

lint: ## formatting, vet and staticcheck (pinned in .ci/staticcheck)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	@bash .ci/each go vet ./...
	@bash .ci/staticcheck

tidy: ## go mod tidy in every module
	@bash .ci/each go mod tidy

ci: ## what CI runs
	bash .ci/run

image: ## build the webhookd image as $(IMAGE):$(VERSION) for this machine
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE):$(VERSION) .

image-push: ## build for $(PLATFORMS) and push $(IMAGE):$(VERSION) (a release: VERSION=<the chart's appVersion>)
	docker buildx build --platform $(PLATFORMS) --build-arg VERSION=$(VERSION) -t $(IMAGE):$(VERSION) --push .
