package cli

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/config"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// adminCommand parses the common flags plus those define registers, checks
// the required ones, opens the store and runs act.
func adminCommand(e env, name string, args []string, define func(fs *flagSet), required func() []string,
	act func(a *admin.Admin, cfg config.Config) int) int {
	var cfg config.Config
	fs, bindErr := flags(e, name, &cfg)
	define(&flagSet{fs})
	if code := parse(e, fs, bindErr, args); code >= 0 {
		return code
	}
	if code := require(e, required()...); code >= 0 {
		return code
	}
	a, closeStore, err := openAdmin(e, cfg)
	if err != nil {
		return fail(e, err)
	}
	defer closeStore()
	return act(a, cfg)
}

func runOrgCreate(e env, args []string) int {
	var name string
	return adminCommand(e, "org create", args,
		func(fs *flagSet) { fs.StringVar(&name, "name", "", "organization name") },
		func() []string { return []string{"name", name} },
		func(a *admin.Admin, cfg config.Config) int {
			org, err := a.CreateOrg(e.ctx, name)
			if err != nil {
				return fail(e, err)
			}
			return output(e, cfg, map[string]string{"id": org.ID}, [][2]string{{"id", org.ID}, {"name", org.Name}})
		})
}

type orgJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func runOrgList(e env, args []string) int {
	return adminCommand(e, "org list", args, func(*flagSet) {}, func() []string { return nil },
		func(a *admin.Admin, cfg config.Config) int {
			orgs, err := a.Directory.ListOrgs(e.ctx)
			if err != nil {
				return fail(e, err)
			}
			rows := make([]orgJSON, 0, len(orgs))
			for _, o := range orgs {
				rows = append(rows, orgJSON{o.ID, o.Name, o.CreatedAt})
			}
			return listOutput(e, cfg, rows, func(o orgJSON) string { return o.ID + "  " + o.Name })
		})
}

// clientJSON is a client as admin commands print it: never a secret.
type clientJSON struct {
	ID                string    `json:"id"`
	OrgID             string    `json:"org_id"`
	Name              string    `json:"name"`
	Public            bool      `json:"public"`
	Scope             string    `json:"scope"`
	RedirectURIs      []string  `json:"redirect_uris"`
	DefaultAPIVersion string    `json:"default_api_version"`
	Disabled          bool      `json:"disabled"`
	FirstParty        bool      `json:"first_party"`
	DeviceGrant       bool      `json:"device_grant"`
	CreatedAt         time.Time `json:"created_at"`
}

func toClientJSON(c domain.Client) clientJSON {
	return clientJSON{c.ID, c.OrgID, c.Name, c.Public, c.Scopes.String(), c.RedirectURIs, c.DefaultAPIVersion, c.Disabled, c.FirstParty, c.DeviceGrant, c.CreatedAt}
}

func clientText(c clientJSON) [][2]string {
	return [][2]string{{"id", c.ID}, {"org", c.OrgID}, {"name", c.Name}, {"public", fmt.Sprint(c.Public)},
		{"scope", c.Scope}, {"redirect uris", strings.Join(c.RedirectURIs, " ")},
		{"default api version", c.DefaultAPIVersion}, {"first party", fmt.Sprint(c.FirstParty)}, {"device grant", fmt.Sprint(c.DeviceGrant)}, {"disabled", fmt.Sprint(c.Disabled)}}
}

