package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/webhookd/webhookd/control/controlapi"
)

// Scopes of a bulk action on the summary page.
const (
	scopeSelected = "selected" // the checked rows
	scopeFilter   = "filter"   // every request the search matches
)

// bulkForm is a bulk action as the summary page's dialog (or the confirmation page) posts it.
type bulkForm struct {
	Action  string // "delete" or "resend"
	Scope   string
	Numbers []string
	Form    filterForm
	Back    string
}

func readBulkForm(r *http.Request, action string) bulkForm {
	v := r.Form
	if r.Method == http.MethodPost {
		v = r.PostForm
	}
	b := bulkForm{Action: action, Scope: v.Get("scope"), Form: parseFilterForm(v), Back: localPath(v.Get("back"))}
	for _, n := range v["number"] {
		if n = strings.TrimSpace(n); n != "" {
			b.Numbers = append(b.Numbers, n)
		}
	}
	if b.Scope != scopeFilter {
		b.Scope = scopeSelected
	}
	return b
}

// verb is the action's word on buttons and in messages, as the product description writes it.
func (b bulkForm) verb() string { return strings.ToUpper(b.Action) }

type confirmView struct {
	Bulk    bulkForm
	Verb    string
	Hidden  []hiddenField
	Matches int64 // the requests the search matches; -1: not counted
}

// confirmBulk asks before a bulk action, for a browser without script (with script the summary
// page asks in a dialog whose button is the same Save).
func (c *Console) confirmBulk(w http.ResponseWriter, r *http.Request, ss *session) {
	_ = r.ParseForm()
	action := r.Form.Get("action")
	if action != "delete" && action != "resend" {
		c.renderError(w, r, ss, http.StatusBadRequest, "Unknown action", "Choose DELETE or RESEND from the ACTIONS menu.", controlapi.CodeBadRequest)
		return
	}
	b := readBulkForm(r, action)
	if b.Back == "/" {
		b.Back = b.Form.url("")
	}
	if len(b.Numbers) == 0 {
		b.Scope = scopeFilter
	}
	v := confirmView{Bulk: b, Verb: b.verb(), Hidden: b.Form.hidden(), Matches: -1}
	if sf, ok := b.Form.storage(); ok && !b.Form.IsEmpty() {
		if action == "resend" {
			sf.State = "rejected"
		}
		if n, err := c.o.Store.CountRequests(r.Context(), sf); err == nil {
			v.Matches = n
		}
	}
	c.render(w, r, ss, http.StatusOK, "confirm", v.Verb+" webhook requests", v)
}

func (c *Console) bulkDelete(w http.ResponseWriter, r *http.Request, ss *session) {
	c.bulk(w, r, ss, "delete")
}

func (c *Console) bulkResend(w http.ResponseWriter, r *http.Request, ss *session) {
	c.bulk(w, r, ss, "resend")
}

