package control

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/storage"
)

// decode reads a request body into v, as section 6 wants it read: one JSON object, unknown
// fields ignored, a known field of the wrong type refused. Every fault is a BAD_REQUEST.
func decode(body []byte, v any) *controlapi.Error {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return errorf(controlapi.CodeBadRequest, "empty body: send a JSON object (at least {})")
	}
	if b[0] != '{' {
		return errorf(controlapi.CodeBadRequest, "body is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return errorf(controlapi.CodeBadRequest, "%s", describeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errorf(controlapi.CodeBadRequest, "body has data after the JSON object")
	}
	return nil
}

// describeJSONError names the field and the JSON types of a decoding error, not Go's types.
func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Sprintf("got a JSON %s, want %s", te.Value, config.JSONKind(te.Type))
		}
		return fmt.Sprintf("field %q: got a JSON %s, want %s", te.Field, te.Value, config.JSONKind(te.Type))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("body is not valid JSON (at byte %d): %v", se.Offset, se)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "body is not valid JSON: it ends too early"
	}
	return "body is not valid JSON: " + err.Error()
}

// requireUser checks a mutating command's "user" and keeps it, trimmed, in c.user for the
// audit and the log. Its length is a BAD_REQUEST check, so it is called after the command's
// other BAD_REQUEST checks; a blank user is USER_REQUIRED.
func (c *call) requireUser(user string) *controlapi.Error {
	if len(user) > maxUser {
		return errorf(controlapi.CodeBadRequest, `field "user" is %d bytes, at most %d are allowed`, len(user), maxUser)
	}
	u := strings.TrimSpace(user)
	if u == "" {
		return errorf(controlapi.CodeUserRequired, `this command changes data: "user" (who is asking) is required`)
	}
	c.user = u
	return nil
}

// filterToStorage checks a filter's values and converts it.
func filterToStorage(f controlapi.Filter) (storage.Filter, *controlapi.Error) {
	sf := storage.Filter{
		State: f.State, Entity: f.Entity, EntityID: f.EntityID, EventID: f.EventID,
		WebhookDefinition: f.WebhookDefinition, WorkflowRule: f.WorkflowRule,
	}
	switch f.State {
	case "", storage.StateSuccessful, storage.StateRejected:
	default:
		return sf, errorf(controlapi.CodeBadRequest, "filter.state %q: want %q or %q", f.State, storage.StateSuccessful, storage.StateRejected)
	}
	var err error
	if f.CreatedFrom != "" {
		if sf.CreatedFrom, err = time.Parse(time.RFC3339, f.CreatedFrom); err != nil {
			return sf, errorf(controlapi.CodeBadRequest, "filter.created_from %q is not an RFC 3339 time (e.g. 2025-03-01T00:00:00Z)", f.CreatedFrom)
		}
	}
	if f.CreatedTo != "" {
		if sf.CreatedTo, err = time.Parse(time.RFC3339, f.CreatedTo); err != nil {
			return sf, errorf(controlapi.CodeBadRequest, "filter.created_to %q is not an RFC 3339 time (e.g. 2025-03-02T00:00:00Z)", f.CreatedTo)
		}
	}
	if !sf.CreatedFrom.IsZero() && !sf.CreatedTo.IsZero() && !sf.CreatedFrom.Before(sf.CreatedTo) {
		return sf, errorf(controlapi.CodeBadRequest, "filter.created_from (%s) must be before filter.created_to (%s)", f.CreatedFrom, f.CreatedTo)
	}
	return sf, nil
}

// cursorPrefix versions the cursor, so its form can change without misreading old ones.
const cursorPrefix = "s1:"

// encodeCursor makes the opaque "next" of a page whose last request had sequence seq.
func encodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(seq, 10)))
}

// decodeCursor returns the sequence a cursor stands for.
func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, errors.New("not a cursor returned as next")
	}
	digits, ok := strings.CutPrefix(string(b), cursorPrefix)
	if !ok {
		return 0, errors.New("not a cursor returned as next")
	}
	seq, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || seq <= 0 {
		return 0, errors.New("not a cursor returned as next")
	}
	return seq, nil
}
