// Package mail delivers one-time sign-in codes (PRODUCT A7): through SMTP
// with bounded timeouts, or to the console in development (PRODUCT O1),
// behind the one-method Sender interface. It imports nothing of ours.
package mail
