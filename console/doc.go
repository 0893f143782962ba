// Package console is webhookd's web console (CONTRACT.md section 8): the CRM's "Manage webhook
// requests" screens, served by the worker on --console-addr.
//
// Everything it does goes through the control plane's own code: a Backend runs control
// commands in process (the worker's *control.Responder, its Exec), with the same checks, audit
// (the signed-in user is the command's "user"), metrics and progress as a control message. Only
// what the control plane has no command for is read from the store (a Store): the counts by
// state and the chart of the summary page, the invalid events, and the whole definition a
// reactivation applies again.
//
// Pages are rendered by the server (html/template, so every value a receiver or an event sent
// is escaped), with a little progressive script in a static file; every asset is embedded.
// Users come from an htpasswd file of bcrypt entries, re-read when it changes, or are the
// generated admin of a standalone webhookd. Sessions are kept on the server (the cookie holds a
// random token; HttpOnly, SameSite=Lax, Secure over TLS) and expire; wrong passwords are
// throttled per user and per client address; cross-origin form posts are refused
// (http.CrossOriginProtection); a Content-Security-Policy forbids inline script.
package console
