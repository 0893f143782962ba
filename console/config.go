package console

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/storage"
)

// listView is a page of the items a list command (definitions.list, rules.list) gives, or its
// error.
type listView[T any] struct {
	Items []T
	Error *controlapi.Error
}

// listPage renders the items command lists, or its error with the error's status.
func listPage[T any](c *Console, w http.ResponseWriter, r *http.Request, ss *session, command, page, title string) {
	var res controlapi.ItemsResult[T]
	v := listView[T]{}
	status := http.StatusOK
	if e := c.exec(r.Context(), command, struct{}{}, &res); e != nil {
		v.Error, status = e, statusOf(e)
	}
	v.Items = res.Items
	c.render(w, r, ss, status, page, title, v)
}

// definitions lists the webhook definitions as definitions.list gives them: secret keys and
// credential headers masked.
func (c *Console) definitions(w http.ResponseWriter, r *http.Request, ss *session) {
	listPage[config.Definition](c, w, r, ss, controlapi.CmdDefinitionsList, "definitions", "Webhook definitions")
}

// reactivate applies a definition again, active, through config.apply: the command an operator
// reactivates one with, so it is validated, audited and reloaded as any change is. The whole
// definition (its secret included) is read from the store, since replies mask secrets; nothing
// of it is shown.
func (c *Console) reactivate(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	back := "/definitions#def-" + url.PathEscape(id)
	def, err := c.o.Store.GetDefinition(r.Context(), id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		c.flashError(ss, "Reactivation of "+id+" refused", &controlapi.Error{Code: controlapi.CodeNotFound, Message: "webhook definition " + id + " does not exist"})
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	case err != nil:
		c.flashError(ss, "Reactivation of "+id+" failed", &controlapi.Error{Code: controlapi.CodeInternal, Message: "read the webhook definition: " + err.Error()})
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	d := def.Clone()
	d.Active = true
	d.DisabledReason, d.DisabledAt = "", nil
	d.UpdatedAt, d.UpdatedBy = time.Time{}, ""
	req := controlapi.ApplyRequest{Document: config.Document{WebhookDefinitions: []config.Definition{d}, WorkflowRules: []config.Rule{}}, User: ss.user}
	if e := c.exec(r.Context(), controlapi.CmdConfigApply, req, nil); e != nil {
		c.flashError(ss, "Reactivation of "+id+" refused", e)
	} else {
		c.sessions.addFlash(ss, flash{Kind: "ok", Text: "Webhook definition " + id + " is active again: new deliveries are sent to it, and its rejected requests can be resent."})
		c.o.Log.Info("console: definition reactivated", "user", ss.user, "definition", id)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (c *Console) rules(w http.ResponseWriter, r *http.Request, ss *session) {
	listPage[config.Rule](c, w, r, ss, controlapi.CmdRulesList, "rules", "Workflow rules")
}

// maxInvalidEvents is how many invalid events the page lists, newest first.
const maxInvalidEvents = 100

type invalidEventsView struct {
	Items []storage.InvalidEvent
	Limit int
	Error *controlapi.Error
}

func (c *Console) invalidEvents(w http.ResponseWriter, r *http.Request, ss *session) {
	v := invalidEventsView{Limit: maxInvalidEvents}
	status := http.StatusOK
	items, err := c.o.Store.ListInvalidEvents(r.Context(), maxInvalidEvents)
	if err != nil {
		v.Error, status = &controlapi.Error{Code: controlapi.CodeInternal, Message: "list invalid events: " + err.Error()}, http.StatusInternalServerError
	}
	v.Items = items
	c.render(w, r, ss, status, "invalid-events", "Invalid events", v)
}
