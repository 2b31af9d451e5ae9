// Package admin holds the operator actions shared by the CLI and --dev
// seeding: create organizations, clients (returning the secret once),
// customers and subscriptions, rotate secrets and keys. It validates its
// input and returns problem errors with messages safe to print.
package admin
