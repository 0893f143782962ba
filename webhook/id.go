package webhook

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"strings"
)

// WebhookIDPrefix starts every webhook-id, as in the Standard Webhooks examples.
const WebhookIDPrefix = "msg_"

// idDomain separates these hashes from any other SHA-256 of the same ids.
const idDomain = "webhookd webhook-id v1\x00"

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewWebhookID returns the webhook-id of the delivery of an event through a rule to a
// definition: "msg_" and 32 lower-case base32 characters (160 bits of a SHA-256). It is a
// function of the three ids alone, so a redelivered event, a retry and a resend all carry the
// same id and receivers can deduplicate. Each id is length-prefixed, so no choice of ids can
// produce another triple's input ("a.b"+"c" versus "a"+"b.c").
func NewWebhookID(eventID, ruleID, definitionID string) string {
	h := sha256.New()
	h.Write([]byte(idDomain))
	var n [8]byte
	for _, s := range [...]string{eventID, ruleID, definitionID} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	sum := h.Sum(nil)
	return WebhookIDPrefix + strings.ToLower(idEncoding.EncodeToString(sum[:20]))
}
