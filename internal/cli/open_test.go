package cli

import (
	"context"
	"errors"
	"github.com/nomosauth/nomosauth/internal/testfix"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAdminCommandsOpenExistingDatabaseOnly: an admin command never creates
// a database, and one it cannot open is named with the reason, not
// SQLite's "unable to open database file (14)" (PRODUCT O9).
func TestAdminCommandsOpenExistingDatabaseOnly(t *testing.T) {
	dir := t.TempDir()
	t.Run("O9/missing_file_is_not_created", func(t *testing.T) {
		db := filepath.Join(dir, "place.db")
		r := runIn(db, "client", "list")
		if r.code != exitFail || !strings.Contains(r.stderr, db) || !strings.Contains(r.stderr, "no such database") {
			t.Fatalf("exit %d, stderr %q; want 1 naming %s as missing", r.code, r.stderr, db)
		}
		if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("client list left a file at %s (%v)", db, err)
		}
	})
	t.Run("O9/missing_folder", func(t *testing.T) {
		db := filepath.Join(dir, "wrong", "place.db")
		for _, cmd := range [][]string{{"client", "list"}, {"migrate"}} {
			r := runIn(db, cmd...)
			if r.code != exitFail || !strings.Contains(r.stderr, db) || !strings.Contains(r.stderr, "folder "+filepath.Join(dir, "wrong")+" does not exist") {
				t.Fatalf("%v: exit %d, stderr %q; want 1 naming the missing folder", cmd, r.code, r.stderr)
			}
		}
	})
	t.Run("O9/directory", func(t *testing.T) {
		r := runIn(dir, "org", "list")
		if r.code != exitFail || !strings.Contains(r.stderr, dir) || !strings.Contains(r.stderr, "is a directory") {
			t.Fatalf("exit %d, stderr %q; want 1 saying %s is a directory", r.code, r.stderr, dir)
		}
	})
	t.Run("O9/read_only_folder", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores file permissions")
		}
		ro := filepath.Join(dir, "ro")
		db := filepath.Join(ro, "nomosauth.db")
		os.Mkdir(ro, 0o755)
		if r := runIn(db, "migrate"); r.code != 0 {
			t.Fatal(r.stderr)
		}
		os.Remove(db + "-wal")
		os.Remove(db + "-shm")
		os.Chmod(db, 0o444)
		os.Chmod(ro, 0o555)
		t.Cleanup(func() { os.Chmod(ro, 0o755) })
		r := runIn(db, "org", "list")
		if r.code != exitFail || !strings.Contains(r.stderr, db) || !strings.Contains(r.stderr, "read-only") {
			t.Fatalf("exit %d, stderr %q; want 1 saying it is read-only", r.code, r.stderr)
		}
	})
	t.Run("O9/empty_file_is_not_made_a_database", func(t *testing.T) {
		db := filepath.Join(dir, "empty.db")
		if err := os.WriteFile(db, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		r := runIn(db, "org", "list")
		if r.code != exitFail || !strings.Contains(r.stderr, db) || !strings.Contains(r.stderr, "empty") {
			t.Fatalf("exit %d, stderr %q; want 1 naming %s as empty", r.code, r.stderr, db)
		}
		if fi, err := os.Stat(db); err != nil || fi.Size() != 0 {
			t.Fatalf("org list wrote to the empty file (%v, %v)", fi, err)
		}
	})
	t.Run("O9/read_only_file", func(t *testing.T) {
		db := filepath.Join(dir, "frozen.db")
		if r := runIn(db, "migrate"); r.code != 0 {
			t.Fatal(r.stderr)
		}
		if os.Geteuid() == 0 {
			// Root ignores permissions but not the immutable attribute.
			if out, err := exec.Command("chattr", "+i", db).CombinedOutput(); err != nil {
				t.Skipf("root, and chattr +i failed: %v %s", err, out)
			}
			t.Cleanup(func() { exec.Command("chattr", "-i", db).Run() })
		} else {
			os.Chmod(db, 0o444)
		}
		r := runIn(db, "org", "create", "--name", "X")
		if r.code != exitFail || !strings.Contains(r.stderr, db) || !strings.Contains(r.stderr, "read-only") {
			t.Fatalf("exit %d, stderr %q; want 1 naming %s as read-only", r.code, r.stderr, db)
		}
	})
	t.Run("O9/migrate_creates", func(t *testing.T) {
		db := filepath.Join(dir, "new.db")
		if r := runIn(db, "migrate"); r.code != 0 {
			t.Fatalf("migrate: %s", r.stderr)
		}
		if r := runIn(db, "org", "list"); r.code != 0 {
			t.Fatalf("org list after migrate: %s", r.stderr)
		}
	})
}

// TestDevBusyPortKeepsDemoSecret: serve --dev binds its port before it
// seeds the demo data, so a busy port fails the start without spending the
// one printing of the demo secret (PRODUCT O1).
func TestDevBusyPortKeepsDemoSecret(t *testing.T) {
	db := filepath.Join(t.TempDir(), "dev.db")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	serve := func(ctx context.Context, addr string, out, errOut *testfix.SyncBuffer) int {
		return Run(ctx, []string{"serve", "--dev", "--db", db, "--addr", addr, "--metrics-addr", "127.0.0.1:0", "--issuer", "http://127.0.0.1", "--log-level", "info"},
			strings.NewReader(""), out, errOut, func(string) string { return "" })
	}
	t.Run("O1/busy_port_fails_before_seeding", func(t *testing.T) {
		var out, errOut testfix.SyncBuffer
		if code := serve(t.Context(), busy.Addr().String(), &out, &errOut); code != exitFail {
			t.Fatalf("serve on a busy port: exit %d, want 1", code)
		}
		if strings.Contains(out.String(), "client_secret") {
			t.Fatalf("the demo secret was printed by a start that failed:\n%s", out.String())
		}
	})
	t.Run("O1/missing_tls_certificate_fails_before_seeding", func(t *testing.T) {
		var out, errOut testfix.SyncBuffer
		missing := filepath.Join(t.TempDir(), "missing.pem")
		code := Run(t.Context(), []string{"serve", "--dev", "--db", db, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
			"--tls-cert", missing, "--tls-key", missing, "--log-level", "info"},
			strings.NewReader(""), &out, &errOut, func(string) string { return "" })
		if code != exitFail || !strings.Contains(errOut.String(), missing) {
			t.Fatalf("serve with a missing certificate: exit %d, stderr %q; want 1 naming it", code, errOut.String())
		}
		if strings.Contains(out.String(), "client_secret") || strings.Contains(errOut.String(), `"msg":"listening"`) {
			t.Fatalf("a start that failed on its certificate seeded or listened:\n%s\n%s", out.String(), errOut.String())
		}
	})
	t.Run("O1/next_start_prints_demo_secret", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var out, errOut testfix.SyncBuffer
		done := make(chan int, 1)
		go func() { done <- serve(ctx, "127.0.0.1:0", &out, &errOut) }()
		deadline := time.After(30 * time.Second)
		for !strings.Contains(out.String(), "client_secret:") || !strings.Contains(errOut.String(), `"msg":"listening"`) {
			select {
			case code := <-done:
				cancel()
				t.Fatalf("serve ended with %d before printing the demo secret:\n%s", code, out.String())
			case <-deadline:
				cancel()
				t.Fatal("no demo secret printed")
			case <-time.After(20 * time.Millisecond):
			}
		}
		cancel()
		if code := <-done; code != exitOK {
			t.Fatalf("serve: exit %d", code)
		}
	})
}
