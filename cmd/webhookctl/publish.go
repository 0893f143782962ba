package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/event"
	"github.com/webhookd/webhookd/publisher"
	"github.com/webhookd/webhookd/secrets"
	"github.com/webhookd/webhookd/webhook"
)

type publishCmd struct {
	Entity     string   `name:"entity" required:"" help:"Entity, e.g. customer ([a-z0-9_]+)."`
	Action     string   `name:"action" required:"" help:"Action, e.g. updated ([a-z0-9_]+)."`
	EntityID   string   `name:"entity-id" required:"" help:"Entity id, e.g. C-1001."`
	Data       string   `name:"data" default:"{}" help:"The entity's fields: a JSON object, or @FILE to read it from a file."`
	ID         string   `name:"id" help:"Event id (default: a random one). Publishing the same id again is stored once."`
	Actor      string   `name:"actor" help:"Who made the change."`
	Changed    []string `name:"changed" sep:"," help:"Names of the fields that changed, comma separated."`
	OccurredAt string   `name:"occurred-at" help:"RFC 3339 time of the change (default: now)."`
}

func (c *publishCmd) Help() string {
	return `The event is validated here (the rules of docs/webhooks.md, "Events") and published with
JetStream, its id as Nats-Msg-Id.

Example:

    webhookctl publish --entity customer --action updated --entity-id C-1001 \
      --changed status --data '{"name":"Ada","status":"active"}'`
}

func (c *publishCmd) Run(a *app) error {
	data := c.Data
	if rest, ok := strings.CutPrefix(data, "@"); ok {
		b, err := readFileLimited(rest, 1<<20)
		if err != nil {
			return usagef("--data: %w", err)
		}
		data = string(b)
	}
	if !json.Valid([]byte(data)) {
		return usagef("--data is not valid JSON")
	}
	id := c.ID
	if id == "" {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("make an event id: %w", err)
		}
		id = "evt-" + hex.EncodeToString(b)
	}
	at := c.OccurredAt
	if at == "" {
		at = time.Now().UTC().Format(time.RFC3339)
	}
	ev := &event.Event{ID: id, Entity: c.Entity, EntityID: c.EntityID, Action: c.Action, OccurredAt: at,
		Actor: c.Actor, Changed: c.Changed, Data: json.RawMessage(data)}
	if err := ev.Validate(); err != nil {
		return usagef("%v", err)
	}
	nc, err := a.conn()
	if err != nil {
		return err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("open JetStream: %w", err)
	}
	ctx, cancel := context.WithTimeout(a.ctx, a.Timeout)
	defer cancel()
	ack, err := publisher.New(js).Publish(ctx, ev)
	if err != nil {
		return &unavailableError{err: err}
	}
	if a.json() {
		return writeJSON(a.stdout, map[string]any{"id": id, "subject": ev.Subject(), "stream": ack.Stream,
			"sequence": ack.Sequence, "duplicate": ack.Duplicate})
	}
	dup := ""
	if ack.Duplicate {
		dup = " (a duplicate of an event already stored: not stored again)"
	}
	fmt.Fprintf(a.stdout, "Published event %s on %s: stream %s, sequence %d%s.\n", id, ev.Subject(), ack.Stream, ack.Sequence, dup)
	return nil
}

type secretCmd struct {
	Generate secretGenerateCmd `cmd:"" help:"Print a new secret key (whsec_ and 32 random bytes) for a webhook definition."`
	Keygen   secretKeygenCmd   `cmd:"" help:"Make a key for webhookd's --secrets-key-file, which encrypts secrets at rest."`
}

type secretKeygenCmd struct {
	Out string `name:"out" type:"path" help:"Write a new key file here (mode 0600; an existing file is never overwritten). Default: print the key line, to put first in an existing file when rotating."`
	ID  string `name:"id" help:"The key's id (letters, digits, '.', '_', '-'). Default: k<today>-<random>."`
}

func (c *secretKeygenCmd) Help() string {
	return `A key file has one key a line, "<key id> <base64 of 32 random bytes>"; the first key encrypts,
every key decrypts. Give every webhookd replica the same file (--secrets-key-file) and keep a copy:
without it the secrets in the store cannot be read.

    webhookctl secret keygen --out /etc/webhookd/secrets.key

To rotate, put a new key first and keep the old one listed until webhookd_secrets_stale is 0 on
every replica (docs/operations.md):

    (umask 077; { webhookctl secret keygen; cat secrets.key; } > secrets.key.new)`
}

func (c *secretKeygenCmd) Run(a *app) error {
	line, err := secrets.NewKeyLine(c.ID)
	if err != nil {
		return usagef("--id: %v", err)
	}
	id, _, _ := strings.Cut(line, " ")
	if c.Out == "" {
		if a.json() {
			return writeJSON(a.stdout, map[string]string{"key_id": id, "line": strings.TrimSuffix(line, "\n")})
		}
		_, err := io.WriteString(a.stdout, line)
		return err
	}
	content := "# webhookd secrets key file (--secrets-key-file): the first key encrypts, every key decrypts.\n" + line
	if err := secrets.CreateFile(c.Out, []byte(content)); err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.stdout, map[string]string{"key_id": id, "file": c.Out})
	}
	fmt.Fprintf(a.stdout, "Wrote key %s to %s (mode 0600). Keep a copy: without it the secrets in the store cannot be read.\n", id, c.Out)
	return nil
}

type secretGenerateCmd struct{}

func (c *secretGenerateCmd) Run(a *app) error {
	s, err := webhook.GenerateSecret()
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.stdout, map[string]string{"secret_key": s})
	}
	fmt.Fprintln(a.stdout, s)
	return nil
}

// readFileLimited reads a file, refusing one larger than limit bytes.
func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAllLimited(f, limit)
}

func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}
