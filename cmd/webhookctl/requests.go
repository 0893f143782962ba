package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/storage"
)

type requestsCmd struct {
	List   requestsListCmd   `cmd:"" aliases:"ls" help:"List webhook requests, newest first."`
	Get    requestsGetCmd    `cmd:"" help:"Show one webhook request in full."`
	Delete requestsDeleteCmd `cmd:"" aliases:"rm" help:"Delete webhook requests by number or by filter, in any state."`
	Resend requestsResendCmd `cmd:"" help:"Resend rejected webhook requests (one attempt each, same webhook-id)."`
}

// filterFlags are the filter of section 6 as flags.
type filterFlags struct {
	State      string `name:"state" predictor:"state" help:"successful or rejected." placeholder:"STATE"`
	Entity     string `name:"entity" help:"Entity, e.g. customer."`
	EntityID   string `name:"entity-id" help:"Entity id, e.g. C-1001."`
	EventID    string `name:"event-id" help:"Event id."`
	Definition string `name:"definition" help:"Webhook definition id."`
	Rule       string `name:"rule" help:"Workflow rule id."`
	From       string `name:"from" help:"Created at or after: RFC 3339 (2025-03-01T10:00:00Z), a date (2025-03-01, UTC) or an age (24h, 90m)."`
	To         string `name:"to" help:"Created before: same forms as --from."`
}

// filter converts the flags; now anchors ages such as --from 24h.
func (f filterFlags) filter(now time.Time) (controlapi.Filter, error) {
	from, err := parseWhen(f.From, now)
	if err != nil {
		return controlapi.Filter{}, usagef("--from: %v", err)
	}
	to, err := parseWhen(f.To, now)
	if err != nil {
		return controlapi.Filter{}, usagef("--to: %v", err)
	}
	switch f.State {
	case "", storage.StateSuccessful, storage.StateRejected:
	default:
		return controlapi.Filter{}, usagef("--state %q: want successful or rejected", f.State)
	}
	return controlapi.Filter{State: f.State, Entity: f.Entity, EntityID: f.EntityID, EventID: f.EventID,
		WebhookDefinition: f.Definition, WorkflowRule: f.Rule, CreatedFrom: from, CreatedTo: to}, nil
}

// parseWhen reads RFC 3339, a date, or an age before now, and returns RFC 3339.
func parseWhen(s string, now time.Time) (string, error) {
	if s == "" {
		return "", nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.Format(time.RFC3339), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC().Format(time.RFC3339), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d).UTC().Format(time.RFC3339), nil
	}
	return "", fmt.Errorf("%q is not an RFC 3339 time, a date (2006-01-02) or an age (24h)", s)
}

type requestsListCmd struct {
	filterFlags
	Limit int    `name:"limit" default:"50" help:"Requests per page (1-1000)."`
	After string `name:"after" help:"Cursor from a previous page (printed as next)."`
	All   bool   `name:"all" help:"Page through every matching request."`
}

func (c *requestsListCmd) Help() string {
	return `Examples:

    webhookctl requests list --state rejected
    webhookctl requests list --definition erp-sync --from 2025-03-01 --to 2025-03-02
    webhookctl requests list --entity customer --entity-id C-1001 --all -o json`
}

func (c *requestsListCmd) Run(a *app) error {
	f, err := c.filter(time.Now())
	if err != nil {
		return err
	}
	if c.Limit < 1 || c.Limit > controlapi.MaxLimit {
		return usagef("--limit %d: want 1 to %d", c.Limit, controlapi.MaxLimit)
	}
	req := map[string]any{"filter": f, "limit": c.Limit}
	after := c.After
	first := true
	count := 0
	if a.json() && c.All {
		// Streamed, so --all holds one page at a time whatever the number of requests.
		fmt.Fprint(a.stdout, "{\"items\": [")
	}
	for {
		if after != "" {
			req["after"] = after
		}
		var page struct {
			Items []json.RawMessage `json:"items"`
			Next  string            `json:"next"`
		}
		raw, err := a.call(controlapi.CmdRequestsList, req, &page, nil)
		if err != nil {
			if a.json() && c.All {
				fmt.Fprintln(a.stdout, "]}")
			}
			return err
		}
		switch {
		case a.json() && c.All:
			for _, it := range page.Items {
				if count > 0 {
					fmt.Fprint(a.stdout, ",")
				}
				fmt.Fprintf(a.stdout, "\n  %s", it)
				count++
			}
		case a.json():
			return writeJSON(a.stdout, raw)
		default:
			var items []*storage.WebhookRequest
			if err := json.Unmarshal(raw, &struct {
				Items *[]*storage.WebhookRequest `json:"items"`
			}{&items}); err != nil {
				return fmt.Errorf("requests.list: unreadable result: %w", err)
			}
			printRequests(a, items, first)
			count += len(items)
		}
		first = false
		if !c.All || page.Next == "" {
			if !a.json() {
				if count == 0 {
					fmt.Fprintln(a.stderr, "No webhook requests match.")
				} else if page.Next != "" {
					fmt.Fprintf(a.stderr, "More: add --after %s (or --all).\n", page.Next)
				}
			}
			break
		}
		after = page.Next
	}
	if a.json() && c.All {
		fmt.Fprintln(a.stdout, "\n], \"next\": \"\"}")
	}
	return nil
}

