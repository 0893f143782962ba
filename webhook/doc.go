// Package webhook is what a receiver sees of a delivery (CONTRACT.md section 3): the JSON body,
// the projection of an event's data onto a fields set, the stable webhook-id, and the Standard
// Webhooks signature (https://www.standardwebhooks.com) with its whsec_ secrets.
//
// It does no I/O: package delivery sends what this package builds, and receivers (and our own
// tests) check a request with Verify.
package webhook
