package load

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestClientWire checks what the load client puts on the wire and how it reads answers: the
// request a SCIM server sees, connection reuse, a server that closes connections, chunked
// answers and unexpected statuses.
func TestClientWire(t *testing.T) {
	var (
		mu    sync.Mutex
		seen  []*http.Request
		body  []string
		conns atomic.Int64
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen, body = append(seen, r), append(body, string(b))
		mu.Unlock()
		switch r.URL.Path {
		case "/scim/v2/Users":
			if r.Method == http.MethodPost {
				w.WriteHeader(http.StatusCreated)
				_, _ = io.WriteString(w, `{"id":"u1"}`)
				return
			}
			_, _ = io.WriteString(w, `{"totalResults":0,"Resources":[]}`)
		case "/scim/v2/close":
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, `{}`)
		case "/scim/v2/chunked":
			_, _ = io.WriteString(w, `{"totalResults":`)
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, `7}`)
		default:
			http.Error(w, `{"detail":"nope"}`, http.StatusNotFound)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	ctx := context.Background()
	c := newClient(srv.URL+"/scim/v2/", "tok", 2, 5*time.Second)
	var lr listResponse
	if err := c.do(ctx, http.MethodGet, filterPath(`a"b@example.com`), nil, http.StatusOK, &lr); err != nil {
		t.Fatal(err)
	}
	var out struct{ ID string }
	if err := c.do(ctx, http.MethodPost, "/Users", map[string]any{"userName": "a@example.com"}, http.StatusCreated, &out); err != nil || out.ID != "u1" {
		t.Fatalf("POST: %v, id %q", err, out.ID)
	}
	mu.Lock()
	get, post := seen[0], seen[1]
	if get.Method != http.MethodGet || get.URL.Query().Get("filter") != `userName eq "a\"b@example.com"` ||
		get.URL.Query().Get("count") != "100" || get.Header.Get("Authorization") != "Bearer tok" ||
		get.Header.Get("Accept") != "application/scim+json" || get.Host != strings.TrimPrefix(srv.URL, "http://") {
		t.Errorf("GET as the server saw it: %s %s %v host %s", get.Method, get.URL, get.Header, get.Host)
	}
	if post.Header.Get("Content-Type") != "application/scim+json" || post.ContentLength != int64(len(body[1])) ||
		body[1] != `{"userName":"a@example.com"}` {
		t.Errorf("POST as the server saw it: %v, body %q", post.Header, body[1])
	}
	mu.Unlock()
	if n := conns.Load(); n != 1 {
		t.Errorf("two sequential requests used %d connections, want 1 (kept alive)", n)
	}

	// A server that closes the connection after answering: the next request dials again.
	if err := c.do(ctx, http.MethodGet, "/close", nil, http.StatusOK, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.do(ctx, http.MethodGet, "/chunked", nil, http.StatusOK, &lr); err != nil || lr.TotalResults != 7 {
		t.Fatalf("chunked answer: %v, totalResults %d", err, lr.TotalResults)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("connections after a server close: %d, want 2", n)
	}

	// An idle connection the server has since closed is replaced, not reported.
	srv.CloseClientConnections()
	if err := c.do(ctx, http.MethodGet, "/Users", nil, http.StatusOK, nil); err != nil {
		t.Errorf("request after the server dropped idle connections: %v", err)
	}

	err := c.do(ctx, http.MethodGet, "/missing", nil, http.StatusOK, nil)
	var se *statusError
	if !errors.As(err, &se) || se.status != http.StatusNotFound || !strings.Contains(se.body, "nope") {
		t.Errorf("unexpected status: %v", err)
	}
}

// Ensure the client sends a POST once even when the server drops the connection without
// answering (it may have acted on it), and gives up on a request when its context ends.
func TestClientNoReplayAndCancel(t *testing.T) {
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/scim/v2/drop":
			posts.Add(1)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		case "/scim/v2/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		default:
			_, _ = io.WriteString(w, `{}`)
		}
	}))
	defer srv.Close()
	c := newClient(srv.URL+"/scim/v2", "tok", 2, 10*time.Second)
	ctx := context.Background()
	if err := c.do(ctx, http.MethodGet, "/Users", nil, http.StatusOK, nil); err != nil {
		t.Fatal(err)
	}
	// The POST goes on the kept connection; the server reads it and hangs up.
	if err := c.do(ctx, http.MethodPost, "/drop", map[string]string{"a": "b"}, http.StatusCreated, nil); err == nil {
		t.Error("a POST the server hung up on succeeded")
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("the server saw the POST %d times, want once", n)
	}

	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.do(cctx, http.MethodGet, "/slow", nil, http.StatusOK, nil)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Errorf("a request whose context ended: %v after %v, want the context's error at once", err, time.Since(start))
	}
}
