package storage

import (
	"errors"
	"fmt"
)

// The Prepare functions are the checks and cleaning both stores apply before a write, kept here
// so that the two cannot drift apart: the conformance suite expects the same documents back.

// PrepareRequest checks r's identity and returns the copy a store writes. The identity is a
// canonical number (so number and seq name each other one to one), a Seq that is zero or agrees
// with it, and a webhook id. The copy has its Seq set and the strings that come from receivers
// made valid UTF-8.
func PrepareRequest(r *WebhookRequest) (*WebhookRequest, error) {
	if r == nil {
		return nil, errors.New("nil webhook request")
	}
	seq, err := ParseNumber(r.Number)
	if err != nil {
		return nil, err
	}
	if FormatNumber(seq) != r.Number {
		return nil, fmt.Errorf("webhook request number %q is not canonical, want %q", r.Number, FormatNumber(seq))
	}
	if r.Seq != 0 && r.Seq != seq {
		return nil, fmt.Errorf("webhook request %s has seq %d, want %d", r.Number, r.Seq, seq)
	}
	if r.WebhookID == "" {
		return nil, fmt.Errorf("webhook request %s has no webhook_id", r.Number)
	}
	c := *r
	c.Seq = seq
	c.Request.Body = ValidUTF8(c.Request.Body)
	c.Request.Headers = CleanHeaders(c.Request.Headers)
	c.Response = cleanResponse(c.Response)
	c.ErrorCode = ValidUTF8(c.ErrorCode)
	c.ErrorDescription = ValidUTF8(c.ErrorDescription)
	return &c, nil
}

// PrepareFailure returns f as a store writes it: the strings that come from receivers made
// valid UTF-8.
func PrepareFailure(f ResendFailure) ResendFailure {
	f.ErrorCode = ValidUTF8(f.ErrorCode)
	f.ErrorDescription = ValidUTF8(f.ErrorDescription)
	f.Response = cleanResponse(f.Response)
	return f
}

// PrepareInvalidEvent checks that e has a MsgID (what makes a redelivery's write idempotent) and
// returns it as a store writes it: valid UTF-8, the body cut to MaxInvalidBody.
func PrepareInvalidEvent(e InvalidEvent) (InvalidEvent, error) {
	if e.MsgID == "" {
		return InvalidEvent{}, fmt.Errorf("invalid event (subject %q) has no msg_id", e.Subject)
	}
	e.Subject = ValidUTF8(e.Subject)
	e.Body = CapBody(e.Body, MaxInvalidBody)
	e.Reason = ValidUTF8(e.Reason)
	return e, nil
}

// cleanResponse returns a copy of resp whose body and headers are valid UTF-8.
func cleanResponse(resp *ResponseInfo) *ResponseInfo {
	if resp == nil {
		return nil
	}
	c := *resp
	c.Body = ValidUTF8(c.Body)
	c.Headers = CleanHeaders(c.Headers)
	return &c
}
