package redact_test

import (
	"fmt"

	"github.com/webhookd/webhookd/redact"
)

func ExampleSecret() {
	fmt.Println(redact.Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
	// Output: whsec_…LaSw
}

func ExampleHeader() {
	fmt.Println(redact.Header("Authorization", "Bearer 0123456789abcdefghijklmn"))
	fmt.Println(redact.Header("Webhook-Auth-Token", "short"))
	fmt.Println(redact.Header("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"))
	fmt.Println(redact.Header("X-Api-Version", "2"))
	// Output:
	// …klmn
	// …
	// msg_2KWPBgLlAfxdpx2AI54pPJ85f4W
	// 2
}

func ExampleURL() {
	fmt.Println(redact.URL("https://erp.example.com/hooks?token=0123456789abcdefghijklmnop&page=2"))
	// Output: https://erp.example.com/hooks?token=…mnop&page=2
}
