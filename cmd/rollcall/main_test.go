package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rollcall/rollcall/conformance"
	"github.com/rollcall/rollcall/storage/postgres/pgtest"
)

// server is a rollcall serve running in-process, as a deployment would run it.
type server struct {
	baseURL string // http://127.0.0.1:PORT
	token   string // the first connection's SCIM token ("" when the tenant already existed)
	adminPW string // the bootstrap administrator's generated password ("" when not created)
	hint    string // the connection create command printed at first start
	db      string
	stderr  *syncBuffer
	cancel  context.CancelFunc
	done    chan error
}

func (s *server) scimURL() string { return s.baseURL + "/scim/v2" }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var (
	tokenLine   = regexp.MustCompile(`SCIM bearer token \(shown once, stored hashed\): (\S+)`)
	adminLine   = regexp.MustCompile(`Administrator password \(shown once, stored hashed\): (\S+)`)
	servingLine = regexp.MustCompile(`Rollcall is serving (\S+) `)
	hintLine    = regexp.MustCompile(`^More connections: (.+)$`)
)

func noEnv(string) string { return "" }

// startServer runs `rollcall serve` on database in this process and waits until /healthz
// answers. The server stops (gracefully, as on SIGTERM) when the test ends. Flags in extra
// come after the defaults, so they override them.
func startServer(t *testing.T, database string, extra ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &server{db: database, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		args := append([]string{"rollcall", "serve", "-addr", "127.0.0.1:0", "-database", database, "-log-level", "warn"}, extra...)
		s.done <- run(ctx, args, noEnv, nil, pw, s.stderr)
		pw.Close()
	}()
	s.await(t, pr)
	t.Cleanup(func() { s.stop(t) })
	return s
}

// startProcess runs `rollcall serve` as a separate process (this test binary, re-executed:
// see TestMain), so that two servers share nothing but the database.
func startProcess(t *testing.T, database string) *server {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ROLLCALL_TEST_RUN="+strings.Join([]string{"serve", "-addr", "127.0.0.1:0",
		"-database", database, "-log-level", "warn"}, "\x1f"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{db: database, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	s.cancel = func() { _ = cmd.Process.Signal(syscall.SIGTERM) }
	s.await(t, stdout)
	t.Cleanup(func() { s.stop(t) })
	return s
}

// await reads what serve prints until it serves, then waits for /healthz.
func (s *server) await(t *testing.T, out io.Reader) {
	t.Helper()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(30 * time.Second)
	for s.baseURL == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited before serving: %v\n%s", <-s.done, s.stderr)
			}
			if m := tokenLine.FindStringSubmatch(l); m != nil {
				s.token = m[1]
			}
			if m := adminLine.FindStringSubmatch(l); m != nil {
				s.adminPW = m[1]
			}
			if m := hintLine.FindStringSubmatch(l); m != nil {
				s.hint = m[1]
			}
			if m := servingLine.FindStringSubmatch(l); m != nil {
				s.baseURL = m[1]
			}
		case <-deadline:
			t.Fatalf("serve did not start in 30s:\n%s", s.stderr)
		}
	}
	go func() {
		for range lines {
		}
	}()
	for range 100 {
		resp, err := http.Get(s.baseURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("/healthz never answered 200")
}

// TestMain lets the test binary act as rollcall itself when ROLLCALL_TEST_RUN holds the
// arguments (separated by \x1f), for tests that need separate processes.
func TestMain(m *testing.M) {
	if args := os.Getenv("ROLLCALL_TEST_RUN"); args != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		err := run(ctx, append([]string{"rollcall"}, strings.Split(args, "\x1f")...), os.Getenv, os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(exitCode(err, os.Stderr))
	}
	os.Exit(m.Run())
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve returned %v after shutdown\n%s", err, s.stderr)
		}
	case <-time.After(40 * time.Second):
		t.Errorf("serve did not shut down")
	}
}

