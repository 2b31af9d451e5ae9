package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the other process's connection in TestSQLiteLockedTurnsNotReady

	"github.com/nomosauth/nomosauth/internal/store/postgres/pgtest"
)

// cluster is a PostgreSQL cluster of the test's own, so the test may stop
// and start it without disturbing other tests.
type cluster struct {
	t    *testing.T
	bin  string   // PostgreSQL's bin directory
	as   []string // runs a command as the cluster's owner
	dir  string
	port int
}

// newCluster initdb's and starts a cluster listening on a Unix socket in a
// temporary directory, stopped and removed when the test ends.
func newCluster(t *testing.T) *cluster {
	pgtest.Base(t) // skips (or fails under CI) where PostgreSQL is not tested
	bin := os.Getenv("NOMOSAUTH_TEST_PG_BIN")
	if bin == "" {
		if p, err := exec.LookPath("initdb"); err == nil {
			bin = filepath.Dir(p)
		} else if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
			bin = filepath.Dir(m[len(m)-1])
		} else {
			t.Fatal("no initdb: set NOMOSAUTH_TEST_PG_BIN to PostgreSQL's bin directory")
		}
	}
	dir, err := os.MkdirTemp("", "nomosauth-pgfault")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, bin: bin, dir: dir}
	if os.Geteuid() == 0 { // PostgreSQL refuses to run as root
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root without a postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.as = []string{"runuser", "-u", "postgres", "--"}
	}
	// A free port number; the cluster listens on a socket named after it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	t.Cleanup(func() {
		c.pgctl("-m", "immediate", "stop")
		os.RemoveAll(dir)
	})
	c.run("initdb", "-D", dir+"/data", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale")
	c.start()
	return c
}

