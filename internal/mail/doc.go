// Package mail delivers one-time sign-in codes (PRODUCT A7): through SMTP
// over TLS unless the operator opts out (PRODUCT S7) with bounded
// timeouts, or to the console in development (PRODUCT O1), behind the
// one-method Sender interface. Queue, itself a Sender, sends after the
// page has been answered and retries. It imports nothing of ours.
package mail
