package console

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/storage"
)

// filterForm is the summary page's search as the URL carries it, so that a search can be
// shared as a link. Times are as the form's datetime-local controls send them (UTC, to the
// minute or second) or RFC 3339.
type filterForm struct {
	State       string
	Entity      string
	EntityID    string
	EventID     string
	Definition  string
	Rule        string
	CreatedFrom string
	CreatedTo   string

	Limit int    // page size
	After string // the control plane's cursor of this page
	Range string // the chart's window when the search names no times
}

// The URL's parameter names are the control plane's filter fields.
const (
	pState       = "state"
	pEntity      = "entity"
	pEntityID    = "entity_id"
	pEventID     = "event_id"
	pDefinition  = "webhook_definition"
	pRule        = "workflow_rule"
	pCreatedFrom = "created_from"
	pCreatedTo   = "created_to"
	pLimit       = "limit"
	pAfter       = "after"
	pRange       = "range"
)

// pageSizes are the page sizes offered.
var pageSizes = []int{25, 50, 100, 200}

func parseFilterForm(v url.Values) filterForm {
	f := filterForm{
		State:       strings.TrimSpace(v.Get(pState)),
		Entity:      strings.TrimSpace(v.Get(pEntity)),
		EntityID:    strings.TrimSpace(v.Get(pEntityID)),
		EventID:     strings.TrimSpace(v.Get(pEventID)),
		Definition:  strings.TrimSpace(v.Get(pDefinition)),
		Rule:        strings.TrimSpace(v.Get(pRule)),
		CreatedFrom: strings.TrimSpace(v.Get(pCreatedFrom)),
		CreatedTo:   strings.TrimSpace(v.Get(pCreatedTo)),
		After:       v.Get(pAfter),
		Range:       v.Get(pRange),
		Limit:       controlapi.DefaultLimit,
	}
	if n, err := strconv.Atoi(v.Get(pLimit)); err == nil && n >= 1 && n <= 200 {
		f.Limit = n
	}
	if _, ok := chartRanges[f.Range]; !ok {
		f.Range = defaultRange
	}
	return f
}

// values is the search as URL parameters, without the page's cursor; defaults are left out, so
// that links stay short.
func (f filterForm) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set(pState, f.State)
	set(pEntity, f.Entity)
	set(pEntityID, f.EntityID)
	set(pEventID, f.EventID)
	set(pDefinition, f.Definition)
	set(pRule, f.Rule)
	set(pCreatedFrom, f.CreatedFrom)
	set(pCreatedTo, f.CreatedTo)
	if f.Limit != controlapi.DefaultLimit {
		v.Set(pLimit, strconv.Itoa(f.Limit))
	}
	if f.Range != defaultRange {
		v.Set(pRange, f.Range)
	}
	return v
}

// url is the summary page of this search; after, when set, is a page's cursor.
func (f filterForm) url(after string) string {
	v := f.values()
	if after != "" {
		v.Set(pAfter, after)
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

// IsEmpty reports whether the search names no criterion.
func (f filterForm) IsEmpty() bool { return f.control().IsEmpty() }

// control is the search as the control plane's filter. A time that is not in a form the
// console knows is passed on as typed, for the control plane to refuse with its own message.
func (f filterForm) control() controlapi.Filter {
	return controlapi.Filter{
		State: f.State, Entity: f.Entity, EntityID: f.EntityID, EventID: f.EventID,
		WebhookDefinition: f.Definition, WorkflowRule: f.Rule,
		CreatedFrom: rfc3339(f.CreatedFrom), CreatedTo: rfc3339(f.CreatedTo),
	}
}

// storage is the search as the store's filter, for the counts; false when a value is one the
// control plane refuses (its refusal is what the page shows).
func (f filterForm) storage() (storage.Filter, bool) {
	cf := f.control()
	sf := storage.Filter{State: cf.State, Entity: cf.Entity, EntityID: cf.EntityID, EventID: cf.EventID,
		WebhookDefinition: cf.WebhookDefinition, WorkflowRule: cf.WorkflowRule}
	switch cf.State {
	case "", storage.StateSuccessful, storage.StateRejected:
	default:
		return sf, false
	}
	var err error
	if cf.CreatedFrom != "" {
		if sf.CreatedFrom, err = time.Parse(time.RFC3339, cf.CreatedFrom); err != nil {
			return sf, false
		}
	}
	if cf.CreatedTo != "" {
		if sf.CreatedTo, err = time.Parse(time.RFC3339, cf.CreatedTo); err != nil {
			return sf, false
		}
	}
	return sf, true
}

// localLayouts are the forms of a datetime-local control's value, read as UTC.
var localLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02T15:04:05.999", "2006-01-02"}

// rfc3339 turns a time as typed into RFC 3339 (UTC), or returns it unchanged.
func rfc3339(s string) string {
	if s == "" {
		return ""
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	for _, l := range localLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return s
}

// localValue is a time for a datetime-local control: RFC 3339 shown as UTC to the second;
// anything else as typed.
func localValue(s string) string {
	if t, err := time.Parse(time.RFC3339, rfc3339(s)); err == nil {
		return t.UTC().Format("2006-01-02T15:04:05")
	}
	return s
}