func printRequests(a *app, items []*storage.WebhookRequest, header bool) {
	if len(items) == 0 {
		return
	}
	cols := []string{"NUMBER", "STATE", "ENTITY", "ENTITY ID", "EVENT ID", "DEFINITION", "RULE", "ATTEMPTS", "ERROR", "CREATED"}
	tw := newTable(a.stdout, cols...)
	if !header {
		// Later pages of --all: same columns, no second header.
		tw = newTableNoHeader(a.stdout)
	}
	for _, wr := range items {
		row(tw, wr.Number, wr.State, wr.Entity, clip(wr.EntityID, 24), clip(wr.EventID, 36), wr.WebhookDefinition.ID,
			wr.WorkflowRule.ID, strconv.Itoa(wr.Attempts), wr.ErrorCode, when(wr.Log.CreatedAt))
	}
	_ = tw.Flush()
}

type requestsGetCmd struct {
	Number string `arg:"" help:"Request number, e.g. WR-0000001234."`
}

func (c *requestsGetCmd) Run(a *app) error {
	var res controlapi.ItemResult[*storage.WebhookRequest]
	raw, err := a.call(controlapi.CmdRequestsGet, controlapi.GetRequest{Number: c.Number}, &res, nil)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.stdout, raw)
	}
	printRequest(a, res.Item)
	return nil
}

func printRequest(a *app, wr *storage.WebhookRequest) {
	tw := newTableNoHeader(a.stdout)
	kv := func(k, v string) { row(tw, k+":", v) }
	kv("Number", wr.Number)
	kv("State", wr.State)
	kv("Entity", wr.Entity+" "+wr.EntityID)
	kv("Event", wr.EventID)
	kv("Webhook ID", wr.WebhookID)
	kv("Definition", fmt.Sprintf("%s (%s)", wr.WebhookDefinition.ID, wr.WebhookDefinition.Name))
	kv("Rule", fmt.Sprintf("%s (%s)", wr.WorkflowRule.ID, wr.WorkflowRule.Name))
	kv("URL", wr.URL)
	kv("Secret key", wr.SecretKey)
	if wr.FieldsSet != nil {
		kv("Fields set", wr.FieldsSet.Name+": "+strings.Join(wr.FieldsSet.Fields, ", "))
	}
	kv("Attempts", strconv.Itoa(wr.Attempts))
	if wr.ErrorCode != "" {
		kv("Error", wr.ErrorCode+": "+wr.ErrorDescription)
	}
	if wr.ResentFrom != "" {
		kv("Resent from", wr.ResentFrom)
	}
	kv("Created", when(wr.Log.CreatedAt)+" by "+wr.Log.CreatedBy)
	kv("Updated", when(wr.Log.UpdatedAt)+" by "+wr.Log.UpdatedBy)
	_ = tw.Flush()

	fmt.Fprintf(a.stdout, "\nRequest: %s %s at %s\n", wr.Request.Method, wr.Request.URL, when(wr.Request.SentAt))
	printHeaders(a, wr.Request.Headers)
	fmt.Fprintf(a.stdout, "\n%s\n", wr.Request.Body)
	if wr.Response == nil {
		fmt.Fprintln(a.stdout, "\nResponse: none")
		return
	}
	trunc := ""
	if wr.Response.Truncated {
		trunc = " (body truncated)"
	}
	fmt.Fprintf(a.stdout, "\nResponse: %d in %d ms%s\n", wr.Response.Status, wr.Response.DurationMS, trunc)
	printHeaders(a, wr.Response.Headers)
	if wr.Response.Body != "" {
		fmt.Fprintf(a.stdout, "\n%s\n", wr.Response.Body)
	}
}

