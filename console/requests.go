package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/storage"
)

// exec runs a command through the control plane and decodes its result into out.
func (c *Console) exec(ctx context.Context, command string, req, out any) *controlapi.Error {
	body, err := json.Marshal(req)
	if err != nil {
		return &controlapi.Error{Code: controlapi.CodeInternal, Message: fmt.Sprintf("encode the %s request: %v", command, err)}
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.CommandTimeout)
	defer cancel()
	res, err := c.o.Backend.Exec(ctx, command, body, nil)
	if err != nil {
		return commandError(err)
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			return &controlapi.Error{Code: controlapi.CodeInternal, Message: fmt.Sprintf("decode the %s result: %v", command, err)}
		}
	}
	return nil
}

type summaryView struct {
	Form        filterForm
	From, To    string // the form's time controls
	PageSizes   []int
	Definitions []config.Definition
	Rules       []config.Rule
	Items       []*storage.WebhookRequest
	NextURL     string
	FirstURL    string // set on a later page
	Error       *controlapi.Error
	Stats       *stats
	StatsError  string
	Ranges      []rangeLink
	Self        string // this page's URL, where actions come back to
	Hidden      []hiddenField
}

type rangeLink struct {
	Key, Label, Href string
	Current          bool
}

// hiddenField carries the search into the forms of the page's actions.
type hiddenField struct{ Name, Value string }

func (f filterForm) hidden() []hiddenField {
	var out []hiddenField
	vals := f.values()
	for _, k := range []string{pState, pEntity, pEntityID, pEventID, pDefinition, pRule, pCreatedFrom, pCreatedTo} {
		if v := vals.Get(k); v != "" {
			out = append(out, hiddenField{k, v})
		}
	}
	return out
}

func (c *Console) summary(w http.ResponseWriter, r *http.Request, ss *session) {
	form := parseFilterForm(r.URL.Query())
	v := summaryView{Form: form, From: localValue(form.CreatedFrom), To: localValue(form.CreatedTo),
		PageSizes: pageSizes, Self: r.URL.RequestURI(), Hidden: form.hidden()}
	ctx := r.Context()

	// The search's options: the definitions and rules there are.
	var defs controlapi.ItemsResult[config.Definition]
	if e := c.exec(ctx, controlapi.CmdDefinitionsList, struct{}{}, &defs); e == nil {
		v.Definitions = defs.Items
	}
	var rules controlapi.ItemsResult[config.Rule]
	if e := c.exec(ctx, controlapi.CmdRulesList, struct{}{}, &rules); e == nil {
		v.Rules = rules.Items
	}

	limit := form.Limit
	var list struct {
		Items []*storage.WebhookRequest `json:"items"`
		Next  string                    `json:"next"`
	}
	status := http.StatusOK
	if e := c.exec(ctx, controlapi.CmdRequestsList, controlapi.ListRequest{Filter: form.control(), Limit: &limit, After: form.After}, &list); e != nil {
		v.Error, status = e, statusOf(e)
	} else {
		v.Items = list.Items
		if list.Next != "" {
			v.NextURL = form.url(list.Next)
		}
		if form.After != "" {
			v.FirstURL = form.url("")
		}
		if sf, ok := form.storage(); ok {
			st, err := computeStats(ctx, c.o.Store, form, sf, c.o.Now())
			if err != nil {
				v.StatsError = "The counts could not be made in time; narrow the search to see them."
				c.o.Log.Warn("console: count webhook requests", "error", err)
			}
			v.Stats = st
		}
	}
	for _, k := range chartRangeOrder {
		f := form
		f.Range, f.After = k, ""
		v.Ranges = append(v.Ranges, rangeLink{Key: k, Label: k, Href: f.url(""), Current: k == form.Range})
	}
	c.render(w, r, ss, status, "summary", "Manage webhook requests", v)
}

type requestView struct {
	Item  *storage.WebhookRequest
	Error *controlapi.Error
}

