#!/usr/bin/env bash
# Deployment checks: the Helm chart, the Prometheus rules and configuration, and the metrics of a
# running webhookd, with the real tools. Runs as root on a fresh Debian machine that has Go;
# installs what it needs (idempotent: a second run reuses the tools) and needs no Docker.
#   bash .ci/deploy-checks.sh
# The Go side (dashboard and rule metric names, docker-compose.yml, strict decoding of the
# rendered chart, NATS permissions) is in deploy/*_test.go, a module of its own (deploy/go.mod),
# and runs with the other tests (`make test`, or `go test ./...` in deploy/).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

HELM_VERSION=v3.22.0
tools="${WEBHOOKD_CI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/webhookd-ci/bin}"
mkdir -p "$tools"

step() { printf '\n==> %s\n' "$*"; }

# ---------------------------------------------------------------------------------------------
step "install promtool (Debian package prometheus)"
if ! command -v promtool >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	# The package's maintainer scripts would start a Prometheus server; refuse service starts
	# while installing, unless the machine already has a policy of its own.
	policy=/usr/sbin/policy-rc.d
	made_policy=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		made_policy=1
	fi
	apt-get update -q
	apt-get install -y -q --no-install-recommends prometheus
	if [[ $made_policy == 1 ]]; then rm -f "$policy"; fi
fi
promtool --version 2>&1 | head -1

step "install helm $HELM_VERSION (from the Go module proxy)"
# A helm built by go install reports only "v3.22" (release builds stamp the patch version with
# -ldflags), so a marker file records which module version built the binary.
if [[ ! -x $tools/helm ]] || [[ "$(cat "$tools/helm.version" 2>/dev/null)" != "$HELM_VERSION" ]]; then
	GOBIN="$tools" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
	echo "$HELM_VERSION" >"$tools/helm.version"
fi
helm="$tools/helm"
echo "helm $HELM_VERSION ($("$helm" version --short))"

# ---------------------------------------------------------------------------------------------
chart=charts/webhookd
# Every optional part on, with made-up Secret names, so each template branch renders.
all_on=(
	--set serviceMonitor.enabled=true
	--set prometheusRule.enabled=true
	--set podDisruptionBudget.enabled=true
	--set nats.credentials.existingSecret=nats-creds
	--set nats.nkey.existingSecret=nats-nkey
	--set nats.userPassword.existingSecret=nats-user
	--set nats.tls.existingSecret=nats-tls
	--set configExistingSecret=webhookd-config
)

step "helm lint $chart"
"$helm" lint --strict "$chart"
"$helm" lint --strict "$chart" "${all_on[@]}"

step "helm template $chart"
out=$(mktemp -d)
tmp=""
pid=""
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$out"
	if [[ -n $tmp ]]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT

"$helm" template webhookd "$chart" --namespace webhookd >"$out/default.yaml"
"$helm" template webhookd "$chart" --namespace webhookd "${all_on[@]}" >"$out/all-on.yaml"
"$helm" template webhookd "$chart" --namespace webhookd \
	--set mongo.existingSecret= --set mongo.uri=mongodb://mongo:27017/?replicaSet=rs0 \
	--set podDisruptionBudget.enabled=true --set podDisruptionBudget.maxUnavailable=1 >"$out/dev.yaml"
for f in default all-on dev; do
	printf '%s: %s\n' "$f" "$(grep '^kind:' "$out/$f.yaml" | sort | uniq -c | tr -s ' ' | paste -sd, -)"
done
grep -q '^kind: ServiceMonitor' "$out/all-on.yaml"
grep -q '^kind: PrometheusRule' "$out/all-on.yaml"
grep -q '^kind: PodDisruptionBudget' "$out/all-on.yaml"
grep -q '^kind: Secret' "$out/dev.yaml"
# Missing required values must fail the render, not produce a broken Deployment.
if "$helm" template webhookd "$chart" --set mongo.existingSecret= >/dev/null 2>&1; then
	echo "helm template accepted a chart without a MongoDB URI Secret" >&2
	exit 1
fi
if "$helm" template webhookd "$chart" --set secretsKey.existingSecret= >/dev/null 2>&1; then
	echo "helm template accepted a chart without a secrets key file Secret" >&2
	exit 1
fi
if "$helm" template webhookd "$chart" --set nats.url= >/dev/null 2>&1; then
	echo "helm template accepted a chart without nats.url" >&2
	exit 1
fi

# ---------------------------------------------------------------------------------------------
step "promtool check rules / test rules / check config"
promtool check rules deploy/prometheus/alerts.yml
(cd deploy/prometheus && promtool test rules alerts_test.yml)
promtool check config deploy/prometheus/prometheus.yml

# ---------------------------------------------------------------------------------------------
step "promtool check metrics against a running webhookd"
if [[ ! -d cmd/webhookd ]]; then
	echo "cmd/webhookd does not exist: cannot check the metrics of a running webhookd" >&2
	exit 1
fi
tmp=$(mktemp -d)
go build -o "$tmp/webhookd" ./cmd/webhookd
http=127.0.0.1:18080
"$tmp/webhookd" --data-dir "$tmp/data" --http-addr "$http" --embedded-nats-listen 127.0.0.1:14222 \
	--config deploy/config/webhookd.yaml --log-format text >"$tmp/webhookd.log" 2>&1 &
pid=$!

deadline=$((SECONDS + 90))
until curl -fsS "http://$http/readyz" >/dev/null 2>&1; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "webhookd exited before it was ready:" >&2
		cat "$tmp/webhookd.log" >&2
		exit 1
	fi
	if ((SECONDS >= deadline)); then
		echo "webhookd was not ready within 90s:" >&2
		curl -sS "http://$http/readyz" >&2 || true
		cat "$tmp/webhookd.log" >&2
		exit 1
	fi
	sleep 0.5
done
echo "webhookd is ready"

curl -fsS "http://$http/metrics" >"$tmp/metrics.txt"
# promtool exits non-zero on a parse error; lint problems are printed, so any output fails too.
if ! problems=$(promtool check metrics <"$tmp/metrics.txt" 2>&1) || [[ -n $problems ]]; then
	echo "promtool check metrics found problems:" >&2
	printf '%s\n' "$problems" >&2
	exit 1
fi
# Every metric of CONTRACT.md section 7 is exported (the histogram through its _count).
for m in webhookd_events_total webhookd_delivery_attempts_total webhookd_delivery_duration_seconds_count \
	webhookd_requests_logged_total webhookd_control_commands_total webhookd_consumer_pending_messages; do
	if ! grep -q "^$m[{ ]" "$tmp/metrics.txt"; then
		echo "contract metric $m missing from /metrics" >&2
		exit 1
	fi
done
echo "promtool check metrics: no problems in $(grep -c '^webhookd_' "$tmp/metrics.txt") webhookd series"

kill -TERM "$pid"
if ! wait "$pid"; then
	echo "webhookd did not exit cleanly on SIGTERM:" >&2
	cat "$tmp/webhookd.log" >&2
	exit 1
fi
pid=""

step "deploy checks passed"
