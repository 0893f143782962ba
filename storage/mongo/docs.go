package mongo

import (
	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/storage"
)

// The documents of the store's collections, one type for each kind, and the functions that map
// the domain types to them (newXDoc) and back (xFromDoc). For now the documents are the domain
// types themselves, written as they are.
type (
	definitionDoc   = config.Definition
	ruleDoc         = config.Rule
	requestDoc      = storage.WebhookRequest
	responseDoc     = storage.ResponseInfo
	invalidEventDoc = storage.InvalidEvent
	auditDoc        = storage.AuditEntry
	healthDoc       = storage.DefinitionHealth
)

func newDefinitionDoc(d config.Definition) definitionDoc    { return d }
func definitionFromDoc(doc definitionDoc) config.Definition { return doc }

func newRuleDoc(r config.Rule) ruleDoc    { return r }
func ruleFromDoc(doc ruleDoc) config.Rule { return doc }

func newRequestDoc(r *storage.WebhookRequest) requestDoc           { return *r }
func requestFromDoc(doc requestDoc) *storage.WebhookRequest        { return &doc }
func newResponseDoc(r *storage.ResponseInfo) *responseDoc          { return r }
func newInvalidEventDoc(e storage.InvalidEvent) invalidEventDoc    { return e }
func invalidEventFromDoc(doc invalidEventDoc) storage.InvalidEvent { return doc }
func newAuditDoc(e storage.AuditEntry) auditDoc                    { return e }
func auditFromDoc(doc auditDoc) storage.AuditEntry                 { return doc }
func healthFromDoc(doc healthDoc) storage.DefinitionHealth         { return doc }
