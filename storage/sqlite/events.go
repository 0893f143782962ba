package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/webhookd/webhookd/storage"
)

const insertInvalidEventSQL = `INSERT INTO invalid_events (msg_id, subject, body, reason, received_at)
	VALUES (?, ?, ?, ?, ?) ON CONFLICT (msg_id) DO NOTHING`

// InsertInvalidEvents stores invalid events in one transaction, skipping known message ids.
// Bodies are cut to storage.MaxInvalidBody; invalid UTF-8 becomes U+FFFD.
func (s *Store) InsertInvalidEvents(ctx context.Context, evs []storage.InvalidEvent) error {
	if len(evs) == 0 {
		return nil
	}
	prepared := make([]storage.InvalidEvent, len(evs))
	for i, e := range evs {
		var err error
		if prepared[i], err = storage.PrepareInvalidEvent(e); err != nil {
			return fmt.Errorf("insert invalid events: event %d: %w", i, err)
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := s.ws.inTx(ctx, tx, insertInvalidEventSQL)
		if err != nil {
			return err
		}
		for _, e := range prepared {
			if _, err := stmt.ExecContext(ctx, e.MsgID, e.Subject, e.Body, e.Reason, ms(e.ReceivedAt)); err != nil {
				return fmt.Errorf("msg_id %s: %w", e.MsgID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("insert %d invalid events: %w", len(evs), err)
	}
	return nil
}

// ListInvalidEvents returns the newest invalid events first.
func (s *Store) ListInvalidEvents(ctx context.Context, limit int) ([]storage.InvalidEvent, error) {
	rows, err := s.rs.query(ctx, `SELECT msg_id, subject, body, reason, received_at FROM invalid_events
		ORDER BY received_at DESC, id DESC LIMIT ?`, storage.ClampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list invalid events: %w", err)
	}
	defer rows.Close()
	out := []storage.InvalidEvent{}
	for rows.Next() {
		var e storage.InvalidEvent
		var at int64
		if err := rows.Scan(&e.MsgID, &e.Subject, &e.Body, &e.Reason, &at); err != nil {
			return nil, fmt.Errorf("list invalid events: %w", err)
		}
		e.ReceivedAt = fromMS(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list invalid events: %w", err)
	}
	return out, nil
}

// InsertAudit appends an audit entry.
func (s *Store) InsertAudit(ctx context.Context, e storage.AuditEntry) error {
	if _, err := s.ws.exec(ctx, `INSERT INTO audit_log (at, user, command, request, ok, result)
		VALUES (?, ?, ?, ?, ?, ?)`, ms(e.At), e.User, e.Command, storage.ValidUTF8(e.Request), e.OK, storage.ValidUTF8(e.Result)); err != nil {
		return fmt.Errorf("insert audit entry for %s by %s: %w", e.Command, e.User, err)
	}
	return nil
}

// ListAudit returns the newest audit entries first.
func (s *Store) ListAudit(ctx context.Context, limit int) ([]storage.AuditEntry, error) {
	rows, err := s.rs.query(ctx, `SELECT at, user, command, request, ok, result FROM audit_log
		ORDER BY at DESC, id DESC LIMIT ?`, storage.ClampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	defer rows.Close()
	out := []storage.AuditEntry{}
	for rows.Next() {
		var e storage.AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.User, &e.Command, &e.Request, &e.OK, &e.Result); err != nil {
			return nil, fmt.Errorf("list audit entries: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	return out, nil
}
