# Everyday targets. CI runs `bash .ci/run` (gofmt, vet, race tests, deployment checks).
.PHONY: run test race bench fuzz lint ci

run: ## webhookd standalone (embedded NATS and store under ./data)
	go run ./cmd/webhookd --log-format text

test: ## the tests, as the README's second command
	go test -race ./...

race: test

bench: ## every benchmark, including the whole pipeline's events/s
	go test -run XXX -bench . -benchmem ./...

FUZZTIME ?= 30s
fuzz: ## every fuzz target for FUZZTIME each
	@for pkg in $$(go list ./...); do \
		for f in $$(go test -list 'Fuzz.*' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; go test -run XXX -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

lint: ## formatting and vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	go vet ./...

ci: ## what CI runs
	bash .ci/run
