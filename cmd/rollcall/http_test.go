package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Ensure a response cut short (http.ErrAbortHandler) and a panic are counted and logged as
// errors with the status the client got, and the panic goes on to the middleware above.
func TestObserveCountsAbortsAndPanics(t *testing.T) {
	for _, tt := range []struct {
		name    string
		handler http.HandlerFunc
		code    string
	}{
		{"cut short", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"members":[`))
			panic(http.ErrAbortHandler)
		}, "200"},
		{"panic", func(http.ResponseWriter, *http.Request) { panic("boom") }, "500"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			m := newMetrics(prometheus.NewRegistry())
			h := observe(slog.New(slog.NewJSONHandler(&logs, nil)), m, func(*http.Request) string { return "/x" }, tt.handler)
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("the panic did not go on")
					}
				}()
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
			}()
			var got dto.Metric
			if err := m.requests.WithLabelValues("/x", "GET", tt.code).Write(&got); err != nil || got.GetCounter().GetValue() != 1 {
				t.Errorf("requests{code=%s} = %v, %v", tt.code, got.GetCounter().GetValue(), err)
			}
			if l := logs.String(); !strings.Contains(l, `"level":"ERROR"`) || !strings.Contains(l, `"aborted":true`) {
				t.Errorf("log: %s", l)
			}
		})
	}
}

// Ensure the client address is taken from X-Forwarded-For only through trusted proxies, and
// only as far as they vouch for it: the nearest untrusted hop, never one the client wrote.
func TestClientAddress(t *testing.T) {
	proxies, err := parseTrustedProxies("10.0.0.0/8, 192.0.2.10 ,::1, ::ffff:172.16.0.0/108")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy", "203.0.113.5:1234", nil, "203.0.113.5:1234"},
		{"untrusted peer's header is ignored", "203.0.113.5:1234", []string{"198.51.100.1"}, "203.0.113.5:1234"},
		{"through one proxy", "10.1.2.3:5555", []string{"198.51.100.1"}, "198.51.100.1:0"},
		{"through two proxies", "10.1.2.3:5555", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1:0"},
		{"a spoofed hop on the left", "10.1.2.3:5555", []string{"6.6.6.6, 198.51.100.1"}, "198.51.100.1:0"},
		{"headers joined in order", "192.0.2.10:80", []string{"6.6.6.6", "198.51.100.1, 10.0.0.1"}, "198.51.100.1:0"},
		{"a malformed hop stops the walk", "10.1.2.3:5555", []string{"198.51.100.1, garbage"}, "10.1.2.3:5555"},
		{"only proxies", "10.1.2.3:5555", []string{"10.0.0.2"}, "10.1.2.3:5555"},
		{"IPv6 proxy", "[::1]:80", []string{"2001:db8::7"}, "[2001:db8::7]:0"},
		{"no header", "10.1.2.3:5555", nil, "10.1.2.3:5555"},
		{"hops with ports", "10.1.2.3:5555", []string{"198.51.100.1:4711, 10.0.0.9:80"}, "198.51.100.1:0"},
		{"an IPv6 hop with a port", "10.1.2.3:5555", []string{"[2001:db8::7]:4711"}, "[2001:db8::7]:0"},
		{"empty hops are skipped", "10.1.2.3:5555", []string{"198.51.100.1, ,"}, "198.51.100.1:0"},
		{"an IPv4-mapped trusted prefix", "172.16.5.5:80", []string{"198.51.100.2"}, "198.51.100.2:0"},
		{"an IPv4-mapped peer", "[::ffff:10.1.2.3]:80", []string{"198.51.100.3"}, "198.51.100.3:0"},
	} {
		var got string
		h := clientAddress(proxies, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
		req := httptest.NewRequest("GET", "/x", nil)
		req.RemoteAddr = c.peer
		for _, v := range c.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got != c.want {
			t.Errorf("%s: client %q, want %q", c.name, got, c.want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0"} {
		if _, err := parseTrustedProxies(bad); err == nil {
			t.Errorf("parseTrustedProxies(%q) accepted it", bad)
		}
	}
	if p, err := parseTrustedProxies(""); err != nil || len(p) != 0 {
		t.Errorf("empty: %v %v", p, err)
	}
}
