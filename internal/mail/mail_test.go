package mail_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/mail"
	"github.com/nomosauth/nomosauth/internal/mail/smtptest"
)

func message() mail.Message {
	return mail.Message{To: "ada@example.com", Subject: "123456 ist Ihr Anmeldecode – schön",
		Text: "Ihr Code:\n\n    123456\n\nGrüße", HTML: "<p>Ihr Code: <b>123456</b> – Grüße</p>"}
}

func TestSMTPDelivers(t *testing.T) {
	srv := smtptest.Start(t)
	s, err := mail.ParseSMTPURL(srv.URL, "NomosAuth <noreply@auth.example>")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), message()); err != nil {
		t.Fatal(err)
	}
	got := srv.Next(t)
	want := message()
	if got.From != "noreply@auth.example" || got.To != want.To || got.Subject != want.Subject ||
		strings.TrimSpace(got.Text) != want.Text || strings.TrimSpace(got.HTML) != want.HTML || got.TLS {
		t.Fatalf("received %+v", got)
	}
}

// loopbackTLS returns a server certificate for 127.0.0.1 and a client
// config trusting it.
func loopbackTLS(t *testing.T) (server, client *tls.Config) {
	ts := httptest.NewTLSServer(nil) // for its loopback certificate
	t.Cleanup(ts.Close)
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return &tls.Config{Certificates: ts.TLS.Certificates}, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// TestSMTPTransportSecurity: SMTP uses TLS unless the operator opts out
// (PRODUCT S7).
func TestSMTPTransportSecurity(t *testing.T) {
	t.Run("S7/smtp_upgrades_with_starttls", func(t *testing.T) {
		serverTLS, clientTLS := loopbackTLS(t)
		srv := smtptest.StartTLS(t, serverTLS)
		s, err := mail.ParseSMTPURL(srv.URL, "noreply@auth.example")
		if err != nil || s.Transport != mail.STARTTLS {
			t.Fatalf("%s: %+v %v", srv.URL, s, err)
		}
		s.TLSConfig = clientTLS
		if err := s.Send(context.Background(), message()); err != nil {
			t.Fatal(err)
		}
		if got := srv.Next(t); !got.TLS {
			t.Fatal("the session did not upgrade with STARTTLS")
		}
	})
	t.Run("S7/smtp_without_starttls_offer_fails", func(t *testing.T) {
		// A server (or a man in the middle) that does not offer STARTTLS
		// gets nothing: no downgrade to plain text.
		srv := smtptest.Start(t)
		s, _ := mail.ParseSMTPURL("smtp://"+srv.Addr, "noreply@auth.example")
		err := s.Send(context.Background(), message())
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("delivered in plain text to an smtp:// server without STARTTLS: %v", err)
		}
		select {
		case m := <-srv.Messages:
			t.Fatalf("the server received %+v", m)
		default:
		}
	})
	t.Run("S7/unverifiable_certificate_fails", func(t *testing.T) {
		serverTLS, _ := loopbackTLS(t)
		srv := smtptest.StartTLS(t, serverTLS)
		s, _ := mail.ParseSMTPURL(srv.URL, "noreply@auth.example")
		if err := s.Send(context.Background(), message()); err == nil {
			t.Fatal("an unverifiable certificate was accepted")
		}
	})
	t.Run("S7/smtps_speaks_tls_at_once", func(t *testing.T) {
		serverTLS, clientTLS := loopbackTLS(t)
		srv := smtptest.StartImplicitTLS(t, serverTLS)
		s, err := mail.ParseSMTPURL(srv.URL, "noreply@auth.example")
		if err != nil || s.Transport != mail.ImplicitTLS {
			t.Fatalf("%s: %+v %v", srv.URL, s, err)
		}
		s.TLSConfig = clientTLS
		if err := s.Send(context.Background(), message()); err != nil {
			t.Fatal(err)
		}
		if got := srv.Next(t); !got.TLS {
			t.Fatal("smtps:// delivered without TLS")
		}
	})
	t.Run("S7/smtp_insecure_is_the_explicit_opt_out", func(t *testing.T) {
		srv := smtptest.Start(t)
		s, err := mail.ParseSMTPURL("smtp+insecure://"+srv.Addr, "noreply@auth.example")
		if err != nil || s.Transport != mail.Plain {
			t.Fatalf("%+v %v", s, err)
		}
		if err := s.Send(context.Background(), message()); err != nil {
			t.Fatal(err)
		}
		if got := srv.Next(t); got.TLS {
			t.Fatal("want a plain session")
		}
	})
}

