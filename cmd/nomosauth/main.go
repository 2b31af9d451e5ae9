// Command nomosauth is the OAuth 2.0 authorization server and its admin tool.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/nomosauth/nomosauth/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
