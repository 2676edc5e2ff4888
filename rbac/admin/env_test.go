package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/rbac/password"
	"github.com/rollcall/rollcall/rbac/secret"
	"github.com/rollcall/rollcall/scim"
	"github.com/rollcall/rollcall/storage"
	"github.com/rollcall/rollcall/storage/postgres"
	"github.com/rollcall/rollcall/storage/postgres/pgtest"
	"github.com/rollcall/rollcall/storage/sqlite"
)

var testStart = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// testPassword meets the policy; its hash is made once, since argon2id is slow on purpose.
const testPassword = "Correct-Horse-9"

var testHash = sync.OnceValue(func() string {
	h, err := password.Hash(testPassword)
	if err != nil {
		panic(err)
	}
	return h
})

func openSQLite(t testing.TB) storage.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "admin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t testing.TB) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), pgtest.URL(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// backends are the stores tests run on: SQLite always, PostgreSQL when POSTGRES_TEST_URL is
// set (pgtest skips that subtest otherwise, and fails it when CI is set).
var backends = []struct {
	name string
	open func(testing.TB) storage.Store
}{
	{"sqlite", openSQLite},
	{"postgres", func(t testing.TB) storage.Store { return openPostgres(t) }},
}

// forEachBackend runs fn on a fresh store of each backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, s storage.Store)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.open(t)) })
	}
}

// clock is a settable Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is the admin API and the SCIM endpoint on one store, with one provisioned tenant.
type env struct {
	t      testing.TB
	store  storage.Store
	h      *Handler
	srv    *httptest.Server
	clock  *clock
	tenant storage.Tenant
	// admin holds every tenant-management permission (the Tenant Administrator role).
	admin caller
}

const testBaseURL = "https://rollcall.example"

// testBox seals client secrets in tests.
var testBox = func() *secret.Box {
	b, err := secret.NewBox(make([]byte, secret.KeySize))
	if err != nil {
		panic(err)
	}
	return b
}()

