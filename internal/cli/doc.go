// Package cli holds the subcommands (serve and the admin commands), their
// flags, text and --json output, and all wiring. Nothing else imports it.
package cli