func printHeaders(a *app, h map[string]string) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(a.stdout, "  %s: %s\n", k, h[k])
	}
}

// bulkArgs are the arguments of delete and resend: numbers, or a filter.
type bulkArgs struct {
	Numbers []string `arg:"" optional:"" help:"Request numbers. Without them, the filter flags select the requests."`
	filterFlags
}

func (b *bulkArgs) request(a *app) (controlapi.BulkRequest, error) {
	f, err := b.filter(time.Now())
	if err != nil {
		return controlapi.BulkRequest{}, err
	}
	req := controlapi.BulkRequest{User: a.user(), Progress: true}
	switch {
	case len(b.Numbers) > 0 && !f.IsEmpty():
		return req, usagef("give request numbers or filter flags, not both")
	case len(b.Numbers) > 0:
		req.Numbers = b.Numbers
	case f.IsEmpty():
		return req, usagef("give request numbers, or at least one filter flag (an empty filter would select every request)")
	default:
		req.Filter = &f
	}
	return req, nil
}

// send sends a delete or resend with a progress bar and decodes its result into out; count
// tells how many requests the result covers, to finish the bar. With -o json it prints the
// result; the caller prints the table form.
func (b *bulkArgs) send(a *app, command, label string, out any, count func() int) error {
	req, err := b.request(a)
	if err != nil {
		return err
	}
	bar := a.newProgress(label)
	raw, err := a.call(command, req, out, bar.callback())
	if err != nil {
		bar.done()
		return err
	}
	bar.finish(count())
	if a.json() {
		return writeJSON(a.stdout, raw)
	}
	return nil
}

type requestsDeleteCmd struct {
	bulkArgs
}

func (c *requestsDeleteCmd) Help() string {
	return `Examples:

    webhookctl requests delete WR-0000001234 WR-0000001235
    webhookctl requests delete --state successful --to 2025-01-01

Numbers that do not exist are listed as not found (exit code 5).`
}

func (c *requestsDeleteCmd) Run(a *app) error {
	var res controlapi.DeleteResult
	if err := c.send(a, controlapi.CmdRequestsDelete, "deleting", &res, func() int { return res.Deleted + len(res.NotFound) }); err != nil {
		return err
	}
	if !a.json() {
		fmt.Fprintf(a.stdout, "Deleted %d webhook request%s.\n", res.Deleted, plural(res.Deleted))
		if len(res.NotFound) > 0 {
			fmt.Fprintf(a.stdout, "Not found: %s\n", strings.Join(res.NotFound, " "))
		}
	}
	if len(res.NotFound) > 0 {
		return errPartial
	}
	return nil
}

type requestsResendCmd struct {
	bulkArgs
}

func (c *requestsResendCmd) Help() string {
	return `Each request gets one attempt, to its definition's current URL with its current secret,
with the same webhook-id as before. A success replaces the rejected request (by a new one, when
the definition logs all); a failure updates it. A filter selects rejected requests only.

Examples:

    webhookctl requests resend WR-0000001234
    webhookctl requests resend --definition erp-sync --from 24h

Exit code 5 when some requests were rejected again or could not be resent.`
}

func (c *requestsResendCmd) Run(a *app) error {
	var res controlapi.ResendResult
	if err := c.send(a, controlapi.CmdRequestsResend, "resending", &res, func() int { return res.Successful + res.Rejected + res.Failed }); err != nil {
		return err
	}
	if !a.json() {
		if len(res.Results) > 0 {
			tw := newTable(a.stdout, "NUMBER", "OUTCOME", "NEW NUMBER", "ERROR", "DESCRIPTION")
			for _, r := range res.Results {
				row(tw, r.Number, r.Outcome, r.NewNumber, string(r.ErrorCode), clip(r.ErrorDescription, 100))
			}
			_ = tw.Flush()
		}
		if res.Truncated {
			fmt.Fprintf(a.stdout, "(only the first %d results are listed)\n", len(res.Results))
		}
		fmt.Fprintf(a.stdout, "Successful: %d, rejected: %d, failed: %d.\n", res.Successful, res.Rejected, res.Failed)
	}
	if res.Rejected+res.Failed > 0 {
		return errPartial
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
