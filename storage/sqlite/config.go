package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/storage"
)

// definitionDoc and ruleDoc are the stored JSON of a definition and a rule. Being new types they
// drop any JSON methods of the config types, whose decoding may apply defaults or validate: the
// store keeps exactly what it was given.
type (
	definitionDoc config.Definition
	ruleDoc       config.Rule
)

const configVersionCounter = "config_version"

func bumpConfigVersion(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO counters (name, value) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET value = value + 1`, configVersionCounter); err != nil {
		return fmt.Errorf("change config version: %w", err)
	}
	return nil
}

// ApplyConfig upserts definitions and rules in one transaction.
func (s *Store) ApplyConfig(ctx context.Context, defs []config.Definition, rules []config.Rule, user string, at time.Time) error {
	at = norm(at)
	defDocs := make([]string, len(defs)) // TEXT: a BLOB would be read as JSONB
	for i := range defs {
		if defs[i].ID == "" {
			return fmt.Errorf("apply config: webhook definition %d has no id", i)
		}
		d := defs[i]
		d.DisabledReason, d.DisabledAt = "", nil
		d.UpdatedAt, d.UpdatedBy = at, user
		b, err := json.Marshal((*definitionDoc)(&d))
		if err != nil {
			return fmt.Errorf("apply config: encode webhook definition %s: %w", d.ID, err)
		}
		defDocs[i] = string(b)
	}
	ruleDocs := make([]string, len(rules))
	for i := range rules {
		if rules[i].ID == "" {
			return fmt.Errorf("apply config: workflow rule %d has no id", i)
		}
		r := rules[i]
		r.UpdatedAt, r.UpdatedBy = at, user
		b, err := json.Marshal((*ruleDoc)(&r))
		if err != nil {
			return fmt.Errorf("apply config: encode workflow rule %s: %w", r.ID, err)
		}
		ruleDocs[i] = string(b)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, d := range defs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_definitions (id, doc) VALUES (?, ?)
				ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`, d.ID, defDocs[i]); err != nil {
				return fmt.Errorf("upsert webhook definition %s: %w", d.ID, err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM definition_health WHERE id = ?`, d.ID); err != nil {
				return fmt.Errorf("clear health of webhook definition %s: %w", d.ID, err)
			}
		}
		for i, r := range rules {
			if _, err := tx.ExecContext(ctx, `INSERT INTO workflow_rules (id, doc) VALUES (?, ?)
				ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`, r.ID, ruleDocs[i]); err != nil {
				return fmt.Errorf("upsert workflow rule %s: %w", r.ID, err)
			}
		}
		return bumpConfigVersion(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("apply config (%d definitions, %d rules): %w", len(defs), len(rules), err)
	}
	return nil
}

func decodeDefinition(b []byte) (*config.Definition, error) {
	var d config.Definition
	if err := json.Unmarshal(b, (*definitionDoc)(&d)); err != nil {
		return nil, err
	}
	d.UpdatedAt = d.UpdatedAt.UTC()
	if d.DisabledAt != nil {
		t := d.DisabledAt.UTC()
		d.DisabledAt = &t
	}
	return &d, nil
}

func decodeRule(b []byte) (*config.Rule, error) {
	var r config.Rule
	if err := json.Unmarshal(b, (*ruleDoc)(&r)); err != nil {
		return nil, err
	}
	r.UpdatedAt = r.UpdatedAt.UTC()
	return &r, nil
}

// ListDefinitions returns every definition, sorted by id.
func (s *Store) ListDefinitions(ctx context.Context) ([]config.Definition, error) {
	rows, err := s.rs.query(ctx, `SELECT id, doc FROM webhook_definitions ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list webhook definitions: %w", err)
	}
	defer rows.Close()
	out := []config.Definition{}
	for rows.Next() {
		var id string
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, fmt.Errorf("list webhook definitions: %w", err)
		}
		d, err := decodeDefinition(doc)
		if err != nil {
			return nil, fmt.Errorf("list webhook definitions: decode %s: %w", id, err)
		}
		out = append(out, *d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list webhook definitions: %w", err)
	}
	return out, nil
}

