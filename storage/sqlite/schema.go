package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations[i] brings the schema from version i to version i+1. Append only: a released step is
// never edited, since databases in the field have already run it.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE webhook_requests (
	seq               INTEGER PRIMARY KEY, -- the number's integer (an alias of the rowid)
	number            TEXT NOT NULL UNIQUE,
	webhook_id        TEXT NOT NULL UNIQUE,
	state             TEXT NOT NULL,
	entity            TEXT NOT NULL,
	entity_id         TEXT NOT NULL,
	event_id          TEXT NOT NULL,
	url               TEXT NOT NULL,
	secret_key        TEXT NOT NULL, -- masked
	fields_set        TEXT,          -- JSON {name, fields}; NULL: none
	-- request and response: bodies are columns of their own, not JSON, because escaping and
	-- unescaping them as JSON strings would cost more than the rest of a read.
	request_method    TEXT NOT NULL,
	request_url       TEXT NOT NULL,
	request_headers   TEXT NOT NULL, -- JSON object
	request_body      TEXT NOT NULL,
	request_sent_at   INTEGER NOT NULL,
	response_status   INTEGER,       -- NULL: no response (and so are the other response columns)
	response_headers  TEXT,          -- JSON object
	response_body     TEXT,
	response_truncated INTEGER,
	response_duration_ms INTEGER,
	definition_id     TEXT NOT NULL,
	definition_name   TEXT NOT NULL,
	rule_id           TEXT NOT NULL,
	rule_name         TEXT NOT NULL,
	attempts          INTEGER NOT NULL,
	error_code        TEXT NOT NULL,
	error_description TEXT NOT NULL,
	resent_from       TEXT NOT NULL,
	created_at        INTEGER NOT NULL, -- Unix milliseconds
	created_by        TEXT NOT NULL,
	updated_at        INTEGER NOT NULL,
	updated_by        TEXT NOT NULL,
	claim_token       TEXT,    -- the resend claim; NULL: none
	claim_by          TEXT,
	claim_until       INTEGER
);
-- Every index ends in the rowid (seq), so an equality filter walks its index newest first and a
-- page stops after LIMIT rows.
CREATE INDEX webhook_requests_state ON webhook_requests (state);
CREATE INDEX webhook_requests_entity ON webhook_requests (entity, entity_id);
CREATE INDEX webhook_requests_entity_id ON webhook_requests (entity_id);
CREATE INDEX webhook_requests_event_id ON webhook_requests (event_id);
CREATE INDEX webhook_requests_definition ON webhook_requests (definition_id);
CREATE INDEX webhook_requests_rule ON webhook_requests (rule_id);
CREATE INDEX webhook_requests_created_at ON webhook_requests (created_at);

CREATE TABLE invalid_events (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	msg_id      TEXT NOT NULL UNIQUE,
	subject     TEXT NOT NULL,
	body        TEXT NOT NULL,
	reason      TEXT NOT NULL,
	received_at INTEGER NOT NULL
);
CREATE INDEX invalid_events_received_at ON invalid_events (received_at);

CREATE TABLE audit_log (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	at      INTEGER NOT NULL,
	user    TEXT NOT NULL,
	command TEXT NOT NULL,
	request TEXT NOT NULL,
	ok      INTEGER NOT NULL,
	result  TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE webhook_definitions (
	id  TEXT PRIMARY KEY,
	doc TEXT NOT NULL -- JSON of the definition
);

CREATE TABLE workflow_rules (
	id  TEXT PRIMARY KEY,
	doc TEXT NOT NULL -- JSON of the rule
);

CREATE TABLE definition_health (
	id            TEXT PRIMARY KEY,
	failing_since INTEGER NOT NULL,
	failures      INTEGER NOT NULL
);

CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
`,
}

// schemaVersion is the version this build writes.
var schemaVersion = len(migrations)

// migrate creates the schema or brings it up to date, in one transaction, so a crash leaves
// either the old version or the new one.
func (s *Store) migrate(ctx context.Context) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_version: %w", err)
		}
		var version int
		err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
				return fmt.Errorf("initialise schema_version: %w", err)
			}
		case err != nil:
			return fmt.Errorf("read schema_version: %w", err)
		}
		if version > schemaVersion {
			return fmt.Errorf("database schema version %d is newer than this build's %d", version, schemaVersion)
		}
		for v := version; v < schemaVersion; v++ {
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, schemaVersion); err != nil {
			return fmt.Errorf("write schema_version: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("open sqlite store %q: %w", s.path, err)
	}
	return nil
}
