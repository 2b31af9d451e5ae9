package cli

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/config"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/postgres"
	"github.com/nomosauth/nomosauth/internal/store/sqlite"
	"github.com/nomosauth/nomosauth/internal/store/txn"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// env is what every command receives.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

type command struct {
	name    string
	summary string
	run     func(e env, args []string) int
}

func commands() []command {
	return []command{
		{"serve", "run the authorization server", runServe},
		{"org create", "create an organization: --name", runOrgCreate},
		{"org list", "list organizations", runOrgList},
		{"client create", "create an Auth Client: --org --name [--redirect-uri URI]... [--scope \"read:* write:*\"] [--public] [--api-version V]", runClientCreate},
		{"client list", "list clients [--org ORG]", runClientList},
		{"client show", "show a client: --id", runClientShow},
		{"client rotate-secret", "issue a new secret: --id [--overlap 24h]", runClientRotateSecret},
		{"client disable", "disable a client at once: --id", runClientDisable},
		{"customer create", "create a customer: --org --email --first-name --last-name [--company-name]", runCustomerCreate},
		{"subscription create", "create a subscription: --customer --street --house-number --zip --city --meter-number --iban --account-holder [--status active] [--type consumption] [--start YYYY-MM-DD]", runSubscriptionCreate},
		{"prices import", "import prices: --subscription --file prices.csv (" + admin.PricesHeader + ")", runPricesImport},
		{"grants list", "list a customer's active grants: --customer", runGrantsList},
		{"grants revoke", "revoke a grant and all its tokens: --id", runGrantsRevoke},
		{"migrate", "apply pending database migrations and list them (serve applies them too)", runMigrate},
		{"audit list", "list audit events, newest first: --since, --client, --customer, --action, --limit, --before", runAuditList},
		{"keys rotate", "make a new signing key: in every JWKS within --key-poll, signing once it has been there --key-publish-delay (two polls plus the delay from now); old keys stay published until their tokens expire", runKeysRotate},
		{"keys rotate-seal", "make a new seal key for client-credentials refresh tokens: sealing two --key-poll intervals later; the old key opens its tokens for --refresh-idle-ttl after that", runKeysRotateSeal},
	}
}

// Run runs the command in args and returns the process exit code: 0 on
// success, 1 on failure, 2 on bad usage.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c.run(e, args[len(words):])
		}
	}
	if len(args) > 0 && args[0] != "help" && args[0] != "--help" && args[0] != "-h" {
		fmt.Fprintf(stderr, "nomosauth: unknown command %q\n\n", strings.Join(args, " "))
		usage(stderr)
		return exitUsage
	}
	usage(stdout)
	return exitOK
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "nomosauth: an OAuth 2.0 authorization server for the Nomos energy API.")
	fmt.Fprintln(w, "\nUsage: nomosauth COMMAND [flags]   (nomosauth COMMAND --help lists its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-22s %s\n", c.name, c.summary)
	}
}

// flags makes a FlagSet for command name with the common settings bound.
func flags(e env, name string, cfg *config.Config, settings ...[]config.Setting) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet("nomosauth "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	all := config.Common()
	for _, s := range settings {
		all = append(all, s...)
	}
	return fs, config.Bind(fs, cfg, e.getenv, all)
}

// parse parses args and returns the exit code to stop with, or -1 to go on.
func parse(e env, fs *flag.FlagSet, bindErr error, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if bindErr != nil {
		fmt.Fprintln(e.stderr, "nomosauth:", bindErr)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "nomosauth: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	return -1
}

// require reports missing required flags as a usage error.
func require(e env, pairs ...string) int {
	var missing []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			missing = append(missing, "--"+pairs[i])
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(e.stderr, "nomosauth: missing %s\n", strings.Join(missing, ", "))
		return exitUsage
	}
	return -1
}

// openAdmin opens the store named by cfg for an admin command: an
// existing database only (PRODUCT O9).
func openAdmin(e env, cfg config.Config) (*admin.Admin, func(), error) {
	st, err := openExisting(e.ctx, cfg.DB)
	if err != nil {
		return nil, nil, err
	}
	a := &admin.Admin{Directory: st, Customers: st, Keys: st, Grants: st, Audit: st, IDs: ids.Generator{Rand: rand.Reader}, Now: time.Now,
		Actor: operator(e)}
	return a, func() { st.Close() }, nil
}

// operator is who runs an admin command, for the audit log (PRODUCT O8):
// the login name the environment gives, the invoking user under sudo.
func operator(e env) domain.Actor {
	return domain.Actor{Kind: domain.ActorOperator, ID: cmp.Or(e.getenv("SUDO_USER"), e.getenv("USER"), e.getenv("LOGNAME"))}
}

// openStore opens the database db names: PostgreSQL for a postgres:// URL
// (PRODUCT O5), else the SQLite file at that path. Both apply their
// pending migrations.
// Only serve and migrate use it: they create a missing SQLite file.
func openStore(ctx context.Context, db string, observe ...txn.CommitObserver) (store.Store, error) {
	if postgres.IsDSN(db) {
		return postgres.Open(ctx, db, observe...)
	}
	return sqlite.Open(ctx, db, observe...)
}

// openExisting is openStore for the admin commands, which never create a
// database: a missing SQLite file is an error naming it (PRODUCT O9).
func openExisting(ctx context.Context, db string) (store.Store, error) {
	if postgres.IsDSN(db) {
		return postgres.Open(ctx, db)
	}
	return sqlite.OpenExisting(ctx, db)
}

// fail prints err for the operator: a problem's safe message, or the error.
func fail(e env, err error) int {
	var p *problem.Error
	if errors.As(err, &p) {
		fmt.Fprintln(e.stderr, "nomosauth:", p.Message)
	} else {
		fmt.Fprintln(e.stderr, "nomosauth:", err)
	}
	return exitFail
}

// output prints v as JSON with --json, else as "key: value" lines in order.
func output(e env, cfg config.Config, v any, text [][2]string) int {
	if cfg.JSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fail(e, err)
		}
		return exitOK
	}
	width := 0
	for _, kv := range text {
		width = max(width, len(kv[0]))
	}
	for _, kv := range text {
		fmt.Fprintf(e.stdout, "%-*s  %s\n", width+1, kv[0]+":", kv[1])
	}
	return exitOK
}

// listOutput prints rows as JSON with --json, else one line each.
func listOutput[T any](e env, cfg config.Config, rows []T, line func(T) string) int {
	if cfg.JSON {
		if rows == nil {
			rows = []T{}
		}
		return output(e, cfg, rows, nil)
	}
	for _, r := range rows {
		fmt.Fprintln(e.stdout, line(r))
	}
	return exitOK
}

// flagSet narrows *flag.FlagSet to what admin commands define.
type flagSet struct{ *flag.FlagSet }