func (c *cluster) run(name string, args ...string) {
	c.t.Helper()
	cmd := append(append([]string{}, c.as...), append([]string{filepath.Join(c.bin, name)}, args...)...)
	if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
		c.t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func (c *cluster) pgctl(args ...string) error {
	cmd := append(append([]string{}, c.as...), filepath.Join(c.bin, "pg_ctl"), "-D", c.dir+"/data", "-w")
	out, err := exec.Command(cmd[0], append(cmd[1:], args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %v: %v\n%s", args, err, out)
	}
	return nil
}

func (c *cluster) start() {
	c.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses='' -k %s -p %d -c max_connections=100 -c fsync=on", c.dir, c.port)
	if err := c.pgctl("-l", c.dir+"/server.log", "-o", opts, "start"); err != nil {
		c.t.Fatal(err)
	}
}

// stop shuts the cluster down cleanly (fast mode: sessions are ended with
// 57P01 admin_shutdown, as in a restart).
func (c *cluster) stop() {
	c.t.Helper()
	if err := c.pgctl("-m", "fast", "stop"); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) dsn() string {
	return fmt.Sprintf("postgres://postgres@/postgres?host=%s&port=%d&sslmode=disable", url.QueryEscape(c.dir), c.port)
}

// outcome is one token request of the load.
type outcome struct {
	at         time.Time
	took       time.Duration
	status     int
	retryAfter string
}

// TestDatabaseRestart stops PostgreSQL under load and starts it again,
// without restarting nomosauth (PRODUCT S5): while it is down clients get
// 503 with Retry-After, quickly; within 10 s after it is back they get 200
// again; every refresh token answered with 200 before the outage still
// works; and the outage is logged once per interval, not per request.
func TestDatabaseRestart(t *testing.T) {
	t.Run("S5/postgres_restart_under_load", databaseRestart)
}

func databaseRestart(t *testing.T) {
	pg := newCluster(t)
	bin := binary(t)
	srv := start(t, bin, pg.dsn(), "--rate-limit", "0", "--address-rate-limit", "0")
	base, logs := srv.base, srv.logs
	id, secret := credentials(t, srv.stdout)
	grant := url.Values{"grant_type": {"client_credentials"}}

	// Refresh tokens answered with 200 before the outage.
	var before []string
	for range 20 {
		status, body, err := postForm(base, grant, id, secret)
		if err != nil || status != http.StatusOK {
			t.Fatalf("before the outage: %d %v %v", status, body, err)
		}
		if rt, _ := body["refresh_token"].(string); rt != "" {
			before = append(before, rt)
		}
	}

	// The load: 8 clients each rotating its own refresh token until told
	// to stop, a durable write per request (a client-credentials token
	// writes nothing since issue 17). A 503 changed nothing, so the client presents the same
	// token again.
	var mu sync.Mutex
	var seen []outcome
	quit := make(chan struct{})
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 15 * time.Second}
	for range 8 {
		status, body, err := postForm(base, grant, id, secret)
		if err != nil || status != http.StatusOK {
			t.Fatalf("a client's first token: %d %v %v", status, body, err)
		}
		current := body["refresh_token"].(string)
		wg.Go(func() {
			for {
				select {
				case <-quit:
					return
				default:
				}
				form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {current}}
				req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(id, secret)
				start := time.Now()
				resp, err := hc.Do(req)
				o := outcome{at: start, took: time.Since(start)}
				if err == nil {
					o.status, o.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
					var answer struct {
						RefreshToken string `json:"refresh_token"`
					}
					if o.status == http.StatusOK && json.NewDecoder(resp.Body).Decode(&answer) == nil {
						current = answer.RefreshToken
					}
					resp.Body.Close()
				}
				mu.Lock()
				seen = append(seen, o)
				mu.Unlock()
				if o.status != http.StatusOK {
					time.Sleep(20 * time.Millisecond) // as a client backing off a little
				}
			}
		})
	}
	ready := func() (int, string) {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return 0, ""
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}

	time.Sleep(time.Second) // load before the outage
	stopped := time.Now()
	pg.stop()
	time.Sleep(4 * time.Second) // the outage
	if status, retry := ready(); status != http.StatusServiceUnavailable || retry == "" {
		t.Errorf("/readyz while the database is down: %d, Retry-After %q; want 503 with Retry-After", status, retry)
	}
	// Client credentials write nothing, but once the change poll has
	// failed for its bound (3 polls, at least 2 s) the held client is no
	// longer trusted: it could have been disabled elsewhere, so its
	// authentication reads the database and gets 503 (issue 17, fail
	// closed).
	if status, body, err := postForm(base, grant, id, secret); err != nil || status != http.StatusServiceUnavailable {
		t.Errorf("client credentials 4 s into the outage: %d %v %v, want 503", status, body, err)
	}
	restarted := time.Now()
	pg.start()
	// Back within 10 s of the restart, without restarting nomosauth.
	var recovered time.Time
	for time.Since(restarted) < 15*time.Second && recovered.IsZero() {
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		for _, o := range seen {
			if o.status == http.StatusOK && o.at.After(restarted) {
				recovered = o.at.Add(o.took)
				break
			}
		}
		mu.Unlock()
	}
	time.Sleep(time.Second) // load after the outage
	close(quit)
	wg.Wait()

	if recovered.IsZero() || recovered.Sub(restarted) > 10*time.Second {
		t.Errorf("no 200 within 10 s after PostgreSQL was back (recovered %v after)", recovered.Sub(restarted))
	}
	if status, _ := ready(); status != http.StatusOK {
		t.Errorf("/readyz after the outage: %d, want 200", status)
	}
	var down, unavailable, ok, other int
	var slowest time.Duration
	for _, o := range seen {
		switch {
		case o.status == http.StatusOK:
			ok++
		case o.status == http.StatusServiceUnavailable && o.retryAfter != "":
			unavailable++
		default:
			other++
			t.Errorf("request at %v after the stop: status %d (Retry-After %q), want 200 or 503 with Retry-After",
				o.at.Sub(stopped).Round(time.Millisecond), o.status, o.retryAfter)
		}
		if o.at.After(stopped.Add(500*time.Millisecond)) && o.at.Before(restarted) {
			down++
			slowest = max(slowest, o.took)
		}
	}
	if down == 0 || unavailable == 0 {
		t.Errorf("%d requests while down, %d answered 503: want some", down, unavailable)
	}
	if slowest > 3*time.Second {
		t.Errorf("the slowest answer while down took %v, want about 2 s at most", slowest)
	}
	for _, rt := range before {
		status, body, err := postForm(base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, id, secret)
		if err != nil || status != http.StatusOK {
			t.Errorf("a refresh token from before the outage: %d %v %v", status, body, err)
		}
	}
	outageLines := strings.Count(logs.String(), `"msg":"database unavailable"`)
	t.Logf("%d requests: %d answered 200, %d answered 503 with Retry-After, %d other; %d while down (slowest %v); 200 again %v after the restart; %d refresh tokens from before checked; %d outage log lines",
		len(seen), ok, unavailable, other, down, slowest.Round(time.Millisecond), recovered.Sub(restarted).Round(time.Millisecond), len(before), outageLines)
	if outageLines > 3 {
		t.Errorf("%d log lines for one outage of a few seconds, want one per 10 s", outageLines)
	}
}

