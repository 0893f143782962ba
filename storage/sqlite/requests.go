package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/webhookd/webhookd/storage"
)

const requestColumns = `seq, number, webhook_id, state, entity, entity_id, event_id, url, secret_key,
	fields_set, request_method, request_url, request_headers, request_body, request_sent_at,
	response_status, response_headers, response_body, response_truncated, response_duration_ms,
	definition_id, definition_name, rule_id, rule_name, attempts,
	error_code, error_description, resent_from, created_at, created_by, updated_at, updated_by`

// insertRequestSQL's ON CONFLICT DO NOTHING covers every unique column; a row it skips is then
// told apart (same delivery, or a number taken by another) by looking its webhook_id up.
const insertRequestSQL = `INSERT INTO webhook_requests (` + requestColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT DO NOTHING`

// requestRow is a webhook request as its columns.
type requestRow struct {
	seq                              int64
	number, webhookID, state         string
	entity, entityID, eventID        string
	url, secretKey                   string
	fieldsSet                        sql.NullString
	reqMethod, reqURL, reqHeaders    string
	reqBody                          string
	reqSentAt                        int64
	resp                             responseCols
	defID, defName, ruleID, ruleName string
	attempts                         int64
	errorCode, errorDesc, resentFrom string
	createdAt                        int64
	createdBy                        string
	updatedAt                        int64
	updatedBy                        string
}

// responseCols are the response columns, all NULL when no response came.
type responseCols struct {
	status     sql.NullInt64
	headers    sql.NullString
	body       sql.NullString
	truncated  sql.NullBool
	durationMS sql.NullInt64
}

func (r *requestRow) args() []any {
	return []any{r.seq, r.number, r.webhookID, r.state, r.entity, r.entityID, r.eventID, r.url,
		r.secretKey, r.fieldsSet, r.reqMethod, r.reqURL, r.reqHeaders, r.reqBody, r.reqSentAt,
		r.resp.status, r.resp.headers, r.resp.body, r.resp.truncated, r.resp.durationMS,
		r.defID, r.defName, r.ruleID, r.ruleName,
		r.attempts, r.errorCode, r.errorDesc, r.resentFrom, r.createdAt, r.createdBy, r.updatedAt,
		r.updatedBy}
}

func (r *requestRow) dest() []any {
	return []any{&r.seq, &r.number, &r.webhookID, &r.state, &r.entity, &r.entityID, &r.eventID,
		&r.url, &r.secretKey, &r.fieldsSet, &r.reqMethod, &r.reqURL, &r.reqHeaders, &r.reqBody,
		&r.reqSentAt, &r.resp.status, &r.resp.headers, &r.resp.body, &r.resp.truncated,
		&r.resp.durationMS, &r.defID, &r.defName, &r.ruleID, &r.ruleName, &r.attempts,
		&r.errorCode, &r.errorDesc, &r.resentFrom, &r.createdAt, &r.createdBy, &r.updatedAt,
		&r.updatedBy}
}

// toRow checks r and gives the columns of storage.PrepareRequest's copy.
func toRow(r *storage.WebhookRequest) (requestRow, error) {
	r, err := storage.PrepareRequest(r)
	if err != nil {
		return requestRow{}, err
	}
	row := requestRow{
		seq: r.Seq, number: r.Number, webhookID: r.WebhookID, state: r.State,
		entity: r.Entity, entityID: r.EntityID, eventID: r.EventID,
		url: r.URL, secretKey: r.SecretKey,
		reqMethod: r.Request.Method, reqURL: r.Request.URL, reqBody: r.Request.Body,
		reqSentAt: ms(r.Request.SentAt),
		defID:     r.WebhookDefinition.ID, defName: r.WebhookDefinition.Name,
		ruleID: r.WorkflowRule.ID, ruleName: r.WorkflowRule.Name,
		attempts: int64(r.Attempts), errorCode: r.ErrorCode, errorDesc: r.ErrorDescription,
		resentFrom: r.ResentFrom,
		createdAt:  ms(r.Log.CreatedAt), createdBy: r.Log.CreatedBy,
		updatedAt: ms(r.Log.UpdatedAt), updatedBy: r.Log.UpdatedBy,
	}
	if r.FieldsSet != nil {
		b, err := json.Marshal(newFieldsSetDoc(r.FieldsSet))
		if err != nil {
			return requestRow{}, fmt.Errorf("encode fields_set of %s: %w", r.Number, err)
		}
		row.fieldsSet = sql.NullString{String: string(b), Valid: true}
	}
	b, err := json.Marshal(r.Request.Headers)
	if err != nil {
		return requestRow{}, fmt.Errorf("encode request headers of %s: %w", r.Number, err)
	}
	row.reqHeaders = string(b)
	if row.resp, err = toResponseCols(r.Response); err != nil {
		return requestRow{}, fmt.Errorf("encode response of %s: %w", r.Number, err)
	}
	return row, nil
}

func toResponseCols(resp *storage.ResponseInfo) (responseCols, error) {
	if resp == nil {
		return responseCols{}, nil
	}
	b, err := json.Marshal(resp.Headers)
	if err != nil {
		return responseCols{}, err
	}
	return responseCols{
		status:     sql.NullInt64{Int64: int64(resp.Status), Valid: true},
		headers:    sql.NullString{String: string(b), Valid: true},
		body:       sql.NullString{String: resp.Body, Valid: true},
		truncated:  sql.NullBool{Bool: resp.Truncated, Valid: true},
		durationMS: sql.NullInt64{Int64: resp.DurationMS, Valid: true},
	}, nil
}

func (r *requestRow) toRequest() (*storage.WebhookRequest, error) {
	wr := &storage.WebhookRequest{
		Number: r.number, Seq: r.seq, WebhookID: r.webhookID, State: r.state,
		Entity: r.entity, EntityID: r.entityID, EventID: r.eventID,
		URL: r.url, SecretKey: r.secretKey,
		Request: storage.RequestInfo{
			Method: r.reqMethod, URL: r.reqURL, Body: r.reqBody, SentAt: fromMS(r.reqSentAt),
		},
		WebhookDefinition: storage.Ref{ID: r.defID, Name: r.defName},
		WorkflowRule:      storage.Ref{ID: r.ruleID, Name: r.ruleName},
		Attempts:          int(r.attempts), ErrorCode: r.errorCode, ErrorDescription: r.errorDesc,
		ResentFrom: r.resentFrom,
		Log: storage.Log{
			CreatedAt: fromMS(r.createdAt), CreatedBy: r.createdBy,
			UpdatedAt: fromMS(r.updatedAt), UpdatedBy: r.updatedBy,
		},
	}
	if r.fieldsSet.Valid {
		var doc fieldsSetDoc
		if err := json.Unmarshal([]byte(r.fieldsSet.String), &doc); err != nil {
			return nil, fmt.Errorf("decode fields_set of %s: %w", r.number, err)
		}
		wr.FieldsSet = fieldsSetFromDoc(&doc)
	}
	if err := json.Unmarshal([]byte(r.reqHeaders), &wr.Request.Headers); err != nil {
		return nil, fmt.Errorf("decode request headers of %s: %w", r.number, err)
	}
	if r.resp.status.Valid {
		wr.Response = &storage.ResponseInfo{
			Status:     int(r.resp.status.Int64),
			Body:       r.resp.body.String,
			Truncated:  r.resp.truncated.Bool,
			DurationMS: r.resp.durationMS.Int64,
		}
		if err := json.Unmarshal([]byte(r.resp.headers.String), &wr.Response.Headers); err != nil {
			return nil, fmt.Errorf("decode response headers of %s: %w", r.number, err)
		}
	}
	return wr, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanRequest(sc scanner) (*storage.WebhookRequest, error) {
	var row requestRow
	if err := sc.Scan(row.dest()...); err != nil {
		return nil, err
	}
	return row.toRequest()
}

// ReserveNumbers reserves the block [first, first+n). The first block starts at 1.
func (s *Store) ReserveNumbers(ctx context.Context, n int) (int64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("reserve %d request numbers: want at least one", n)
	}
	var last int64
	err := s.ws.queryRow(ctx, `INSERT INTO counters (name, value) VALUES ('webhook_request_seq', ?)
		ON CONFLICT (name) DO UPDATE SET value = value + excluded.value RETURNING value`, n).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("reserve %d request numbers: %w", n, err)
	}
	return last - int64(n) + 1, nil
}

// InsertRequests writes the batch in one transaction. Like an unordered bulk insert, a request
// whose number belongs to another delivery is reported (wrapping storage.ErrConflict) and the
// rest are still written.
func (s *Store) InsertRequests(ctx context.Context, reqs []*storage.WebhookRequest) (int, error) {
	if len(reqs) == 0 {
		return 0, nil
	}
	rows := make([]requestRow, len(reqs))
	for i, r := range reqs {
		row, err := toRow(r)
		if err != nil {
			return 0, fmt.Errorf("insert webhook requests: %w", err)
		}
		rows[i] = row
	}
	var inserted int
	var conflicts []error
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := s.ws.inTx(ctx, tx, insertRequestSQL)
		if err != nil {
			return err
		}
		// The rows are inserted under a context that cannot be cancelled, ctx checked between
		// them: the driver watches a cancellable context with a goroutine of its own for each
		// statement, which cost more than a row's insert. Inside the transaction, which holds
		// the write lock already, an insert never waits.
		rowCtx := context.WithoutCancel(ctx)
		var skipped []*requestRow
		for i := range rows {
			if err := ctx.Err(); err != nil {
				return err
			}
			res, err := stmt.ExecContext(rowCtx, rows[i].args()...)
			if err != nil {
				return fmt.Errorf("insert webhook request %s: %w", rows[i].number, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 1 {
				inserted++
			} else {
				skipped = append(skipped, &rows[i])
			}
		}
		if len(skipped) == 0 {
			return nil
		}
		stored, err := storedWebhookIDs(ctx, tx, skipped)
		if err != nil {
			return fmt.Errorf("look up the webhook_ids of %d skipped requests: %w", len(skipped), err)
		}
		for _, r := range skipped {
			if !stored[r.webhookID] { // else the same delivery, already stored
				conflicts = append(conflicts, fmt.Errorf("insert webhook request %s (webhook_id %s): number already used by another delivery: %w",
					r.number, r.webhookID, storage.ErrConflict))
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("insert webhook requests: %w", err)
	}
	return inserted, errors.Join(conflicts...)
}

// storedWebhookIDs tells which of the rows' webhook_ids are stored, with one query whatever their
// number: they are bound as one JSON array, so no batch meets the limit on bound parameters.
func storedWebhookIDs(ctx context.Context, tx *sql.Tx, rows []*requestRow) (map[string]bool, error) {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.webhookID
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	res, err := tx.QueryContext(ctx, `SELECT webhook_id FROM webhook_requests
		WHERE webhook_id IN (SELECT value FROM json_each(?))`, string(b))
	if err != nil {
		return nil, err
	}
	defer res.Close()
	stored := make(map[string]bool, len(rows))
	for res.Next() {
		var id string
		if err := res.Scan(&id); err != nil {
			return nil, err
		}
		stored[id] = true
	}
	return stored, res.Err()
}

// GetRequest returns the request with that number.
func (s *Store) GetRequest(ctx context.Context, number string) (*storage.WebhookRequest, error) {
	wr, err := scanRequest(s.rs.queryRow(ctx, `SELECT `+requestColumns+` FROM webhook_requests WHERE number = ?`, number))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("webhook request %s: %w", number, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get webhook request %s: %w", number, err)
	}
	return wr, nil
}

// where renders a filter (and a cursor) as a WHERE clause.
func where(f storage.Filter, beforeSeq int64) (string, []any) {
	var conds []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			conds = append(conds, col+" = ?")
			args = append(args, v)
		}
	}
	eq("state", f.State)
	eq("entity", f.Entity)
	eq("entity_id", f.EntityID)
	eq("event_id", f.EventID)
	eq("definition_id", f.WebhookDefinition)
	eq("rule_id", f.WorkflowRule)
	if !f.CreatedFrom.IsZero() {
		conds = append(conds, "created_at >= ?")
		args = append(args, ms(f.CreatedFrom))
	}
	if !f.CreatedTo.IsZero() {
		conds = append(conds, "created_at < ?")
		args = append(args, ms(f.CreatedTo))
	}
	if beforeSeq > 0 {
		conds = append(conds, "seq < ?")
		args = append(args, beforeSeq)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// indexHint picks the index of a filter on creation time alone, which SQLite's planner, lacking
// statistics, gets wrong: it walks the table newest first, for an upper bound through every
// newer row (45 ms to find nothing at 100,000 rows). Through the created_at index the cost is
// sorting the seqs in the range instead, small for the windows people ask for. A lower bound
// alone is left to the planner: the newest rows match it, so its walk stops at once.
func indexHint(f storage.Filter) string {
	if f.CreatedTo.IsZero() || f.State != "" || f.Entity != "" || f.EntityID != "" || f.EventID != "" ||
		f.WebhookDefinition != "" || f.WorkflowRule != "" {
		return ""
	}
	return " INDEXED BY webhook_requests_created_at"
}

// ListRequests returns a page of requests, highest seq first.
func (s *Store) ListRequests(ctx context.Context, q storage.ListQuery) ([]*storage.WebhookRequest, error) {
	limit := storage.ClampLimit(q.Limit)
	w, args := where(q.Filter, q.BeforeSeq)
	args = append(args, limit)
	// The inner query finds the page's seqs on an index alone (sorting integers, if it must
	// sort); only the page's rows are then read whole.
	rows, err := s.rs.query(ctx, `SELECT `+requestColumns+` FROM webhook_requests WHERE seq IN (
		SELECT seq FROM webhook_requests`+indexHint(q.Filter)+w+` ORDER BY seq DESC LIMIT ?) ORDER BY seq DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("list webhook requests: %w", err)
	}
	defer rows.Close()
	out := make([]*storage.WebhookRequest, 0, limit)
	for rows.Next() {
		wr, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhook requests: %w", err)
		}
		out = append(out, wr)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list webhook requests: %w", err)
	}
	return out, nil
}

