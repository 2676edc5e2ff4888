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
