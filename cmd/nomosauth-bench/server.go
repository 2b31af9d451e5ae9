package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// process is a server this program started: nomosauth or the bare handler.
type process struct {
	cmd    *exec.Cmd
	base   string
	stdout *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freeLoopbackAddr picks a free port on 127.0.0.1.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startProcess runs bin with args and waits until base+/healthz answers.
func startProcess(ctx context.Context, bin string, base string, args ...string) (*process, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, base: base, stdout: out}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s did not start: %s", filepath.Base(bin), out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *process) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// peakRSS is the process's high-water resident set (VmHWM), in bytes.
func (p *process) peakRSS() (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// cpuTime is the CPU time the process has used so far (user and system,
// from /proc/PID/stat in clock ticks of 10 ms).
func (p *process) cpuTime() (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name in parentheses may hold spaces: fields count from
	// after its closing parenthesis, where the state is field 3.
	_, rest, ok := strings.Cut(string(raw), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(utime+stime) * tick, nil
}

// buildServer builds ./cmd/nomosauth into dir, for runs from the repository.
func buildServer(dir string) (string, error) {
	bin := filepath.Join(dir, "nomosauth")
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/nomosauth").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/nomosauth (run from the repository, or give -nomosauth): %v\n%s", err, out)
	}
	return bin, nil
}

// admin runs an admin command of the server binary and decodes its JSON.
func admin(bin, db string, args ...string) (map[string]any, error) {
	out, err := exec.Command(bin, append(args, "--db", db, "--json")...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("nomosauth %v: %v: %s", args, err, out)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("nomosauth %v: %s", args, out)
	}
	return m, nil
}

// serveBare is the machine's HTTP ceiling: a net/http handler answering
// every request with the same size JSON body, as fast as it can.
func serveBare(ctx context.Context, addr string, size int) error {
	body := bareBody(size)
	srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); srv.Close() }()
	err := srv.ListenAndServe()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// bareBody is a JSON object of exactly size bytes.
func bareBody(size int) []byte {
	const head, tail = `{"pad":"`, `"}`
	n := max(size-len(head)-len(tail), 0)
	return []byte(head + strings.Repeat("x", n) + tail)
}

var consoleCode = regexp.MustCompile(`\b(\d{6})\b`)

// lastConsoleCode finds the newest one-time code the dev server printed.
func lastConsoleCode(out string) string {
	all := consoleCode.FindAllString(out[max(0, strings.LastIndex(out, "--- email to")):], -1)
	if len(all) == 0 {
		return ""
	}
	return all[0]
}
