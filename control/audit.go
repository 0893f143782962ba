package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/redact"
	"github.com/webhookd/webhookd/storage"
)

// maxAuditRequest caps the request kept in an audit entry.
const maxAuditRequest = 64 << 10

// audit records a mutating command, whatever its outcome: who asked, what, and what came of
// it. A failure to write it is logged; the command's reply is not changed by it.
func (r *Responder) audit(c *call, e *controlapi.Error) {
	req := c.auditRequest
	if req == "" {
		var user string
		req, user = maskBody(c.body)
		if c.user == "" {
			c.user = user
		}
	}
	if len(req) > maxAuditRequest {
		req = storage.CapBody(req, maxAuditRequest) + "…"
	}
	entry := storage.AuditEntry{At: r.o.Now().UTC(), User: c.user, Command: c.cmd, Request: req, OK: e == nil, Result: c.summary}
	if e != nil {
		entry.Result = e.Error()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 5*time.Second)
	defer cancel()
	if err := r.o.Store.InsertAudit(ctx, entry); err != nil {
		r.o.Log.Error("write audit entry", "command", c.cmd, "user", c.user, "error", err)
	}
}

// maskBody returns a request body as the audit may keep it, masked by redact.JSON wherever its
// credentials are (secret_key, header values, URLs, any credential-like key), with keys matched
// case-insensitively as the command's decoding matches them, and the "user" it names. A body
// that is not a JSON object is not kept at all: it could hold anything.
func maskBody(body []byte) (masked, user string) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return "", ""
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil || v == nil {
		return fmt.Sprintf("<%d bytes, not a JSON object>", len(body)), ""
	}
	if u, ok := v["user"].(string); ok {
		user = u
	}
	redact.JSON(v)
	out, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%d bytes>", len(body)), user
	}
	return string(out), user
}
