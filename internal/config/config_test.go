package config

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := Bind(fs, &c, func(k string) string { return env[k] }, append(Common(), Serve()...)); err != nil {
		return c, err
	}
	err := fs.Parse(args)
	c.Finish()
	return c, err
}

func TestPrecedenceFlagEnvDefault(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil || c.Addr != "127.0.0.1:8080" || c.RefreshIdleTTL != 90*24*time.Hour || c.RefreshRetryWindow != 10*time.Second || c.SigningAlg != "" || c.KeyPublishDelay != 300*time.Second {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, _ = load(t, nil, map[string]string{"NOMOSAUTH_ADDR": "127.0.0.1:9", "NOMOSAUTH_DEV": "true"})
	if c.Addr != "127.0.0.1:9" || !c.Dev || c.Issuer != "http://localhost:9" || c.Audience != c.Issuer {
		t.Fatalf("env: %+v", c)
	}
	c, _ = load(t, []string{"--addr", "127.0.0.1:7", "--dev=false"}, map[string]string{"NOMOSAUTH_ADDR": "127.0.0.1:9", "NOMOSAUTH_DEV": "true"})
	if c.Addr != "127.0.0.1:7" || c.Dev {
		t.Fatalf("flag must beat env: %+v", c)
	}
	if _, err := load(t, nil, map[string]string{"NOMOSAUTH_REFRESH_IDLE_TTL": "soon"}); err == nil {
		t.Fatal("bad env value accepted")
	}
	c, _ = load(t, []string{"--trusted-proxy", "10.0.0.1, 192.168.0.0/16"}, nil)
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[0].String() != "10.0.0.1/32" {
		t.Fatalf("proxies %v", c.TrustedProxies)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // substring of the error; "" for valid
	}{
		{"dev_defaults_ok", []string{"--dev"}, ""},
		{"R8/plain_http_refused_without_dev", []string{"--issuer", "https://auth.example"}, "plain HTTP is refused"},
		{"R8/trusted_proxy_ok", []string{"--issuer", "https://auth.example", "--trusted-proxy", "10.0.0.1", "--addr", ":8080"}, ""},
		{"R8/dev_off_loopback_refused", []string{"--dev", "--addr", "0.0.0.0:8080"}, "loopback only"},
		{"O3/issuer_required", []string{"--trusted-proxy", "10.0.0.1"}, "--issuer is required"},
		{"O3/dev_with_a_bad_addr_names_the_addr", []string{"--dev", "--addr", "bogus"}, `--addr "bogus" is not host:port`},
		{"O3/issuer_https", []string{"--issuer", "http://auth.example", "--trusted-proxy", "10.0.0.1"}, "must use https"},
		{"O3/issuer_no_query", []string{"--dev", "--issuer", "http://localhost:8080/?x=1"}, "without query"},
		{"tls_pair", []string{"--issuer", "https://a.example", "--tls-cert", "c.pem"}, "go together"},
		{"alg", []string{"--dev", "--signing-alg", "HS256"}, "--signing-alg"},
		{"T8/key_publish_delay_not_negative", []string{"--dev", "--key-publish-delay", "-1s"}, "--key-publish-delay"},
		{"retry_window", []string{"--dev", "--refresh-retry-window", "100d"}, "--refresh-retry-window"},
		{"smtp_url", []string{"--dev", "--smtp-url", "http://mail"}, "--smtp-url"},
		{"smtp_needs_from", []string{"--dev", "--smtp-url", "smtp://mail.example:587"}, "--mail-from"},
		{"log_level", []string{"--dev", "--log-level", "loud"}, "--log-level"},
		{"O7/otel_endpoint_http_ok", []string{"--dev", "--otel-endpoint", "http://collector:4318"}, ""},
		{"O7/otel_endpoint_https_path_ok", []string{"--dev", "--otel-endpoint", "https://otel.example/tenant/"}, ""},
		{"O7/otel_endpoint_no_scheme", []string{"--dev", "--otel-endpoint", "collector:4318"}, "--otel-endpoint"},
		{"O7/otel_endpoint_grpc_scheme", []string{"--dev", "--otel-endpoint", "grpc://collector:4317"}, "--otel-endpoint"},
		{"O7/otel_endpoint_no_host", []string{"--dev", "--otel-endpoint", "http:///v1"}, "--otel-endpoint"},
		{"O7/otel_endpoint_query", []string{"--dev", "--otel-endpoint", "http://collector:4318?x=1"}, "--otel-endpoint"},
		{"O7/otel_endpoint_userinfo", []string{"--dev", "--otel-endpoint", "http://u:p@collector:4318"}, "--otel-endpoint"},
		{"O7/otel_endpoint_unparsable", []string{"--dev", "--otel-endpoint", "http://[::1"}, "--otel-endpoint"},
		{"O7/otel_endpoint_traces_path", []string{"--dev", "--otel-endpoint", "http://collector:4318/v1/traces"}, "without /v1/traces"},
		{"O7/otel_endpoint_port_out_of_range", []string{"--dev", "--otel-endpoint", "http://collector:99999"}, "no port"},
		{"O7/metrics_off", []string{"--dev", "--metrics-addr="}, ""},
		{"O7/both_on_free_ports", []string{"--dev", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"}, ""},
		{"O7/metrics_addr_host_port", []string{"--dev", "--metrics-addr", "9464"}, "--metrics-addr"},
		{"O7/metrics_never_on_the_public_listener", []string{"--dev", "--addr", "127.0.0.1:9000", "--metrics-addr", "127.0.0.1:9000"}, "--metrics-addr must differ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if tt.want == "" && err != nil {
				t.Fatalf("unexpected: %v", err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestOTelEndpointNeverEchoesAPassword: a rejected endpoint with userinfo
// is not repeated, since it may carry a password (PRODUCT O4).
func TestOTelEndpointNeverEchoesAPassword(t *testing.T) {
	c, err := load(t, []string{"--dev", "--otel-endpoint", "https://user:s3cret@collector:4318"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "without user or password") {
		t.Fatalf("O7/otel_endpoint_userinfo_not_echoed: %v", err)
	}
}

func TestValidateReportsEverythingAtOnce(t *testing.T) {
	c, _ := load(t, []string{"--signing-alg", "x", "--log-level", "y"}, nil)
	err := c.Validate()
	for _, want := range []string{"--issuer", "plain HTTP", "--signing-alg", "--log-level"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("missing %q in %v", want, err)
		}
	}
}

// TestREADMEListsEverySetting keeps the README's configuration table true.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(Common(), Serve()...) {
		row := "| `--" + s.Flag + "` | `" + s.Env + "` |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README lacks the row %q", row)
		}
	}
}
