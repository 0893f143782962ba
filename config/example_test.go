package config_test

import (
	"fmt"

	"github.com/webhookd/webhookd/config"
)

func ExampleDocument_Validate() {
	doc, err := config.ParseYAML([]byte(`
webhook_definitions:
  - id: erp-sync
    name: ERP customer sync
    url: ftp://erp.example.com/hooks/crm
    secret_key: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    retry: {max_attempts: 3}
workflow_rules:
  - id: customer-activated
    name: Customer activated
    entity: customer
    condition: event.data.status
    webhook_definitions: [erp-sync, billing]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(doc.WebhookDefinitions[0].Retry.MaxAttempts, doc.WebhookDefinitions[0].Retry.MaxInterval)
	existing := func(id string) bool { return false } // ask the store
	if err := doc.Validate(existing); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 3 10m0s
	// webhook_definitions[0] (id "erp-sync"): url: must be http or https; workflow_rules[0] (id "customer-activated"): webhook_definitions: unknown definition "billing": not in this document nor in the store
}
