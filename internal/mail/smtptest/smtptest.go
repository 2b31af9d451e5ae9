// Package smtptest runs an in-process SMTP server on a loopback port for
// tests, and hands over each message it receives, decoded.
package smtptest

import (
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is a received email, decoded.
type Message struct {
	From, To, Subject string
	Text, HTML        string
	TLS               bool // the session ran over TLS (STARTTLS or implicit)
}

// Server is a running test SMTP server.
type Server struct {
	Addr string // host:port
	// URL is the --smtp-url that reaches the server: smtp+insecure:// for
	// a plain server, smtp:// for one offering STARTTLS, smtps:// for
	// implicit TLS.
	URL      string
	Messages chan Message
	mu       sync.Mutex
	fail     bool          // refuse every recipient
	delay    time.Duration // wait before the greeting
}

// Start serves plain SMTP (no STARTTLS) on 127.0.0.1 until the test ends.
func Start(t testing.TB) *Server { t.Helper(); return start(t, nil, false) }

// StartTLS is Start offering STARTTLS with cfg.
func StartTLS(t testing.TB, cfg *tls.Config) *Server { t.Helper(); return start(t, cfg, false) }

// StartImplicitTLS is Start speaking TLS from the first byte with cfg
// (smtps://, RFC 8314 §3.3).
func StartImplicitTLS(t testing.TB, cfg *tls.Config) *Server { t.Helper(); return start(t, cfg, true) }

func start(t testing.TB, cfg *tls.Config, implicit bool) *Server {
	t.Helper()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: tcp.Addr().String(), Messages: make(chan Message, 64)}
	var ln net.Listener = slowListener{tcp, s}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	switch {
	case implicit:
		ln = tls.NewListener(ln, cfg)
		s.URL = "smtps://" + s.Addr
	case cfg != nil:
		srv.TLSConfig = cfg
		s.URL = "smtp://" + s.Addr
	default:
		s.URL = "smtp+insecure://" + s.Addr
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// SetFail makes every delivery fail (or succeed again).
func (s *Server) SetFail(fail bool) { s.mu.Lock(); s.fail = fail; s.mu.Unlock() }

// SetGreetingDelay makes the server wait d on each new connection before
// its first byte (the greeting, or the TLS handshake for smtps), like a
// distant or busy mail server.
func (s *Server) SetGreetingDelay(d time.Duration) { s.mu.Lock(); s.delay = d; s.mu.Unlock() }

// slowListener hands out connections whose first write waits for the
// server's greeting delay; each connection waits on its own goroutine.
type slowListener struct {
	net.Listener
	s *Server
}

func (l slowListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	d := l.s.delay
	l.s.mu.Unlock()
	return &slowConn{Conn: c, delay: d}, nil
}

type slowConn struct {
	net.Conn
	delay time.Duration
	once  sync.Once
}

func (c *slowConn) Write(b []byte) (int, error) {
	c.once.Do(func() { time.Sleep(c.delay) })
	return c.Conn.Write(b)
}

// Next waits for the next message.
func (s *Server) Next(t testing.TB) Message {
	t.Helper()
	select {
	case m := <-s.Messages:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no email arrived within 10 s")
	}
	return Message{}
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) { return &session{s: b.s, c: c}, nil }

type session struct {
	s        *Server
	c        *smtp.Conn
	from, to string
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.s.mu.Lock()
	defer s.s.mu.Unlock()
	if s.s.fail {
		return &smtp.SMTPError{Code: 550, Message: "mailbox unavailable"}
	}
	s.to = to
	return nil
}

func (s *session) Data(r io.Reader) error {
	m, err := decode(r)
	if err != nil {
		return err
	}
	m.From, m.To = s.from, s.to
	_, m.TLS = s.c.TLSConnectionState()
	s.s.Messages <- m
	return nil
}

// decode reads a multipart/alternative message into its text and HTML.
func decode(r io.Reader) (Message, error) {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return Message{}, err
	}
	var out Message
	out.Subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mediaType, "multipart/") {
		return Message{}, errors.New("smtptest: want a multipart message")
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return Message{}, err
		}
		raw, _ := io.ReadAll(part)
		body := strings.ReplaceAll(string(raw), "\r\n", "\n")
		switch ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); ct {
		case "text/plain":
			out.Text = body
		case "text/html":
			out.HTML = body
		}
	}
}
