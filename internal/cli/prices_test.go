package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/store/sqlite"
)

func TestPricesImport(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "cli.db")
	org := jsonOut(t, run(t, db, "org", "create", "--name", "Org", "--json"))["id"].(string)
	cus := jsonOut(t, run(t, db, "customer", "create", "--org", org, "--email", "p@example.com", "--first-name", "Ada", "--last-name", "Lovelace", "--json"))["id"].(string)
	sub := jsonOut(t, run(t, db, "subscription", "create", "--customer", cus, "--street", "Torstraße", "--house-number", "119", "--zip", "10115", "--city", "Berlin", "--meter-number", "1APA0195124010", "--iban", "DE89370400440532013000", "--account-holder", "Ada Lovelace", "--json"))["id"].(string)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	count := func() int {
		st, err := sqlite.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		pts, err := st.ListPrices(context.Background(), sub, time.Time{}.Add(time.Microsecond), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		return len(pts)
	}
	good := write("good.csv", "timestamp,electricity,grid,levies\n2026-03-01T00:00:00Z,8.77,9.47,6.2\n2026-03-01T01:00:00Z,7.48,9.47,5.2\n")
	out := jsonOut(t, run(t, db, "prices", "import", "--subscription", sub, "--file", good, "--json"))
	if out["imported"] != float64(2) || out["first"] != "2026-03-01T00:00:00Z" {
		t.Fatalf("import: %v", out)
	}
	bad := write("bad.csv", "timestamp,electricity,grid,levies\n2026-03-02T00:00:00Z,1,1,1\n2026-03-02T01:00:00Z,oops,1,1\n")
	r := run(t, db, "prices", "import", "--subscription", sub, "--file", bad)
	if r.code != exitFail || !strings.Contains(r.stderr, "line 3: electricity \"oops\"") {
		t.Fatalf("bad file: exit %d, %s", r.code, r.stderr)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d points after a failed import, want the 2 from before", n)
	}
	r = run(t, db, "prices", "import", "--subscription", "sub_missing", "--file", good)
	if r.code != exitFail || !strings.Contains(r.stderr, "subscription not found") {
		t.Fatalf("unknown subscription: exit %d, %s", r.code, r.stderr)
	}
	if r := run(t, db, "prices", "import", "--subscription", sub); r.code != exitUsage {
		t.Fatalf("missing --file: exit %d", r.code)
	}
}