func runClientCreate(e env, args []string) int {
	var spec admin.ClientSpec
	return adminCommand(e, "client create", args,
		func(fs *flagSet) {
			fs.StringVar(&spec.OrgID, "org", "", "organization id")
			fs.StringVar(&spec.Name, "name", "", "client name, shown to customers")
			fs.StringVar(&spec.Scope, "scope", "", `allowed scopes (default "read:* write:*")`)
			fs.BoolVar(&spec.Public, "public", false, "public client: no secret, PKCE only")
			fs.BoolVar(&spec.FirstParty, "first-party", false, "an app you run yourself: flow_type=login skips the consent page (PRODUCT A9)")
			fs.BoolVar(&spec.DeviceGrant, "device-grant", false, "the client may pair devices without a browser with the device authorization grant (PRODUCT T11)")
			fs.StringVar(&spec.APIVersion, "api-version", "", "default API version of its requests (default the latest)")
			fs.Func("redirect-uri", "registered redirect URI (repeatable)", func(v string) error {
				spec.RedirectURIs = append(spec.RedirectURIs, v)
				return nil
			})
		},
		func() []string { return []string{"org", spec.OrgID, "name", spec.Name} },
		func(a *admin.Admin, cfg config.Config) int {
			c, secret, err := a.CreateClient(e.ctx, spec)
			if err != nil {
				return fail(e, err)
			}
			out := map[string]string{"client_id": c.ID}
			text := [][2]string{{"client_id", c.ID}}
			if secret != "" {
				out["client_secret"] = secret
				text = append(text, [2]string{"client_secret", secret + "   (shown once: store it now)"})
			}
			return output(e, cfg, out, text)
		})
}

func runClientList(e env, args []string) int {
	var org string
	return adminCommand(e, "client list", args,
		func(fs *flagSet) { fs.StringVar(&org, "org", "", "only this organization's clients") },
		func() []string { return nil },
		func(a *admin.Admin, cfg config.Config) int {
			clients, err := a.Directory.ListClients(e.ctx, org)
			if err != nil {
				return fail(e, err)
			}
			rows := make([]clientJSON, 0, len(clients))
			for _, c := range clients {
				rows = append(rows, toClientJSON(c))
			}
			return listOutput(e, cfg, rows, func(c clientJSON) string {
				state := ""
				if c.FirstParty {
					state += "  (first-party)"
				}
				if c.Disabled {
					state += "  (disabled)"
				}
				return c.ID + "  " + c.OrgID + "  " + c.Name + state
			})
		})
}

func runClientShow(e env, args []string) int {
	var id string
	return adminCommand(e, "client show", args,
		func(fs *flagSet) { fs.StringVar(&id, "id", "", "client id") },
		func() []string { return []string{"id", id} },
		func(a *admin.Admin, cfg config.Config) int {
			c, err := a.GetClient(e.ctx, id)
			if err != nil {
				return fail(e, err)
			}
			j := toClientJSON(c)
			return output(e, cfg, j, clientText(j))
		})
}

func runClientRotateSecret(e env, args []string) int {
	var id string
	var overlap time.Duration
	return adminCommand(e, "client rotate-secret", args,
		func(fs *flagSet) {
			fs.StringVar(&id, "id", "", "client id")
			fs.DurationVar(&overlap, "overlap", 24*time.Hour, "how long the old secret keeps working")
		},
		func() []string { return []string{"id", id} },
		func(a *admin.Admin, cfg config.Config) int {
			secret, err := a.RotateSecret(e.ctx, id, overlap)
			if err != nil {
				return fail(e, err)
			}
			return output(e, cfg, map[string]string{"client_id": id, "client_secret": secret},
				[][2]string{{"client_id", id}, {"client_secret", secret + "   (shown once: store it now)"}, {"old secret valid for", overlap.String()}})
		})
}

func runClientDisable(e env, args []string) int {
	var id string
	return adminCommand(e, "client disable", args,
		func(fs *flagSet) { fs.StringVar(&id, "id", "", "client id") },
		func() []string { return []string{"id", id} },
		func(a *admin.Admin, cfg config.Config) int {
			if err := a.DisableClient(e.ctx, id); err != nil {
				return fail(e, err)
			}
			return output(e, cfg, map[string]string{"id": id}, [][2]string{{"id", id}, {"disabled", "true"}})
		})
}