func newEnv(t testing.TB, s storage.Store) *env {
	t.Helper()
	e := &env{t: t, store: s, clock: &clock{t: testStart}}
	sh, err := scim.NewHandler(scim.Config{Store: s, BaseURL: testBaseURL, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(Config{Store: s, Now: e.clock.Now, BaseURL: testBaseURL, SCIMTokenRevoked: sh.ForgetTokens, Secrets: testBox})
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	mux := http.NewServeMux()
	mux.Handle("/scim/", sh)
	mux.Handle("/api/", h)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.tenant = e.provision("acme")
	e.admin = e.adminOf(e.tenant)
	return e
}

// provision creates a tenant as the CLI does.
func (e *env) provision(name string) storage.Tenant {
	e.t.Helper()
	var tn storage.Tenant
	e.mustTx(func(tx storage.Tx) (err error) {
		tn, err = ProvisionTenant(e.t.Context(), tx, name, rbac.DefaultCatalog(), testStart, Actor{Type: ActorSystem, ID: "test"})
		return err
	})
	return tn
}

func (e *env) mustTx(fn func(tx storage.Tx) error) {
	e.t.Helper()
	if err := e.store.Tx(e.t.Context(), fn); err != nil {
		e.t.Fatal(err)
	}
}

// caller is a user of a tenant with an API token.
type caller struct {
	token  string
	userID string
	email  string
}

// adminOf is a service user of the tenant holding its Tenant Administrator role.
func (e *env) adminOf(tn storage.Tenant) caller { return e.freshAdmin(tn, "admin") }

// freshAdmin is a new Tenant Administrator of the tenant, named name (a fresh one per use
// where a request may end the caller's token).
func (e *env) freshAdmin(tn storage.Tenant, name string) caller {
	e.t.Helper()
	roles, err := e.store.Roles(e.t.Context(), tn.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ro := range roles {
		if ro.Name == "Tenant Administrator" {
			return e.userWithRoles(tn, name+"@"+tn.Name+".example", ro.ID)
		}
	}
	e.t.Fatal("no Tenant Administrator role")
	return caller{}
}

// callerWith is a service user of the tenant whose only role grants exactly perms.
func (e *env) callerWith(tn storage.Tenant, name string, perms ...rbac.Permission) caller {
	e.t.Helper()
	ctx := e.t.Context()
	ps := storage.PermissionSet{ID: storage.NewID(), TenantID: tn.ID, Name: "set " + name, Permissions: perms,
		CreatedAt: testStart, UpdatedAt: testStart}
	ro := storage.Role{ID: storage.NewID(), TenantID: tn.ID, Name: "role " + name, PermissionSetIDs: []string{ps.ID},
		CreatedAt: testStart, UpdatedAt: testStart}
	e.mustTx(func(tx storage.Tx) error {
		if err := tx.CreatePermissionSet(ctx, ps); err != nil {
			return err
		}
		return tx.CreateRole(ctx, ro)
	})
	return e.userWithRoles(tn, strings.ReplaceAll(name, " ", "-")+"@"+tn.Name+".example", ro.ID)
}

// userWithRoles creates a local service user with a password and an API token.
func (e *env) userWithRoles(tn storage.Tenant, email string, roleIDs ...string) caller {
	e.t.Helper()
	ctx := e.t.Context()
	u := storage.User{ID: storage.NewID(), TenantID: tn.ID, Kind: storage.UserService, Auth: storage.AuthPassword,
		UserName: email, Email: email, Active: true, PasswordHash: testHash(), Version: 1, CreatedAt: testStart, UpdatedAt: testStart}
	tok := secret.New(secret.APIPrefix)
	e.mustTx(func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.AssignRoles(ctx, tn.ID, u.ID, roleIDs, rbac.SourceManual, testStart); err != nil {
			return err
		}
		return tx.CreateSession(ctx, storage.Session{IDHash: secret.Hash(tok), Kind: storage.SessionAPI, TenantID: tn.ID,
			UserID: u.ID, CreatedAt: testStart, ExpiresAt: testStart.Add(24 * time.Hour), LastSeenAt: testStart})
	})
	return caller{token: tok, userID: u.ID, email: email}
}

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// rule is the rule of an error answer.
func (r response) rule() string {
	var b errorBody
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Rule
}

func (r response) message() string {
	var b errorBody
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Message
}

// do sends a request as c (no credentials for the zero caller). A string body is sent as
// is; anything else as JSON.
func (e *env) do(c caller, method, path string, body any) response {
	e.t.Helper()
	return e.request(method, path, body, func(r *http.Request) {
		if c.token != "" {
			r.Header.Set("Authorization", "Bearer "+c.token)
		}
	})
}

func (e *env) request(method, path string, body any, mod func(*http.Request)) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if mod != nil {
		mod(req)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// must sends a request as c and fails the test unless it answers want.
func (e *env) must(c caller, want int, method, path string, body any) response {
	e.t.Helper()
	r := e.do(c, method, path, body)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// Fixture ids, read through the API.

func (e *env) roleID(c caller, name string) string {
	e.t.Helper()
	var l listJSON[roleJSON]
	e.must(c, 200, "GET", "/api/v1/roles?limit=200", nil).decode(e.t, &l)
	for _, ro := range l.Items {
		if ro.Name == name {
			return ro.ID
		}
	}
	e.t.Fatalf("no role %q", name)
	return ""
}

func (e *env) setID(c caller, name string) string {
	e.t.Helper()
	var l listJSON[permissionSetJSON]
	e.must(c, 200, "GET", "/api/v1/permission-sets?limit=200", nil).decode(e.t, &l)
	for _, ps := range l.Items {
		if ps.Name == name {
			return ps.ID
		}
	}
	e.t.Fatalf("no permission set %q", name)
	return ""
}

// connection creates an IdP connection and a SCIM token for it, through the API.
func (e *env) connection(c caller, name string, kind storage.ConnectionKind) (connectionJSON, string) {
	e.t.Helper()
	var conn connectionJSON
	e.must(c, 201, "POST", "/api/v1/connections", map[string]any{"name": name, "kind": kind}).decode(e.t, &conn)
	var tok newTokenJSON
	e.must(c, 201, "POST", "/api/v1/connections/"+conn.ID+"/tokens", nil).decode(e.t, &tok)
	return conn, tok.Token
}

// scim sends a SCIM request with a connection's token.
func (e *env) scim(token, method, path string, body any) response {
	e.t.Helper()
	return e.request(method, "/scim/v2"+path, body, func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			r.Header.Set("Content-Type", "application/scim+json")
		}
	})
}

func (e *env) scimMust(token string, want int, method, path string, body any) response {
	e.t.Helper()
	r := e.scim(token, method, path, body)
	if r.status != want {
		e.t.Fatalf("SCIM %s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// scimUser pushes a user over SCIM and returns its id.
func (e *env) scimUser(token, userName string) string {
	e.t.Helper()
	var u struct{ ID string }
	e.scimMust(token, 201, "POST", "/Users", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName, "active": true,
		"emails": []any{map[string]any{"value": userName, "type": "work", "primary": true}},
	}).decode(e.t, &u)
	return u.ID
}

// scimGroup pushes a group over SCIM and returns its id.
func (e *env) scimGroup(token, name string, members ...string) string {
	e.t.Helper()
	ms := []any{}
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	var g struct{ ID string }
	e.scimMust(token, 201, "POST", "/Groups", map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": name, "members": ms,
	}).decode(e.t, &g)
	return g.ID
}

// auditEvents lists the tenant's events matching the query string, as the admin.
func (e *env) auditEvents(query string) []auditJSON {
	e.t.Helper()
	var l listJSON[auditJSON]
	e.must(e.admin, 200, "GET", "/api/v1/audit?limit=1000&"+query, nil).decode(e.t, &l)
	return l.Items
}

// user reads a user as the admin.
func (e *env) user(id string) userDetailJSON {
	e.t.Helper()
	var u userDetailJSON
	e.must(e.admin, 200, "GET", "/api/v1/users/"+id, nil).decode(e.t, &u)
	return u
}
