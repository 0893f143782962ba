// Package event is the entity change event of CONTRACT.md section 2: its envelope, its subject,
// and the validation both the worker (on receipt) and the publisher (before sending) apply.
package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// SubjectPrefix is the first two tokens of every event subject.
const SubjectPrefix = "crm.events."

// StreamName and StreamSubjects are the upstream stream webhookd binds to or creates.
const (
	StreamName     = "CRM_EVENTS"
	StreamSubjects = "crm.events.>"
)

// MaxIDLength bounds an event id, in characters (Unicode code points), as the contract counts
// them: an id of 128 non-ASCII characters is valid although it takes more bytes.
const MaxIDLength = 128

var tokenRE = regexp.MustCompile(`^[a-z0-9_]+$`)

// Event is the body of a message on crm.events.<entity>.<action>.
type Event struct {
	ID         string          `json:"id"`
	Entity     string          `json:"entity"`
	EntityID   string          `json:"entity_id"`
	Action     string          `json:"action"`
	OccurredAt string          `json:"occurred_at"` // kept as received: it is the webhook's timestamp
	Actor      string          `json:"actor,omitempty"`
	Changed    []string        `json:"changed,omitempty"`
	Data       json.RawMessage `json:"data"`
}

// Subject is where the event is published.
func (e *Event) Subject() string { return Subject(e.Entity, e.Action) }

// Subject returns crm.events.<entity>.<action>.
func Subject(entity, action string) string { return SubjectPrefix + entity + "." + action }

// Type is the webhook type, "<entity>.<action>".
func (e *Event) Type() string { return e.Entity + "." + e.Action }

// InvalidError says why a message is not a valid event. Its Reason is meant for people and is
// stored with the invalid event.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return "invalid event: " + e.Reason }

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// IsInvalid reports whether err says the event itself is bad (never worth a retry).
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

// Parse decodes and validates a message body received on subject. Any fault is an *InvalidError.
//
// The body is read once, by a jsontext.Decoder that validates as it tokenizes; only the
// envelope's fields are decoded, and data is kept as written. The decoder is set to accept
// what encoding/json accepted, which Parse used before: a repeated name (the last one wins),
// invalid UTF-8 inside strings (replaced by U+FFFD in the string fields, kept in data).
func Parse(subject string, body []byte) (*Event, error) {
	tokens := strings.Split(subject, ".")
	if len(tokens) != 4 || tokens[0] != "crm" || tokens[1] != "events" {
		return nil, invalid("subject %q must have exactly four tokens: crm.events.<entity>.<action>", subject)
	}
	var env envelope
	if err := env.read(body); err != nil {
		return nil, err
	}
	var ev Event
	if err := env.id.str("id", &ev.ID, true); err != nil {
		return nil, err
	}
	if err := env.entity.str("entity", &ev.Entity, true); err != nil {
		return nil, err
	}
	if err := env.entityID.str("entity_id", &ev.EntityID, true); err != nil {
		return nil, err
	}
	if err := env.action.str("action", &ev.Action, true); err != nil {
		return nil, err
	}
	if err := env.occurredAt.str("occurred_at", &ev.OccurredAt, true); err != nil {
		return nil, err
	}
	if err := env.actor.str("actor", &ev.Actor, false); err != nil {
		return nil, err
	}
	if env.changedBad {
		return nil, invalid("field \"changed\" must be an array of strings")
	}
	ev.Changed = env.changed
	if env.data == nil {
		return nil, invalid("field \"data\" is required and must be a JSON object")
	}
	ev.Data = env.data
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	if ev.Entity != tokens[2] {
		return nil, invalid("entity %q does not match the subject's entity token %q", ev.Entity, tokens[2])
	}
	if ev.Action != tokens[3] {
		return nil, invalid("action %q does not match the subject's action token %q", ev.Action, tokens[3])
	}
	return &ev, nil
}

// readOptions make the decoder accept what encoding/json accepted: events that repeat a name
// or carry invalid UTF-8 in a string were valid, and stay valid. FuzzParse holds Parse to the
// encoding/json implementation it replaced (parse_reference_test.go).
var readOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// envelope is what a body said of each field Parse reads, the last of a repeated name winning.
// Its fields are checked afterwards, in the order of the contract's table, so that the first
// fault named is the same whatever order the body wrote them in.
type envelope struct {
	id, entity, entityID, action, occurredAt, actor member

	changed    []string // non-nil for an array, even an empty one
	changedBad bool     // changed is neither null nor an array of strings (or nulls)
	data       []byte   // nil unless the last data is an object
}

// member is one string field as the body wrote it.
type member struct {
	kind jsontext.Kind // 0: absent
	s    string        // the unquoted string, when kind is '"'
}

// bodyDecoder reads one body. They are pooled, so that a decoder and its state stacks are
// made once, not for every event.
type bodyDecoder struct {
	body bytes.Buffer // a bytes.Buffer is read in place, not copied into the decoder's buffer
	dec  jsontext.Decoder
}