// newConnection runs `rollcall connection create` and returns the printed token.
func newConnection(t *testing.T, database, name, kind string) issuedToken {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"rollcall", "connection", "create", "-database", database,
		"-tenant", "default", "-name", name, "-kind", kind}, noEnv, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("connection create: %v\n%s", err, errOut.String())
	}
	var it issuedToken
	if err := json.Unmarshal(out.Bytes(), &it); err != nil {
		t.Fatalf("connection create printed %q, not JSON: %v", out.String(), err)
	}
	if it.Token == "" || !strings.HasSuffix(it.SCIMBaseURL, "/scim/v2") {
		t.Fatalf("connection create printed %+v", it)
	}
	return it
}

// sqliteDB is a new, empty SQLite database, as serve leaves it at first start (and pgtest.URL
// an empty PostgreSQL one): the operator commands refuse a file that does not exist.
func sqliteDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "rollcall.db")
	st, err := openStore(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	return db
}

// backends runs a test on SQLite and on PostgreSQL (when POSTGRES_TEST_URL is set; failing
// when CI is set and it is not).
func backends(t *testing.T, fn func(t *testing.T, database string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteDB(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, pgtest.URL(t)) })
}

// Ensure the conformance suite passes against the real server on both backends, with a
// second connection's token for the ownership cases.
func TestConformance(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		s := startServer(t, database)
		other := newConnection(t, database, "entra", "entra")
		conformance.Run(t, conformance.Target{BaseURL: s.scimURL(), Token: s.token, OtherToken: other.Token})
	})
}

// scimDo sends a SCIM request and decodes the JSON answer, if any.
func scimDo(t *testing.T, method, url, token string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: %d with a body that is not JSON: %q", method, url, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, m, resp.Header
}

func userBody(name string) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": name, "active": true}
}

// Ensure a restart keeps the data and does not print a new token.
func TestServe_Restart(t *testing.T) {
	db := sqliteDB(t)
	s := startServer(t, db)
	if s.token == "" {
		t.Fatal("first start printed no token")
	}
	if code, _, _ := scimDo(t, "POST", s.scimURL()+"/Users", s.token, userBody("kept")); code != http.StatusCreated {
		t.Fatalf("create = %d", code)
	}
	s.stop(t)
	s2 := startServer(t, db)
	if s2.token != "" {
		t.Errorf("second start printed a token again")
	}
	code, body, _ := scimDo(t, "GET", s2.scimURL()+`/Users?filter=userName%20eq%20%22kept%22`, s.token, nil)
	if code != http.StatusOK || body["totalResults"] != float64(1) {
		t.Errorf("after restart: %d %v", code, body)
	}
}

