// Package browsertest drives the web console (package console) in a real browser: headless
// Chromium from Debian's packages (/usr/bin/chromium), through chromedp, against a whole
// standalone worker (internal/workertest). It signs in, searches, opens a request, resends it,
// deletes one and several, checks the audit, tries receivers that answer with script and a
// cross-site form post.
//
// It is a module of its own so that chromedp never reaches the requirements of
// github.com/webhookd/webhookd. Without Chromium the tests fail, saying how to install it
// (apt-get install chromium); -short skips them. With WEBHOOKD_SCREENSHOTS=1 they save
// docs/console-summary.png and docs/console-request.png.
package browsertest