var bodyDecoders = sync.Pool{New: func() any { return new(bodyDecoder) }}

// read fills e from body, in one pass. A fault of syntax, or a body that is not an object, is
// phrased by notAnObject.
func (e *envelope) read(body []byte) error {
	d := bodyDecoders.Get().(*bodyDecoder)
	defer func() {
		// A pooled decoder must not keep the body alive.
		d.body = bytes.Buffer{}
		d.dec.Reset(&d.body)
		bodyDecoders.Put(d)
	}()
	d.body = *bytes.NewBuffer(body)
	d.dec.Reset(&d.body, readOptions...)
	dec := &d.dec
	if dec.PeekKind() != '{' {
		return notAnObject(body)
	}
	if _, err := dec.ReadToken(); err != nil {
		return notAnObject(body)
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return notAnObject(body)
		}
		switch name.String() {
		case "id":
			err = e.id.read(dec)
		case "entity":
			err = e.entity.read(dec)
		case "entity_id":
			err = e.entityID.read(dec)
		case "action":
			err = e.action.read(dec)
		case "occurred_at":
			err = e.occurredAt.read(dec)
		case "actor":
			err = e.actor.read(dec)
		case "changed":
			err = e.readChanged(dec)
		case "data":
			err = e.readData(dec)
		default:
			err = dec.SkipValue()
		}
		if err != nil {
			return notAnObject(body)
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return notAnObject(body)
	}
	// Anything but white space after the object makes the body invalid. (encoding/json's
	// Decoder.More, which Parse used to ask, let a stray } or ] through.)
	if rest := bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return invalid("body has data after the JSON object")
	}
	return nil
}

func (m *member) read(dec *jsontext.Decoder) error {
	m.kind, m.s = dec.PeekKind(), ""
	if m.kind != '"' {
		return dec.SkipValue()
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	m.s = tok.String()
	return nil
}

// str is the field's value, or why it has none.
func (m *member) str(name string, dst *string, required bool) error {
	switch m.kind {
	case 0, 'n':
		if required {
			return invalid("field %q is required", name)
		}
	case '"':
		*dst = m.s
	default:
		return invalid("field %q must be a string", name)
	}
	return nil
}

// readChanged reads changed as encoding/json read it into a []string: null leaves it nil, and
// a null element is an empty string.
func (e *envelope) readChanged(dec *jsontext.Decoder) error {
	e.changed, e.changedBad = nil, false
	switch dec.PeekKind() {
	case 'n':
		return dec.SkipValue()
	case '[':
	default:
		e.changedBad = true
		return dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	changed := []string{}
	for {
		switch dec.PeekKind() {
		case ']':
			if _, err := dec.ReadToken(); err != nil {
				return err
			}
			if !e.changedBad {
				e.changed = changed
			}
			return nil
		case '"':
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			changed = append(changed, tok.String())
		case 'n':
			changed = append(changed, "")
			if err := dec.SkipValue(); err != nil {
				return err
			}
		default:
			e.changedBad = true
			if err := dec.SkipValue(); err != nil {
				return err
			}
		}
	}
}

func (e *envelope) readData(dec *jsontext.Decoder) error {
	e.data = nil
	if dec.PeekKind() != '{' {
		return dec.SkipValue()
	}
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	// The value lies in body, which the caller may reuse; Event.Data is the event's own.
	e.data = bytes.Clone(v)
	return nil
}

// notAnObject says why body is not one JSON object. encoding/json phrases it, as it did when
// Parse used it: the reason is stored with the invalid event, and operators search for these
// words. Only invalid bodies come here.
func notAnObject(body []byte) error {
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&raw); err != nil {
		return invalid("body is not a JSON object: %v", err)
	}
	return invalid("body is not a JSON object")
}

// Validate checks the envelope's fields (not the subject).
func (e *Event) Validate() error {
	switch {
	case e.ID == "":
		return invalid("field \"id\" is required")
	case utf8.RuneCountInString(e.ID) > MaxIDLength:
		return invalid("field \"id\" is %d characters, at most %d are allowed", utf8.RuneCountInString(e.ID), MaxIDLength)
	case e.Entity == "":
		return invalid("field \"entity\" is required")
	case !tokenRE.MatchString(e.Entity):
		return invalid("field \"entity\" %q must match [a-z0-9_]+", e.Entity)
	case e.EntityID == "":
		return invalid("field \"entity_id\" is required")
	case e.Action == "":
		return invalid("field \"action\" is required")
	case !tokenRE.MatchString(e.Action):
		return invalid("field \"action\" %q must match [a-z0-9_]+", e.Action)
	case e.OccurredAt == "":
		return invalid("field \"occurred_at\" is required")
	}
	if _, err := time.Parse(time.RFC3339, e.OccurredAt); err != nil {
		return invalid("field \"occurred_at\" %q is not an RFC 3339 time", e.OccurredAt)
	}
	if d := bytes.TrimSpace(e.Data); len(d) == 0 || d[0] != '{' {
		return invalid("field \"data\" is required and must be a JSON object")
	}
	return nil
}