// GetDefinition returns one definition.
func (s *Store) GetDefinition(ctx context.Context, id string) (*config.Definition, error) {
	var doc []byte
	err := s.rs.queryRow(ctx, `SELECT doc FROM webhook_definitions WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("webhook definition %s: %w", id, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get webhook definition %s: %w", id, err)
	}
	d, err := decodeDefinition(doc)
	if err != nil {
		return nil, fmt.Errorf("get webhook definition %s: decode: %w", id, err)
	}
	return d, nil
}

// DeleteDefinition deletes a definition that no rule names, with its health.
func (s *Store) DeleteDefinition(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM webhook_definitions WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		var rule string
		err = tx.QueryRowContext(ctx, `SELECT r.id FROM workflow_rules AS r, json_each(r.doc, '$.webhook_definitions') AS d
			WHERE d.value = ? ORDER BY r.id LIMIT 1`, id).Scan(&rule)
		switch {
		case err == nil:
			return fmt.Errorf("workflow rule %s names it: %w", rule, storage.ErrDefinitionInUse)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("find rules naming it: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_definitions WHERE id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM definition_health WHERE id = ?`, id); err != nil {
			return err
		}
		return bumpConfigVersion(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("delete webhook definition %s: %w", id, err)
	}
	return nil
}

// ListRules returns every rule, sorted by id.
func (s *Store) ListRules(ctx context.Context) ([]config.Rule, error) {
	rows, err := s.rs.query(ctx, `SELECT id, doc FROM workflow_rules ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list workflow rules: %w", err)
	}
	defer rows.Close()
	out := []config.Rule{}
	for rows.Next() {
		var id string
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, fmt.Errorf("list workflow rules: %w", err)
		}
		r, err := decodeRule(doc)
		if err != nil {
			return nil, fmt.Errorf("list workflow rules: decode %s: %w", id, err)
		}
		out = append(out, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list workflow rules: %w", err)
	}
	return out, nil
}

// GetRule returns one rule.
func (s *Store) GetRule(ctx context.Context, id string) (*config.Rule, error) {
	var doc []byte
	err := s.rs.queryRow(ctx, `SELECT doc FROM workflow_rules WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("workflow rule %s: %w", id, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get workflow rule %s: %w", id, err)
	}
	r, err := decodeRule(doc)
	if err != nil {
		return nil, fmt.Errorf("get workflow rule %s: decode: %w", id, err)
	}
	return r, nil
}

// DeleteRule deletes a rule.
func (s *Store) DeleteRule(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM workflow_rules WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return storage.ErrNotFound
		}
		return bumpConfigVersion(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("delete workflow rule %s: %w", id, err)
	}
	return nil
}

// DisableDefinition deactivates an active definition.
func (s *Store) DisableDefinition(ctx context.Context, id, reason string, at time.Time) (bool, error) {
	var changed bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var doc []byte
		err := tx.QueryRowContext(ctx, `SELECT doc FROM webhook_definitions WHERE id = ?`, id).Scan(&doc)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		d, err := decodeDefinition(doc)
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if !d.Active {
			return nil
		}
		t := norm(at)
		d.Active, d.DisabledReason, d.DisabledAt = false, reason, &t
		if doc, err = json.Marshal((*definitionDoc)(d)); err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_definitions SET doc = ? WHERE id = ?`, string(doc), id); err != nil {
			return err
		}
		changed = true
		return bumpConfigVersion(ctx, tx)
	})
	if err != nil {
		return false, fmt.Errorf("disable webhook definition %s: %w", id, err)
	}
	return changed, nil
}

// ConfigVersion returns the config version; 0 before any change.
func (s *Store) ConfigVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.rs.queryRow(ctx, `SELECT value FROM counters WHERE name = ?`, configVersionCounter).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("read config version: %w", err)
	}
	return v, nil
}

// RecordFailures adds failed attempts to a definition's health.
func (s *Store) RecordFailures(ctx context.Context, id string, n int64, at time.Time) (storage.DefinitionHealth, error) {
	if n < 0 {
		return storage.DefinitionHealth{}, fmt.Errorf("record %d failures of webhook definition %s: negative count", n, id)
	}
	h := storage.DefinitionHealth{ID: id}
	var since int64
	err := s.ws.queryRow(ctx, `INSERT INTO definition_health (id, failing_since, failures) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET failures = failures + excluded.failures
		RETURNING failing_since, failures`, id, ms(at), n).Scan(&since, &h.Failures)
	if err != nil {
		return storage.DefinitionHealth{}, fmt.Errorf("record %d failures of webhook definition %s: %w", n, id, err)
	}
	h.FailingSince = fromMS(since)
	return h, nil
}

// ClearFailures marks a definition healthy.
func (s *Store) ClearFailures(ctx context.Context, id string) error {
	if _, err := s.ws.exec(ctx, `DELETE FROM definition_health WHERE id = ?`, id); err != nil {
		return fmt.Errorf("clear failures of webhook definition %s: %w", id, err)
	}
	return nil
}
