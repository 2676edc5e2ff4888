package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type requestIDKey struct{}

// withRequestID gives every request an id: the client's X-Request-Id when it is reasonable,
// else a new one. It is echoed in the response and attached to every log line and audit
// event of the request.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 {
			id = rand.Text()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

func requestIDFrom(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}

// requestIDHandler adds the request id of the context to each record.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := requestIDFrom(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(a)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe logs each request and counts it in the metrics, under its route template, which is
// worked out once per request (matching a route costs as much as the rest of this middleware).
func observe(log *slog.Logger, m *metrics, route func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		aborted := true
		defer func() {
			// A response cut short (http.ErrAbortHandler, a streamed answer whose database
			// read failed) is counted and logged too, as an error, before the panic goes on.
			elapsed := time.Since(start)
			rt := route(r)
			if sw.status == 0 {
				sw.status = http.StatusOK
				if aborted { // a panic before any answer, which recoverPanics answers 500
					sw.status = http.StatusInternalServerError
				}
			}
			m.requests.WithLabelValues(rt, r.Method, strconv.Itoa(sw.status)).Inc()
			m.duration.WithLabelValues(rt, r.Method).Observe(elapsed.Seconds())
			level := slog.LevelInfo
			if sw.status >= 500 || aborted {
				level = slog.LevelError
			}
			if log.Enabled(r.Context(), level) {
				attrs := []slog.Attr{slog.String("method", r.Method), slog.String("route", rt),
					slog.Int("status", sw.status), slog.Int("bytes", sw.bytes),
					slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000)}
				if aborted {
					attrs = append(attrs, slog.Bool("aborted", true))
				}
				log.LogAttrs(r.Context(), level, "http request", attrs...)
			}
		}()
		next.ServeHTTP(sw, r)
		aborted = false
	})
}

// recoverPanics turns a handler panic into a 500 that names nothing internal, and logs it.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic serving request", "panic", v, "stack", string(debug.Stack()))
				// The error in the format of the API asked.
				if strings.HasPrefix(r.URL.Path, "/scim/") {
					w.Header().Set("Content-Type", "application/scim+json")
					w.WriteHeader(http.StatusInternalServerError)
					_, _ = w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"Internal error."}`))
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"error":{"status":500,"code":"internal","message":"internal error"}}`))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// metrics are the HTTP server's Prometheus metrics.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rollcall_http_requests_total", Help: "HTTP requests by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rollcall_http_request_duration_seconds", Help: "HTTP request latency by route template and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// trustedProxies are the addresses of the reverse proxies in front of Rollcall, whose
// X-Forwarded-For a request's client address is taken from.
type trustedProxies []netip.Prefix

// parseTrustedProxies reads a comma-separated list of IP addresses and CIDR prefixes.
func parseTrustedProxies(s string) (trustedProxies, error) {
	var out trustedProxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("-trusted-proxies: %q is neither an IP address nor a CIDR prefix", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			// An IPv4-mapped prefix is the IPv4 one: addresses are compared unmapped.
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (t trustedProxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddress sets r.RemoteAddr to the client's address when the request came through
// trusted proxies: the nearest address in X-Forwarded-For (read from the right) that is not
// one of them. Addresses further left were written by the client itself and prove nothing.
// Everything that names a request's source (audit events, the sign-in throttle) reads
// RemoteAddr, so behind a proxy they see clients, not the proxy.
func clientAddress(proxies trustedProxies, next http.Handler) http.Handler {
	if len(proxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !proxies.trusts(peer.Addr()) {
			next.ServeHTTP(w, r)
			return
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop := strings.TrimSpace(hops[i])
			if hop == "" {
				continue
			}
			a, err := parseHop(hop)
			if err != nil {
				break // a malformed hop: trust nothing beyond it
			}
			if !proxies.trusts(a) {
				r2 := *r
				r2.RemoteAddr = netip.AddrPortFrom(a.Unmap(), 0).String()
				r = &r2
				break
			}
		}
		next.ServeHTTP(w, r)
	})
}

// parseHop reads an X-Forwarded-For entry: an address, or an address with a port
// ("192.0.2.1:4711", "[2001:db8::1]:4711"), as some proxies write them.
func parseHop(hop string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(hop); err == nil {
		return a, nil
	}
	ap, err := netip.ParseAddrPort(hop)
	return ap.Addr(), err
}