// bulk runs a bulk action: a delete of the checked rows at once, anything else (a delete by
// filter, a resend) as a job whose page shows its progress.
func (c *Console) bulk(w http.ResponseWriter, r *http.Request, ss *session, action string) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		c.renderError(w, r, ss, http.StatusBadRequest, "The form could not be read", err.Error(), controlapi.CodeBadRequest)
		return
	}
	b := readBulkForm(r, action)
	command := controlapi.CmdRequestsDelete
	if action == "resend" {
		command = controlapi.CmdRequestsResend
	}
	req := controlapi.BulkRequest{User: ss.user, Progress: true}
	what := ""
	switch b.Scope {
	case scopeSelected:
		if len(b.Numbers) == 0 {
			c.sessions.addFlash(ss, flash{Kind: "warn", Text: "No webhook request was checked: check the rows to " + action + " first, or choose all that match the search."})
			http.Redirect(w, r, b.Back, http.StatusSeeOther)
			return
		}
		req.Numbers = b.Numbers
		what = fmt.Sprintf("%d checked webhook %s", len(b.Numbers), plural(len(b.Numbers), "request", "requests"))
	default:
		f := b.Form.control()
		req.Filter = &f
		what = "every webhook request that matches the search"
		if action == "resend" {
			what = "every rejected webhook request that matches the search"
		}
	}

	if command == controlapi.CmdRequestsDelete && b.Scope == scopeSelected {
		req.Progress = false
		var res controlapi.DeleteResult
		if e := c.exec(r.Context(), command, req, &res); e != nil {
			c.flashError(ss, "DELETE refused", e)
		} else {
			text := fmt.Sprintf("Deleted %d webhook %s.", res.Deleted, plural(res.Deleted, "request", "requests"))
			kind := "ok"
			if len(res.NotFound) > 0 {
				kind = "warn"
				text += fmt.Sprintf(" %d %s already gone: %s.", len(res.NotFound), plural(len(res.NotFound), "was", "were"), strings.Join(res.NotFound, ", "))
			}
			c.sessions.addFlash(ss, flash{Kind: kind, Text: text})
		}
		http.Redirect(w, r, b.Back, http.StatusSeeOther)
		return
	}

	body, err := json.Marshal(req)
	if err != nil {
		c.renderError(w, r, ss, http.StatusInternalServerError, "The request could not be made", err.Error(), controlapi.CodeInternal)
		return
	}
	j := &job{User: ss.user, Command: command, What: what, Back: b.Back, Started: c.o.Now()}
	if !c.jobs.start(c.o.Backend, j, body) {
		c.sessions.addFlash(ss, flash{Kind: "warn", Text: fmt.Sprintf("%d bulk actions are running already: wait for one to finish, then try again.", maxRunningJobs), Code: controlapi.CodeUnavailable})
		http.Redirect(w, r, b.Back, http.StatusSeeOther)
		return
	}
	c.o.Log.Info("console: bulk action started", "user", ss.user, "command", command, "what", what, "job", j.ID)
	http.Redirect(w, r, "/jobs/"+j.ID, http.StatusSeeOther)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

type jobView struct {
	Job      *job
	Verb     string
	Finished bool
	Done     int64
	Total    int64
	Error    *controlapi.Error
	Delete   *controlapi.DeleteResult
	Resend   *controlapi.ResendResult
}

func (c *Console) jobOf(w http.ResponseWriter, r *http.Request, ss *session) *job {
	j := c.jobs.get(r.PathValue("id"))
	if j == nil || j.User != ss.user {
		c.notFound(w, r, ss, "There is no such bulk action (the console keeps the last "+fmt.Sprint(maxKeptJobs)+", until webhookd restarts).")
		return nil
	}
	return j
}

func (c *Console) jobPage(w http.ResponseWriter, r *http.Request, ss *session) {
	j := c.jobOf(w, r, ss)
	if j == nil {
		return
	}
	v := jobView{Job: j, Verb: "DELETE", Done: j.done.Load(), Total: j.total.Load()}
	if j.Command == controlapi.CmdRequestsResend {
		v.Verb = "RESEND"
	}
	if j.isFinished() {
		v.Finished = true
		switch {
		case j.err != nil:
			v.Error = j.err
		case j.Command == controlapi.CmdRequestsDelete:
			v.Delete = &controlapi.DeleteResult{}
			_ = json.Unmarshal(j.result, v.Delete)
		default:
			v.Resend = &controlapi.ResendResult{}
			_ = json.Unmarshal(j.result, v.Resend)
		}
	}
	c.render(w, r, ss, http.StatusOK, "job", v.Verb+": "+j.What, v)
}

// jobProgress is the job's progress as JSON, which the job page's script polls.
func (c *Console) jobProgress(w http.ResponseWriter, r *http.Request, ss *session) {
	j := c.jobOf(w, r, ss)
	if j == nil {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"done": j.done.Load(), "total": j.total.Load(), "finished": j.isFinished()})
}

// requestURL is a request's data entry page.
func requestURL(number string) string { return "/requests/" + url.PathEscape(number) }
