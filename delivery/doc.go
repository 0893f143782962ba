// Package delivery makes one HTTP attempt of a webhook delivery and says what it means
// (CONTRACT.md section 3): Send signs and sends the request through a shared, keep-alive
// Client that refuses private destinations, and returns a Result whose Outcome (Success,
// Retry, Reject) and ErrorCode come from one table-tested rule, Classify. Backoff is the pure
// schedule of the next attempt's delay.
//
// The package never retries and never sleeps: the worker schedules the next attempt durably
// from Result and Backoff, so a restart neither loses nor restarts a schedule.
//
// Error codes (ErrorCode, also the error_code of rejected webhook requests and a metric label):
//
//	HTTP_<status>        the receiver answered a non-2xx status; 408, 425, 429, 5xx are retried,
//	                     any other (3xx included: redirects are not followed) is rejected
//	TIMEOUT              no complete response within the definition's timeout (retried)
//	CONNECTION_FAILED    the connection could not be made or broke (retried)
//	DNS_FAILED           the host name did not resolve, including a lookup that timed out (retried)
//	TLS_FAILED           TLS handshake or certificate verification failed (retried: certificates
//	                     get fixed, and the contract retries every connection error)
//	DESTINATION_BLOCKED  the address is loopback, private, link-local, … (rejected)
//	INVALID_URL          the URL is not an absolute http or https URL (rejected)
//	INVALID_SECRET       the secret key is not whsec_ and base64 of 24 to 64 bytes (rejected)
//	INVALID_REQUEST      a method or header the HTTP client cannot send (rejected)
//	CANCELED             the caller's context ended: webhookd is stopping, not the receiver's
//	                     fault; callers hand the delivery back instead of counting the attempt
package delivery
