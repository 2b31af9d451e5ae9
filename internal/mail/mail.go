package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Message is one email: a plain-text and an HTML body of the same text.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Sender delivers a message or says why it could not.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// DefaultTimeout bounds one whole SMTP delivery attempt, so a dead mail
// server holds a queue worker (never a page) for at most this long.
const DefaultTimeout = 10 * time.Second

// Transport is how an SMTP session is protected (PRODUCT S7).
type Transport int

const (
	// STARTTLS (smtp://) upgrades the session before anything is sent,
	// and fails the delivery when the server does not offer it, so an
	// attacker who strips the offer gets nothing (RFC 3207 §6).
	STARTTLS Transport = iota
	// ImplicitTLS (smtps://) speaks TLS from the first byte (RFC 8314 §3.3).
	ImplicitTLS
	// Plain (smtp+insecure://) never uses TLS: the operator's explicit
	// opt-out, for a mail catcher on the same machine or network.
	Plain
)

// transportFor maps an --smtp-url scheme to its transport.
func transportFor(scheme string) (Transport, bool) {
	switch scheme {
	case "smtp":
		return STARTTLS, true
	case "smtps":
		return ImplicitTLS, true
	case "smtp+insecure":
		return Plain, true
	}
	return 0, false
}

// SMTP delivers through an SMTP server over TLS (STARTTLS or implicit),
// or in plain text only when the operator opted out (PRODUCT S7).
type SMTP struct {
	Addr      string // host:port
	Host      string
	Username  string
	Password  string
	From      string
	Transport Transport
	Timeout   time.Duration
	// TLSConfig overrides the TLS settings; tests use it to trust their CA.
	TLSConfig *tls.Config
}

// ParseSMTPURL reads smtp://[user:pass@]host:port (STARTTLS required),
// smtps://... (implicit TLS) or smtp+insecure://... (plain text) and the
// sender address.
func ParseSMTPURL(raw, from string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("smtp url must look like smtp://[user:pass@]host:port (or smtps://, smtp+insecure://)")
	}
	transport, ok := transportFor(u.Scheme)
	if !ok || u.Hostname() == "" || u.Port() == "" {
		return nil, errors.New("smtp url must look like smtp://[user:pass@]host:port (or smtps://, smtp+insecure://)")
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail from: %w", err)
	}
	s := &SMTP{Addr: u.Host, Host: u.Hostname(), From: addr.Address, Transport: transport, Timeout: DefaultTimeout}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	return s, nil
}

// Send delivers m within s.Timeout.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return permanent(fmt.Errorf("recipient: %w", err))
	}
	body, err := compose(s.From, to.Address, m)
	if err != nil {
		return permanent(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	tlsConfig := s.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
	}
	dialer := &net.Dialer{}
	var conn net.Conn
	if s.Transport == ImplicitTLS {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: tlsConfig}).DialContext(ctx, "tcp", s.Addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", s.Addr)
	}
	if err != nil {
		return fmt.Errorf("connect to mail server: %w", err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	// Closing the connection when ctx ends unblocks a server that stalls.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail server greeting: %w", err)
	}
	defer c.Close()
	if s.Transport == STARTTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			// PRODUCT S7: no silent downgrade; retrying cannot help.
			return permanent(errors.New("the mail server does not offer STARTTLS: use smtps:// for implicit TLS, or smtp+insecure:// to send in plain text"))
		}
		if err := c.StartTLS(tlsConfig); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if s.Username != "" {
		// PlainAuth refuses to send the password unencrypted off localhost.
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.Host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(s.From); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("smtp rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	return c.Quit()
}

// permanentError is a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return permanentError{err} }

// isPermanent reports whether retrying err is pointless: a bad recipient or
// message, a server without STARTTLS, or a 5xx reply (RFC 5321 §4.2.1).
// Anything else (4xx replies, timeouts, refused connections) may pass.
func isPermanent(err error) bool {
	var p permanentError
	if errors.As(err, &p) {
		return true
	}
	var reply *textproto.Error
	return errors.As(err, &reply) && reply.Code >= 500
}

// compose builds a multipart/alternative message. Every header value is
// either an address net/mail parsed or RFC 2047-encoded, so nothing a
// customer typed can add a header.
func compose(from, to string, m Message) ([]byte, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	id := make([]byte, 12)
	rand.Read(id)
	domain := from[strings.LastIndex(from, "@")+1:]
	hdr := []string{
		"From: " + (&mail.Address{Address: from}).String(),
		"To: " + (&mail.Address{Address: to}).String(),
		"Subject: " + mime.QEncoding.Encode("utf-8", m.Subject),
		"Date: " + time.Now().UTC().Format(time.RFC1123Z),
		"Message-ID: <" + hex.EncodeToString(id) + "@" + domain + ">",
		"MIME-Version: 1.0",
		"Auto-Submitted: auto-generated",
		`Content-Type: multipart/alternative; boundary="` + mw.Boundary() + `"`,
	}
	for _, h := range hdr {
		if strings.ContainsAny(h, "\r\n") {
			return nil, errors.New("mail header holds a line break")
		}
	}
	head := strings.Join(hdr, "\r\n") + "\r\n\r\n"
	for _, part := range []struct{ ctype, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		io.WriteString(qp, part.body)
		qp.Close()
	}
	mw.Close()
	return append([]byte(head), buf.Bytes()...), nil
}

// Console prints messages instead of sending them: development only
// (PRODUCT O1), the one place a one-time code may appear in output.
type Console struct {
	mu sync.Mutex
	W  io.Writer
}

// Send prints m's recipient, subject and text.
func (c *Console) Send(_ context.Context, m Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := fmt.Fprintf(c.W, "\n--- email to %s (development mode: no SMTP configured) ---\nSubject: %s\n\n%s\n---\n", m.To, m.Subject, m.Text)
	return err
}

// Disabled refuses every message: a production server without SMTP can
// still serve client credentials, but customers cannot sign in.
type Disabled struct{}

// Send always fails.
func (Disabled) Send(context.Context, Message) error {
	return permanent(errors.New("no mail server is configured (--smtp-url)"))
}