func TestSMTPFailures(t *testing.T) {
	t.Run("refused_recipient", func(t *testing.T) {
		srv := smtptest.Start(t)
		srv.SetFail(true)
		s, _ := mail.ParseSMTPURL(srv.URL, "noreply@auth.example")
		if err := s.Send(context.Background(), message()); err == nil {
			t.Fatal("a refused recipient must be an error")
		}
	})
	t.Run("nothing_listening", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		s, _ := mail.ParseSMTPURL("smtp://"+addr, "noreply@auth.example")
		if err := s.Send(context.Background(), message()); err == nil {
			t.Fatal("no server must be an error")
		}
	})
	t.Run("silent_server_times_out", func(t *testing.T) {
		// A server that accepts and never speaks must not hang the page.
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		s, _ := mail.ParseSMTPURL("smtp://"+ln.Addr().String(), "noreply@auth.example")
		s.Timeout = 200 * time.Millisecond
		if err := s.Send(context.Background(), message()); err == nil {
			t.Fatal("a silent server must be an error once the timeout passes")
		}
	})
	t.Run("header_injection", func(t *testing.T) {
		srv := smtptest.Start(t)
		s, _ := mail.ParseSMTPURL(srv.URL, "noreply@auth.example")
		m := message()
		m.To = "ada@example.com\r\nBcc: eve@example.com"
		if err := s.Send(context.Background(), m); err == nil {
			t.Fatal("a recipient with a line break was accepted")
		}
	})
}

func TestParseSMTPURL(t *testing.T) {
	s, err := mail.ParseSMTPURL("smtp://user:p%40ss@mail.example:587", "noreply@auth.example")
	if err != nil || s.Addr != "mail.example:587" || s.Username != "user" || s.Password != "p@ss" || s.Transport != mail.STARTTLS {
		t.Fatalf("%+v %v", s, err)
	}
	if s, err := mail.ParseSMTPURL("smtps://mail.example:465", "noreply@auth.example"); err != nil || s.Transport != mail.ImplicitTLS {
		t.Fatalf("smtps: %+v %v", s, err)
	}
	if s, err := mail.ParseSMTPURL("smtp+insecure://mailpit:1025", "noreply@auth.example"); err != nil || s.Transport != mail.Plain {
		t.Fatalf("smtp+insecure: %+v %v", s, err)
	}
	for _, bad := range []string{"http://mail.example:25", "smtp://mail.example", "smtp://:25", "mail.example:25", "smtp+tls://mail.example:25"} {
		if _, err := mail.ParseSMTPURL(bad, "noreply@auth.example"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := mail.ParseSMTPURL("smtp://mail.example:25", "not an address"); err == nil {
		t.Error("a bad from address was accepted")
	}
}

func TestConsole(t *testing.T) {
	var b strings.Builder
	c := &mail.Console{W: &b}
	if err := c.Send(context.Background(), message()); err != nil || !strings.Contains(b.String(), "123456") || !strings.Contains(b.String(), "ada@example.com") {
		t.Fatalf("console: %q %v", b.String(), err)
	}
	if err := (mail.Disabled{}).Send(context.Background(), message()); err == nil {
		t.Fatal("disabled mail must fail")
	}
}