// TestSQLiteLockedTurnsNotReady: while another process holds the SQLite
// database's write lock, writes fail within about 2 s with 503 and
// Retry-After and /readyz turns 503; once the lock is released both
// recover by themselves (PRODUCT S5).
func TestSQLiteLockedTurnsNotReady(t *testing.T) {
	t.Run("S5/sqlite_locked_is_503_and_not_ready", sqliteLocked)
}

func sqliteLocked(t *testing.T) {
	bin := binary(t)
	db := filepath.Join(t.TempDir(), "locked.db")
	srv := start(t, bin, db, "--rate-limit", "0", "--address-rate-limit", "0")
	id, secret := credentials(t, srv.stdout)
	// A refresh needs a write; a client-credentials token writes nothing
	// (issue 17), so it is the first refresh of one that the lock stops.
	status, issued, err := postForm(srv.base, url.Values{"grant_type": {"client_credentials"}}, id, secret)
	if err != nil || status != http.StatusOK {
		t.Fatalf("client credentials: %d %v", status, err)
	}
	grant := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {issued["refresh_token"].(string)}}
	get := func(path string) (int, string, time.Duration) {
		start := time.Now()
		resp, err := http.Get(srv.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(start)
	}
	if status, _, _ := get("/readyz"); status != http.StatusOK {
		t.Fatalf("/readyz before: %d", status)
	}

	// Another process's transaction holds the write lock.
	other, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), `BEGIN EXCLUSIVE`); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	status, body, err := postForm(srv.base, grant, id, secret)
	if took := time.Since(began); err != nil || status != http.StatusServiceUnavailable || body["code"] != "SERVICE_UNAVAILABLE" || took > 3*time.Second {
		t.Errorf("token while locked: %d %v %v after %v; want 503 SERVICE_UNAVAILABLE within about 2 s", status, body, err, took)
	}
	if status, retry, took := get("/readyz"); status != http.StatusServiceUnavailable || retry == "" || took > 3*time.Second {
		t.Errorf("/readyz while locked: %d, Retry-After %q, after %v; want 503 with Retry-After within about 2 s", status, retry, took)
	}

	if _, err := conn.ExecContext(t.Context(), `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if status, body, err := postForm(srv.base, grant, id, secret); err != nil || status != http.StatusOK {
		t.Errorf("token once unlocked: %d %v %v", status, body, err)
	}
	if status, _, _ := get("/readyz"); status != http.StatusOK {
		t.Errorf("/readyz once unlocked: %d, want 200", status)
	}
}