func runCustomerCreate(e env, args []string) int {
	var spec admin.CustomerSpec
	return adminCommand(e, "customer create", args,
		func(fs *flagSet) {
			fs.StringVar(&spec.OrgID, "org", "", "organization id")
			fs.StringVar(&spec.Email, "email", "", "email, unique across the server (ASCII local part; an internationalized domain is stored as A-labels)")
			fs.StringVar(&spec.FirstName, "first-name", "", "first name")
			fs.StringVar(&spec.LastName, "last-name", "", "last name")
			fs.StringVar(&spec.CompanyName, "company-name", "", "company name (makes a company customer)")
		},
		func() []string {
			return []string{"org", spec.OrgID, "email", spec.Email, "first-name", spec.FirstName, "last-name", spec.LastName}
		},
		func(a *admin.Admin, cfg config.Config) int {
			c, err := a.CreateCustomer(e.ctx, spec)
			if err != nil {
				return fail(e, err)
			}
			// The email as stored: an internationalized domain in A-labels (PRODUCT A7).
			return output(e, cfg, map[string]string{"id": c.ID, "email": c.Email}, [][2]string{{"id", c.ID}, {"email", c.Email}})
		})
}

func runSubscriptionCreate(e env, args []string) int {
	var spec admin.SubscriptionSpec
	var status, typ, start string
	return adminCommand(e, "subscription create", args,
		func(fs *flagSet) {
			fs.StringVar(&spec.CustomerID, "customer", "", "customer id")
			fs.StringVar(&status, "status", "active", "pending, active or ended")
			fs.StringVar(&typ, "type", "consumption", "consumption or feed_in")
			fs.StringVar(&start, "start", "", "start date YYYY-MM-DD (default today)")
			fs.StringVar(&spec.Plan, "plan", "", "plan id (default a new one)")
			fs.Int64Var(&spec.EstimatedUsage, "estimated-usage", 0, "estimated yearly usage in kWh")
			fs.StringVar(&spec.Address.Street, "street", "", "delivery address: street")
			fs.StringVar(&spec.Address.HouseNumber, "house-number", "", "delivery address: house number")
			fs.StringVar(&spec.Address.Zip, "zip", "", "delivery address: five-digit zip code")
			fs.StringVar(&spec.Address.City, "city", "", "delivery address: city")
			fs.StringVar(&spec.BillingAddress.Street, "billing-street", "", "billing address: street (default the delivery address, as its own record)")
			fs.StringVar(&spec.BillingAddress.HouseNumber, "billing-house-number", "", "billing address: house number")
			fs.StringVar(&spec.BillingAddress.Zip, "billing-zip", "", "billing address: five-digit zip code")
			fs.StringVar(&spec.BillingAddress.City, "billing-city", "", "billing address: city")
			fs.StringVar(&spec.Meter.Number, "meter-number", "", "meter number")
			fs.StringVar(&spec.Meter.Type, "meter-type", "smart", "smart or analog")
			fs.StringVar(&spec.IBAN, "iban", "", "IBAN for SEPA direct debit (only its masked form is stored)")
			fs.StringVar(&spec.AccountHolder, "account-holder", "", "bank account holder")
		},
		// What the Nomos Subscription object requires (PRODUCT R9).
		func() []string {
			return []string{"customer", spec.CustomerID, "street", spec.Address.Street, "house-number", spec.Address.HouseNumber,
				"zip", spec.Address.Zip, "city", spec.Address.City, "meter-number", spec.Meter.Number,
				"iban", spec.IBAN, "account-holder", spec.AccountHolder}
		},
		func(a *admin.Admin, cfg config.Config) int {
			spec.Status, spec.Type = domain.SubscriptionStatus(status), domain.SubscriptionType(typ)
			// The start is a day where customers live (Europe/Berlin).
			berlin, err := time.LoadLocation(customerTimeZone)
			if err != nil {
				return fail(e, err)
			}
			spec.StartDate = a.Now().In(berlin)
			if start != "" {
				d, err := time.ParseInLocation(time.DateOnly, start, berlin)
				if err != nil {
					fmt.Fprintln(e.stderr, "nomosauth: --start must be a date like 2026-01-31")
					return exitUsage
				}
				spec.StartDate = d
			}
			sub, err := a.CreateSubscription(e.ctx, spec)
			if err != nil {
				return fail(e, err)
			}
			return output(e, cfg, map[string]string{"id": sub.ID}, [][2]string{{"id", sub.ID}, {"status", string(sub.Status)}})
		})
}

