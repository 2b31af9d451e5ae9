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

// DefaultTimeout bounds one whole SMTP delivery, so a dead mail server
// costs the customer a clear retry message, never a hung page.
const DefaultTimeout = 10 * time.Second

// SMTP delivers through an SMTP server, upgrading with STARTTLS when the
// server offers it (or speaking TLS from the start for smtps://).
type SMTP struct {
	Addr     string // host:port
	Host     string
	Username string
	Password string
	From     string
	// ImplicitTLS is smtps:// (RFC 8314 §3.3).
	ImplicitTLS bool
	Timeout     time.Duration
	// TLSConfig overrides the TLS settings; tests use it to trust their CA.
	TLSConfig *tls.Config
}

// ParseSMTPURL reads smtp://[user:pass@]host:port or smtps://... and the
// sender address.
func ParseSMTPURL(raw, from string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || u.Port() == "" {
		return nil, errors.New("smtp url must look like smtp://[user:pass@]host:port")
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail from: %w", err)
	}
	s := &SMTP{Addr: u.Host, Host: u.Hostname(), From: addr.Address, ImplicitTLS: u.Scheme == "smtps", Timeout: DefaultTimeout}
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
		return fmt.Errorf("recipient: %w", err)
	}
	body, err := compose(s.From, to.Address, m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	tlsConfig := s.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
	}
	dialer := &net.Dialer{}
	var conn net.Conn
	if s.ImplicitTLS {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: tlsConfig}).DialContext(ctx, "tcp", s.Addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", s.Addr)
	}
	if err != nil {
		return fmt.Errorf("connect to mail server: %w", err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail server greeting: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok && !s.ImplicitTLS {
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
	return errors.New("no mail server is configured (--smtp-url)")
}
