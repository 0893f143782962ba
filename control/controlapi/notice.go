package controlapi

import "time"

// SubjectDefinitionDisabled is where webhookd announces a webhook definition that endpoint
// health deactivated (CONTRACT.md section 3): a 410 Gone answer to an attempt or a resend, or
// every attempt failing for the definition's disable_after. Operators watch it with their
// permission on crm.webhooks.notices.>.
const SubjectDefinitionDisabled = "crm.webhooks.notices.definition_disabled"

// DefinitionDisabled is the JSON published on SubjectDefinitionDisabled. Time is the definition's
// disabled_at, kept to the millisecond like every time webhookd shows.
type DefinitionDisabled struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}