// CountRequests counts the requests the filter selects.
func (s *Store) CountRequests(ctx context.Context, f storage.Filter) (int64, error) {
	w, args := where(f, 0)
	var n int64
	if err := s.rs.queryRow(ctx, `SELECT COUNT(*) FROM webhook_requests`+w, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count webhook requests: %w", err)
	}
	return n, nil
}

// deleteChunk bounds the bound parameters of one statement.
const deleteChunk = 500

// DeleteRequests deletes the given numbers in one transaction and returns those that existed.
func (s *Store) DeleteRequests(ctx context.Context, numbers []string) ([]string, error) {
	deleted := make([]string, 0, len(numbers))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(numbers); start += deleteChunk {
			chunk := numbers[start:min(start+deleteChunk, len(numbers))]
			args := make([]any, len(chunk))
			for i, n := range chunk {
				args[i] = n
			}
			q := `DELETE FROM webhook_requests WHERE number IN (?` + strings.Repeat(", ?", len(chunk)-1) + `) RETURNING number`
			rows, err := tx.QueryContext(ctx, q, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var n string
				if err := rows.Scan(&n); err != nil {
					rows.Close()
					return err
				}
				deleted = append(deleted, n)
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delete %d webhook requests: %w", len(numbers), err)
	}
	return deleted, nil
}

// ClaimResend claims a rejected request whose claim is absent or expired.
func (s *Store) ClaimResend(ctx context.Context, number string, claim storage.ResendClaim) (*storage.WebhookRequest, error) {
	if claim.Token == "" {
		return nil, fmt.Errorf("claim resend of %s: empty token", number)
	}
	var wr *storage.WebhookRequest
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := ms(s.now())
		var err error
		wr, err = scanRequest(tx.QueryRowContext(ctx, `UPDATE webhook_requests
			SET claim_token = ?, claim_by = ?, claim_until = ?
			WHERE number = ? AND state = ? AND (claim_token IS NULL OR claim_until < ?)
			RETURNING `+requestColumns,
			claim.Token, claim.By, ms(claim.Until), number, storage.StateRejected, now))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var state string
		var until sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT state, claim_until FROM webhook_requests WHERE number = ?`, number).Scan(&state, &until)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return storage.ErrNotFound
		case err != nil:
			return err
		case state != storage.StateRejected:
			return fmt.Errorf("state is %s, not %s: %w", state, storage.StateRejected, storage.ErrConflict)
		default:
			return fmt.Errorf("already claimed by another resend until %s: %w", fromMS(until.Int64).Format("2006-01-02T15:04:05.000Z07:00"), storage.ErrConflict)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("claim resend of webhook request %s: %w", number, err)
	}
	return wr, nil
}

// CompleteResendSuccess deletes the claimed request and writes its replacement in one transaction.
func (s *Store) CompleteResendSuccess(ctx context.Context, number, token string, rs storage.ResendSuccess) error {
	var repl *requestRow
	if rs.Replacement != nil {
		row, err := toRow(rs.Replacement)
		if err != nil {
			return fmt.Errorf("complete resend of %s: replacement: %w", number, err)
		}
		repl = &row
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_requests WHERE number = ? AND claim_token = ?`, number, token)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("claim no longer held: %w", storage.ErrConflict)
		}
		if repl == nil {
			return nil
		}
		res, err = tx.ExecContext(ctx, insertRequestSQL, repl.args()...)
		if err != nil {
			return fmt.Errorf("write replacement %s: %w", repl.number, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("write replacement %s: its number or webhook_id is already stored: %w", repl.number, storage.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("complete resend of webhook request %s: %w", number, err)
	}
	return nil
}

// CompleteResendFailure records the new error and releases the claim. The stored response
// becomes the new attempt's (none, when no response came), so it always explains the error.
func (s *Store) CompleteResendFailure(ctx context.Context, number, token string, f storage.ResendFailure) error {
	f = storage.PrepareFailure(f)
	resp, err := toResponseCols(f.Response)
	if err != nil {
		return fmt.Errorf("complete resend of webhook request %s: encode response: %w", number, err)
	}
	res, err := s.ws.exec(ctx, `UPDATE webhook_requests SET
			error_code = ?, error_description = ?, response_status = ?, response_headers = ?,
			response_body = ?, response_truncated = ?, response_duration_ms = ?, attempts = attempts + 1,
			updated_at = ?, updated_by = ?, claim_token = NULL, claim_by = NULL, claim_until = NULL
		WHERE number = ? AND claim_token = ?`,
		f.ErrorCode, f.ErrorDescription, resp.status, resp.headers, resp.body,
		resp.truncated, resp.durationMS, ms(f.At), f.By, number, token)
	if err != nil {
		return fmt.Errorf("complete resend of webhook request %s: %w", number, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("complete resend of webhook request %s: %w", number, err)
	} else if n == 0 {
		return fmt.Errorf("complete resend of webhook request %s: claim no longer held: %w", number, storage.ErrConflict)
	}
	return nil
}