func runPricesImport(e env, args []string) int {
	var subID, file string
	return adminCommand(e, "prices import", args,
		func(fs *flagSet) {
			fs.StringVar(&subID, "subscription", "", "subscription id")
			fs.StringVar(&file, "file", "", "CSV file with the header "+admin.PricesHeader+" (- for stdin)")
		},
		func() []string { return []string{"subscription", subID, "file", file} },
		func(a *admin.Admin, cfg config.Config) int {
			in := e.stdin
			if file != "-" {
				f, err := os.Open(file)
				if err != nil {
					return fail(e, err)
				}
				defer f.Close()
				in = f
			}
			points, err := admin.ParsePrices(in)
			if err != nil {
				return fail(e, err)
			}
			if err := a.ImportPrices(e.ctx, subID, points); err != nil {
				return fail(e, err)
			}
			first, last := points[0].Time, points[0].Time
			for _, p := range points {
				first, last = minTime(first, p.Time), maxTime(last, p.Time)
			}
			n := strconv.Itoa(len(points))
			return output(e, cfg, map[string]any{"subscription": subID, "imported": len(points),
				"first": first.Format(time.RFC3339), "last": last.Format(time.RFC3339)},
				[][2]string{{"subscription", subID}, {"imported", n + " price points"}, {"from", first.Format(time.RFC3339)}, {"to", last.Format(time.RFC3339)}})
		})
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// runKeysRotate is PRODUCT T8's publish then sign: the new key is in every
// server's JWKS within --key-poll and signs once it has been there for
// --key-publish-delay, the JWKS max-age the servers announce; it reads both
// like serve does.
func runKeysRotate(e env, args []string) int {
	var alg string
	var rot config.Config
	var bindErr error
	return adminCommand(e, "keys rotate", args,
		func(fs *flagSet) {
			fs.StringVar(&alg, "alg", "", "algorithm: ES256, RS256 or EdDSA (default the current key's)")
			bindErr = config.Bind(fs.FlagSet, &rot, e.getenv, config.Rotation())
		},
		func() []string { return nil },
		func(a *admin.Admin, cfg config.Config) int {
			if bindErr != nil {
				fmt.Fprintln(e.stderr, "nomosauth:", bindErr)
				return exitUsage
			}
			k, signsFrom, err := a.RotateKeys(e.ctx, alg, rot.KeyPublishDelay, rot.KeyPoll)
			if err != nil {
				return fail(e, err)
			}
			from := signsFrom.UTC().Format(time.RFC3339Nano)
			return output(e, cfg, map[string]string{"id": k.ID, "alg": k.Algorithm, "signs_from": from},
				[][2]string{{"id", k.ID}, {"alg", k.Algorithm}, {"signs from", from + "   (in every JWKS within --key-poll)"}})
		})
}

// runKeysRotateSeal rotates the seal key of client-credentials refresh
// tokens (issue 17): the new key seals two key polls from now, once every
// server has loaded it, and the key it replaces opens the tokens it
// sealed for the refresh idle time after that, so none dies early. Both
// are read like serve reads them.
func runKeysRotateSeal(e env, args []string) int {
	var rot config.Config
	var bindErr error
	return adminCommand(e, "keys rotate-seal", args,
		func(fs *flagSet) { bindErr = config.Bind(fs.FlagSet, &rot, e.getenv, config.SealRotation()) },
		func() []string { return nil },
		func(a *admin.Admin, cfg config.Config) int {
			if bindErr != nil {
				fmt.Fprintln(e.stderr, "nomosauth:", bindErr)
				return exitUsage
			}
			k, err := a.RotateSealKey(e.ctx, 2*rot.KeyPoll, rot.RefreshIdleTTL)
			if err != nil {
				return fail(e, err)
			}
			from := k.SealsFrom.UTC().Format(time.RFC3339Nano)
			old := k.SealsFrom.Add(rot.RefreshIdleTTL).UTC().Format(time.RFC3339Nano)
			return output(e, cfg, map[string]string{"id": k.ID, "seals_from": from, "previous_retires_at": old},
				[][2]string{{"id", k.ID}, {"seals from", from}, {"previous key opens until", old}})
		})
}

// grantJSON is a grant as admin commands print it.
type grantJSON struct {
	ID         string    `json:"id"`
	CustomerID string    `json:"customer_id"`
	ClientID   string    `json:"client_id"`
	Client     string    `json:"client"`
	Scope      string    `json:"scope"`
	Since      time.Time `json:"since"`
}

func runGrantsList(e env, args []string) int {
	var customer string
	return adminCommand(e, "grants list", args,
		func(fs *flagSet) { fs.StringVar(&customer, "customer", "", "customer id") },
		func() []string { return []string{"customer", customer} },
		func(a *admin.Admin, cfg config.Config) int {
			grants, err := a.ListGrants(e.ctx, customer)
			if err != nil {
				return fail(e, err)
			}
			rows := make([]grantJSON, 0, len(grants))
			for _, g := range grants {
				// A grant outlives nothing it points at, but a client
				// deleted by hand leaves the name empty, not the list.
				name := ""
				c, err := a.Directory.GetClient(e.ctx, g.ClientID)
				switch {
				case err == nil:
					name = c.Name
				case !errors.Is(err, store.ErrNotFound):
					return fail(e, err)
				}
				rows = append(rows, grantJSON{g.ID, g.CustomerID, g.ClientID, name, g.Scopes.String(), g.CreatedAt})
			}
			return listOutput(e, cfg, rows, func(g grantJSON) string {
				return g.ID + "  " + g.ClientID + " (" + g.Client + ")  " + g.Scope + "  since " + g.Since.Format(time.RFC3339)
			})
		})
}

func runGrantsRevoke(e env, args []string) int {
	var id string
	return adminCommand(e, "grants revoke", args,
		func(fs *flagSet) { fs.StringVar(&id, "id", "", "grant id") },
		func() []string { return []string{"id", id} },
		func(a *admin.Admin, cfg config.Config) int {
			families, err := a.RevokeGrant(e.ctx, id)
			if err != nil {
				return fail(e, err)
			}
			return output(e, cfg, map[string]any{"id": id, "revoked_families": len(families)},
				[][2]string{{"id", id}, {"revoked", strconv.Itoa(len(families)) + " token families"}})
		})
}

// runMigrate applies pending migrations, which opening the store does,
// and lists what the database now has; an operator can run it before
// starting new replicas.
func runMigrate(e env, args []string) int {
	var cfg config.Config
	fs, bindErr := flags(e, "migrate", &cfg)
	if code := parse(e, fs, bindErr, args); code >= 0 {
		return code
	}
	st, err := openStore(e.ctx, cfg.DB)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	applied, err := st.AppliedMigrations(e.ctx)
	if err != nil {
		return fail(e, err)
	}
	versions := make([]int, len(applied))
	text := make([]string, len(applied))
	for i, m := range applied {
		versions[i], text[i] = m.Version, strconv.Itoa(m.Version)
	}
	return output(e, cfg, map[string]any{"applied": versions}, [][2]string{{"applied migrations", strings.Join(text, " ")}})
}