// Ensure health, readiness, metrics and request ids work as operators expect.
func TestServe_Operability(t *testing.T) {
	s := startServer(t, sqliteDB(t))
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
		resp, err := http.Get(s.baseURL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
			t.Errorf("GET %s = %d %q", path, resp.StatusCode, b)
		}
	}
	req, _ := http.NewRequest("GET", s.scimURL()+"/Users/nope", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("X-Request-Id", "trace-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got != "trace-123" {
		t.Errorf("X-Request-Id echoed as %q", got)
	}
	resp, err = http.Get(s.baseURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`rollcall_http_requests_total{code="404",method="GET",route="/scim/v2/Users/{id}"} 1`,
		`rollcall_http_request_duration_seconds_bucket{method="GET",route="/scim/v2/Users/{id}"`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// Ensure every log record of a request names its request id once: a JSON object with a key
// twice is one that strict log consumers reject or read either way.
func TestServe_LogRecordsNameTheRequestOnce(t *testing.T) {
	s := startServer(t, sqliteDB(t), "-log-level", "debug")
	for _, path := range []string{"/api/v1/me", "/scim/v2/Users/nope"} {
		req, _ := http.NewRequest("GET", s.baseURL+path, nil)
		req.SetBasicAuth("nobody@example.com", "wrong password")
		req.Header.Set("X-Request-Id", "trace-"+strings.ReplaceAll(path, "/", "-"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("GET %s = %d, want 401", path, resp.StatusCode)
		}
	}
	s.stop(t)
	seen := map[string]int{}
	for _, line := range strings.Split(s.stderr.String(), "\n") {
		if !strings.Contains(line, `"trace-`) {
			continue
		}
		if n := strings.Count(line, `"request_id":`); n != 1 {
			t.Errorf("a log record names its request id %d times: %s", n, line)
		}
		var rec struct {
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("a log record is not JSON: %v: %s", err, line)
		}
		seen[rec.Msg]++
	}
	// The refused sign-in is logged by the admin API itself, the request by the server.
	for _, msg := range []string{"admin request refused", "http request"} {
		if seen[msg] == 0 {
			t.Errorf("no %q record with the request's id; records: %v", msg, seen)
		}
	}
}

// Ensure a path that is not a route gets its API's own 404, never a redirect (gorilla/mux
// answers an unclean path with a 301 to the clean one, which a client follows with a GET,
// losing a POST's body) and never net/http's plain-text one under /scim or /api.
func TestServe_UnroutedPaths(t *testing.T) {
	s := startServer(t, sqliteDB(t))
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct{ method, path, contentType string }{
		{"POST", "/scim/v2//Users", "application/scim+json"},
		{"GET", "/scim/v2/Users/../Groups", "application/scim+json"},
		{"GET", "/scim", "application/scim+json"},
		{"GET", "/scim/v1/Users", "application/scim+json"},
		{"GET", "/api", "application/json"},
		{"GET", "/api/v1//me", "application/json"},
	} {
		req, _ := http.NewRequest(c.method, s.baseURL+c.path, strings.NewReader(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x"}`))
		req.Header.Set("Authorization", "Bearer "+s.token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.contentType) {
			t.Errorf("%s %s = %d %s %q, want 404 %s", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), b, c.contentType)
		}
	}
}

// Ensure token rotation keeps the old token valid until it is revoked.
func TestToken_RotateAndRevoke(t *testing.T) {
	db := sqliteDB(t)
	s := startServer(t, db)
	var out, errOut bytes.Buffer
	tokenCmd := func(args ...string) []byte {
		out.Reset()
		errOut.Reset()
		if err := run(context.Background(), append([]string{"rollcall", "token"}, args...), noEnv, nil, &out, &errOut); err != nil {
			t.Fatalf("token %v: %v\n%s", args, err, errOut.String())
		}
		return out.Bytes()
	}
	var rotated issuedToken
	if err := json.Unmarshal(tokenCmd("rotate", "-database", db, "-connection", "default"), &rotated); err != nil {
		t.Fatal(err)
	}
	rotatedID := issuedTokenID(t, errOut.String())
	for _, tok := range []string{s.token, rotated.Token} {
		if code, _, _ := scimDo(t, "GET", s.scimURL()+"/Users", tok, nil); code != http.StatusOK {
			t.Errorf("during the overlap a token answered %d", code)
		}
	}
	var list []struct{ ID string }
	if err := json.Unmarshal(tokenCmd("list", "-database", db, "-connection", "default"), &list); err != nil || len(list) != 2 {
		t.Fatalf("token list: %v %v", list, err)
	}
	old := list[0].ID
	if old == rotatedID {
		old = list[1].ID
	}
	tokenCmd("revoke", "-database", db, "-connection", "default", "-id", old)
	// A server trusts a token it has checked for up to 2 seconds (scim.Config.TokenCacheTTL).
	deadline := time.Now().Add(3 * time.Second)
	for {
		code, body, _ := scimDo(t, "GET", s.scimURL()+"/Users", s.token, nil)
		if code == http.StatusUnauthorized && body["status"] == "401" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revoked token still works after 3 s: %d %v", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, _, _ := scimDo(t, "GET", s.scimURL()+"/Users", rotated.Token, nil); code != http.StatusOK {
		t.Errorf("new token after revoking the old: %d", code)
	}
}

// Ensure 64 concurrent creates of one userName, spread over two rollcall processes on one
// PostgreSQL database, give exactly one 201 and 409 uniqueness for all the others.
func TestConcurrentCreates_TwoProcesses(t *testing.T) {
	db := pgtest.URL(t)
	a := startProcess(t, db)
	b := startProcess(t, db)
	servers := []*server{a, b}
	var wg sync.WaitGroup
	codes := make(chan int, 64)
	types := make(chan string, 64)
	for i := range 64 {
		wg.Go(func() {
			code, body, _ := scimDo(t, "POST", servers[i%2].scimURL()+"/Users", a.token, userBody("same.user@example.com"))
			codes <- code
			if code == http.StatusConflict {
				types <- fmt.Sprint(body["scimType"])
			}
		})
	}
	wg.Wait()
	close(codes)
	close(types)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[http.StatusCreated] != 1 || count[http.StatusConflict] != 63 {
		t.Errorf("status counts = %v, want one 201 and 63 409s", count)
	}
	for ty := range types {
		if ty != "uniqueness" {
			t.Errorf("409 with scimType %q", ty)
		}
	}
}

// Ensure concurrent PATCHes adding different members to one group lose no member.
func TestConcurrentGroupPatches(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		s := startServer(t, database)
		const n = 32
		ids := make([]string, n)
		for i := range n {
			code, body, _ := scimDo(t, "POST", s.scimURL()+"/Users", s.token, userBody(fmt.Sprintf("member%02d", i)))
			if code != http.StatusCreated {
				t.Fatalf("create user: %d %v", code, body)
			}
			ids[i] = body["id"].(string)
		}
		code, g, _ := scimDo(t, "POST", s.scimURL()+"/Groups", s.token, map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Concurrent"})
		if code != http.StatusCreated {
			t.Fatalf("create group: %d %v", code, g)
		}
		gid := g["id"].(string)
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Go(func() {
				code, body, _ := scimDo(t, "PATCH", s.scimURL()+"/Groups/"+gid, s.token, map[string]any{
					"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
					"Operations": []map[string]any{{"op": "add", "path": "members", "value": []map[string]any{{"value": id}}}},
				})
				if code != http.StatusNoContent {
					t.Errorf("PATCH add member: %d %v", code, body)
				}
			})
		}
		wg.Wait()
		code, got, _ := scimDo(t, "GET", s.scimURL()+"/Groups/"+gid, s.token, nil)
		members, _ := got["members"].([]any)
		if code != http.StatusOK || len(members) != n {
			t.Errorf("after %d concurrent adds the group has %d members (%d)", n, len(members), code)
		}
		if v, _ := got["meta"].(map[string]any)["version"].(string); v != fmt.Sprintf(`W/"%d"`, n+1) {
			t.Errorf("version after %d membership changes = %s, want W/\"%d\"", n, v, n+1)
		}
	})
}

// Ensure the CLI says so when connection create makes a new tenant (stdout stays the JSON),
// and names an unknown tenant or connection plainly.
func TestCLI_TenantsAndConnectionsNamed(t *testing.T) {
	db := sqliteDB(t)
	newConnection(t, db, "okta", "okta") // makes the default tenant
	cmd := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"rollcall"}, args...), noEnv, nil, &out, &errOut)
		return out.String(), errOut.String(), err
	}
	out, errOut, err := cmd("connection", "create", "-database", db, "-tenant", "acme", "-name", "entra", "-kind", "entra")
	var it issuedToken
	if err != nil || json.Unmarshal([]byte(out), &it) != nil || it.Token == "" ||
		!strings.Contains(errOut, `created tenant "acme"`) || !strings.Contains(errOut, "admin create") {
		t.Errorf("connection create in a new tenant: %v\nstdout %q\nstderr %q", err, out, errOut)
	}
	if _, errOut, _ = cmd("connection", "create", "-database", db, "-tenant", "acme", "-name", "okta", "-kind", "okta"); strings.Contains(errOut, "created tenant") {
		t.Errorf("a second connection of acme: stderr %q", errOut)
	}
	for args, want := range map[[2]string]string{
		{"default", "nosuch"}: `tenant "default" has no connection "nosuch"`,
		{"nosuch", "okta"}:    `there is no tenant "nosuch"`,
	} {
		_, _, err := cmd("token", "list", "-database", db, "-tenant", args[0], "-connection", args[1])
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "storage:") {
			t.Errorf("token list %v: %v, want %q", args, err, want)
		}
	}
}
