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
	TLS               bool // the session had upgraded with STARTTLS
}

// Server is a running test SMTP server.
type Server struct {
	Addr     string // host:port
	URL      string // smtp://host:port, for --smtp-url
	Messages chan Message
	// Fail, when set, makes the server refuse every recipient.
	mu   sync.Mutex
	fail bool
}

// Start serves SMTP on 127.0.0.1 until the test ends.
func Start(t testing.TB) *Server { t.Helper(); return StartTLS(t, nil) }

// StartTLS is Start offering STARTTLS with cfg.
func StartTLS(t testing.TB, cfg *tls.Config) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), URL: "smtp://" + ln.Addr().String(), Messages: make(chan Message, 64)}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.TLSConfig = cfg
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// SetFail makes every delivery fail (or succeed again).
func (s *Server) SetFail(fail bool) { s.mu.Lock(); s.fail = fail; s.mu.Unlock() }

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
