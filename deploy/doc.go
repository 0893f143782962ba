// Package deploy holds webhookd's deployment assets (Grafana dashboard, Prometheus rules and
// configuration, NATS configuration, a sample configuration and receiver) and, in its tests, the
// checks that keep them true to what webhookd exports and to the tools that read them: every
// metric a dashboard panel or an alert rule names exists, docker-compose.yml loads with the
// compose specification's loader and mounts only files that exist, the Helm chart renders into
// manifests that decode strictly into the Kubernetes API types, and the NATS users get exactly
// the subjects they need. The heavy libraries these checks use are imported by _test.go files
// only, so they never reach the webhookd binary.
package deploy