func (c *Console) request(w http.ResponseWriter, r *http.Request, ss *session) {
	number := r.PathValue("number")
	var res controlapi.ItemResult[*storage.WebhookRequest]
	if e := c.exec(r.Context(), controlapi.CmdRequestsGet, controlapi.GetRequest{Number: number}, &res); e != nil {
		c.renderError(w, r, ss, statusOf(e), "Webhook request "+number, e.Message, e.Code)
		return
	}
	c.render(w, r, ss, http.StatusOK, "request", "Webhook request "+number, requestView{Item: res.Item})
}

type confirmDeleteView struct{ Number string }

// confirmDelete asks "Yes"/"No" before a delete, for a browser without script (with script the
// data entry page asks in a dialog).
func (c *Console) confirmDelete(w http.ResponseWriter, r *http.Request, ss *session) {
	c.render(w, r, ss, http.StatusOK, "confirm-delete", "Delete "+r.PathValue("number"), confirmDeleteView{Number: r.PathValue("number")})
}

func (c *Console) deleteOne(w http.ResponseWriter, r *http.Request, ss *session) {
	number := r.PathValue("number")
	var res controlapi.DeleteResult
	if e := c.exec(r.Context(), controlapi.CmdRequestsDelete, controlapi.BulkRequest{Numbers: []string{number}, User: ss.user}, &res); e != nil {
		c.flashError(ss, "DELETE of "+number+" refused", e)
		http.Redirect(w, r, requestURL(number), http.StatusSeeOther)
		return
	}
	if res.Deleted == 0 {
		c.sessions.addFlash(ss, flash{Kind: "warn", Text: "Webhook request " + number + " was already gone: nothing was deleted.", Code: controlapi.CodeNotFound})
	} else {
		c.sessions.addFlash(ss, flash{Kind: "ok", Text: "Webhook request " + number + " deleted."})
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (c *Console) resendOne(w http.ResponseWriter, r *http.Request, ss *session) {
	number := r.PathValue("number")
	var res controlapi.ResendResult
	if e := c.exec(r.Context(), controlapi.CmdRequestsResend, controlapi.BulkRequest{Numbers: []string{number}, User: ss.user}, &res); e != nil {
		c.flashError(ss, "RESEND of "+number+" refused", e)
		http.Redirect(w, r, requestURL(number), http.StatusSeeOther)
		return
	}
	if len(res.Results) != 1 {
		c.flashError(ss, "RESEND of "+number, &controlapi.Error{Code: controlapi.CodeInternal, Message: "the control plane gave no outcome"})
		http.Redirect(w, r, requestURL(number), http.StatusSeeOther)
		return
	}
	// Where the page goes after the outcome's message: the request's page unless it is gone.
	to := requestURL(number)
	it := res.Results[0]
	switch {
	case it.Outcome == controlapi.OutcomeSuccessful && it.NewNumber != "":
		c.sessions.addFlash(ss, flash{Kind: "ok", Text: "RESEND successful: the receiver accepted it. The rejected request " + number +
			" was replaced by the new request", Link: requestURL(it.NewNumber), LinkText: it.NewNumber})
		to = requestURL(it.NewNumber)
	case it.Outcome == controlapi.OutcomeSuccessful:
		c.sessions.addFlash(ss, flash{Kind: "ok", Text: "RESEND successful: the receiver accepted it. The rejected request " + number +
			" was deleted; its webhook definition logs rejected requests only, so no new request was written."})
		to = "/"
	case it.Outcome == controlapi.OutcomeRejected:
		c.sessions.addFlash(ss, flash{Kind: "error", Text: "RESEND rejected: " + it.ErrorDescription + ". The request keeps its place with the new error.", Code: it.ErrorCode})
	default:
		c.sessions.addFlash(ss, flash{Kind: "error", Text: "RESEND not done: " + it.ErrorDescription + ".", Code: it.ErrorCode})
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (c *Console) flashError(ss *session, what string, e *controlapi.Error) {
	c.sessions.addFlash(ss, flash{Kind: "error", Text: what + ": " + strings.TrimSuffix(e.Message, ".") + ".", Code: e.Code})
}
