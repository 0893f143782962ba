package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/storage"
)

const configVersionCounter = "config_version"

func bumpConfigVersion(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO counters (name, value) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET value = value + 1`, configVersionCounter); err != nil {
		return fmt.Errorf("change config version: %w", err)
	}
	return nil
}

// ApplyConfig upserts definitions and rules in one transaction. A definition's secret rotation
// follows from the one it replaces (config.Definition.RotateSecret), read in the same
// transaction, and its secrets are sealed before they are written.
func (s *Store) ApplyConfig(ctx context.Context, defs []config.Definition, rules []config.Rule, user string, at time.Time) error {
	at = norm(at)
	for i := range defs {
		if defs[i].ID == "" {
			return fmt.Errorf("apply config: webhook definition %d has no id", i)
		}
	}
	ruleDocs := make([]string, len(rules))
	for i := range rules {
		if rules[i].ID == "" {
			return fmt.Errorf("apply config: workflow rule %d has no id", i)
		}
		r := rules[i]
		r.UpdatedAt, r.UpdatedBy = at, user
		doc, err := encodeRule(r)
		if err != nil {
			return fmt.Errorf("apply config: encode workflow rule %s: %w", r.ID, err)
		}
		ruleDocs[i] = doc
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, d := range defs {
			var stored *config.Definition
			var doc []byte
			err := tx.QueryRowContext(ctx, `SELECT doc FROM webhook_definitions WHERE id = ?`, d.ID).Scan(&doc)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return fmt.Errorf("read webhook definition %s: %w", d.ID, err)
			default:
				// A stored definition whose secrets cannot be opened (a key no longer listed) is
				// replaced whole, without a previous key: applying it again is how it is repaired.
				if old, _, err := s.decodeDefinition(doc); err == nil {
					stored = old
				}
			}
			d.DisabledReason, d.DisabledAt = "", nil
			d.UpdatedAt, d.UpdatedBy = at, user
			d.RotateSecret(stored, at)
			enc, err := s.encodeDefinition(d)
			if err != nil {
				return fmt.Errorf("encode webhook definition %s: %w", d.ID, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_definitions (id, doc) VALUES (?, ?)
				ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`, d.ID, enc); err != nil {
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

// encodeDefinition is the stored JSON of d, its secrets sealed.
func (s *Store) encodeDefinition(d config.Definition) (string, error) {
	sealed, err := storage.SealDefinition(s.keys, d)
	if err != nil {
		return "", err
	}
	return encodeRawDefinition(sealed)
}

// decodeDefinition reads a stored definition and opens its secrets; stale says they are not all
// sealed under the primary key.
func (s *Store) decodeDefinition(b []byte) (d *config.Definition, stale bool, err error) {
	if d, err = decodeRawDefinition(b); err != nil {
		return nil, false, err
	}
	if stale, err = storage.OpenDefinition(s.keys, d); err != nil {
		return nil, false, err
	}
	return d, stale, nil
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
		d, _, err := s.decodeDefinition(doc)
		if err != nil {
			return nil, fmt.Errorf("list webhook definitions: %w", err)
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
	d, _, err := s.decodeDefinition(doc)
	if err != nil {
		return nil, fmt.Errorf("get webhook definition %s: %w", id, err)
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
		// The secrets stay sealed as they are: only the state changes.
		d, err := decodeRawDefinition(doc)
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if !d.Active {
			return nil
		}
		t := norm(at)
		d.Active, d.DisabledReason, d.DisabledAt = false, reason, &t
		enc, err := encodeRawDefinition(*d)
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_definitions SET doc = ? WHERE id = ?`, enc, id); err != nil {
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

// ReencryptSecrets seals again, under the primary key, every definition holding a secret sealed
// under another key or in clear (an upgraded store). It reads with the readers and writes only
// when something is stale, in one transaction that checks each definition again; the config
// version does not change, since no definition says anything new. Definitions that cannot be
// opened stay as they are, counted in Stale, and the error names each of them.
func (s *Store) ReencryptSecrets(ctx context.Context) (storage.Reencryption, error) {
	res := storage.Reencryption{KeyID: s.keys.Primary()}
	rows, err := s.rs.query(ctx, `SELECT id, doc FROM webhook_definitions ORDER BY id`)
	if err != nil {
		return res, fmt.Errorf("re-encrypt secrets: %w", err)
	}
	var stale []string
	for rows.Next() {
		var id string
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			rows.Close()
			return res, fmt.Errorf("re-encrypt secrets: %w", err)
		}
		if d, err := decodeRawDefinition(doc); err != nil || storage.NeedsReseal(s.keys, d) {
			stale = append(stale, id)
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return res, fmt.Errorf("re-encrypt secrets: %w", err)
	}
	if len(stale) == 0 {
		return res, nil
	}
	var errs []error
	now := s.now()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res.Reencrypted, res.Stale, errs = 0, 0, nil
		for _, id := range stale {
			var doc []byte
			err := tx.QueryRowContext(ctx, `SELECT doc FROM webhook_definitions WHERE id = ?`, id).Scan(&doc)
			if errors.Is(err, sql.ErrNoRows) {
				continue // deleted meanwhile
			}
			if err != nil {
				return fmt.Errorf("read webhook definition %s: %w", id, err)
			}
			raw, err := decodeRawDefinition(doc)
			if err != nil {
				res.Stale++
				errs = append(errs, fmt.Errorf("webhook definition %s: decode: %w", id, err))
				continue
			}
			if !storage.NeedsReseal(s.keys, raw) {
				continue // rewritten meanwhile
			}
			sealed, err := storage.Reseal(s.keys, *raw, now)
			if err != nil {
				res.Stale++
				errs = append(errs, err)
				continue
			}
			enc, err := encodeRawDefinition(sealed)
			if err != nil {
				return fmt.Errorf("encode webhook definition %s: %w", id, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_definitions SET doc = ? WHERE id = ?`, enc, id); err != nil {
				return fmt.Errorf("write webhook definition %s: %w", id, err)
			}
			res.Reencrypted++
		}
		return nil
	})
	if err != nil {
		return storage.Reencryption{KeyID: res.KeyID, Stale: len(stale)}, fmt.Errorf("re-encrypt secrets under key %s: %w", res.KeyID, err)
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("re-encrypt secrets under key %s: %w", res.KeyID, err)
	}
	return res, nil
}
