package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rollcall/rollcall/storage"
)

// Ensure every malformed request gets a 4xx that names what is wrong, and changes nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	a := e.admin
	bu := e.roleID(a, "Business User")
	for _, c := range []struct {
		name        string
		method      string
		path        string
		body        any
		contentType string
		status      int
		rule        string
		mention     string
	}{
		{"unknown field", "POST", "/api/v1/roles", `{"name":"X","colour":"red"}`, "", 400, ruleUnknownField, `"colour"`},
		{"wrong type", "POST", "/api/v1/roles", `{"name":42}`, "", 400, ruleInvalidJSON, `"name" must be a string`},
		{"wrong type in list", "POST", "/api/v1/roles", `{"name":"X","permission_set_ids":"a"}`, "", 400, ruleInvalidJSON, `"permission_set_ids" must be an array`},
		{"syntax", "POST", "/api/v1/roles", `{"name":`, "", 400, ruleInvalidJSON, "truncated"},
		{"syntax offset", "POST", "/api/v1/roles", `{"name" "x"}`, "", 400, ruleInvalidJSON, "at byte"},
		{"not an object", "POST", "/api/v1/roles", `["x"]`, "", 400, ruleInvalidJSON, "object"},
		{"duplicate key", "POST", "/api/v1/permission-sets", `{"name":"X","permissions":["view_table"],"permissions":["manage_idp"]}`, "", 400, ruleInvalidJSON, `"permissions" twice`},
		{"duplicate key in another case", "POST", "/api/v1/roles", `{"name":"X","Name":"Y"}`, "", 400, ruleInvalidJSON, `"Name" twice`},
		{"duplicate nested key", "PATCH", "/api/v1/connections/x", `{"oidc":{"issuer":"https://a.example","issuer":"https://b.example"}}`, "", 400, ruleInvalidJSON, `"issuer" twice`},
		{"two values", "POST", "/api/v1/roles", `{"name":"X"} {}`, "", 400, ruleInvalidJSON, "more than one"},
		{"empty body", "POST", "/api/v1/roles", ``, "", 400, ruleBodyRequired, "required"},
		{"missing name", "POST", "/api/v1/roles", `{}`, "", 400, ruleFieldRequired, "name"},
		{"form post", "POST", "/api/v1/roles", `name=X`, "application/x-www-form-urlencoded", 415, ruleMediaType, "JSON"},
		{"too large", "POST", "/api/v1/roles", `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, "", 413, ruleBodyTooLarge, "larger"},
		{"long description", "POST", "/api/v1/roles", map[string]any{"name": "X", "description": strings.Repeat("d", 1001)}, "", 400, ruleFieldTooLong, "description"},
		{"unknown permission", "POST", "/api/v1/permission-sets", map[string]any{"name": "X", "permissions": []string{"fly", "view_table"}}, "", 400, "unknown-permission", `"fly"`},
		{"unknown set", "POST", "/api/v1/roles", map[string]any{"name": "X", "permission_set_ids": []string{"nope"}}, "", 400, ruleUnknownPermissionSet, `"nope"`},
		{"bad kind", "POST", "/api/v1/connections", map[string]any{"name": "X", "kind": "ldap"}, "", 400, ruleConnectionKind, `"ldap"`},
		{"issuer with credentials", "POST", "/api/v1/connections", map[string]any{"name": "X", "kind": "okta", "oidc": map[string]any{"issuer": "http://svc:Hunter2@idp.example"}}, "", 400, ruleOIDCSettings, "without a user name or password"},
		{"malformed issuer with credentials", "POST", "/api/v1/connections", map[string]any{"name": "X", "kind": "okta", "oidc": map[string]any{"issuer": "https://svc:Hunter2@idp example/%zz"}}, "", 400, ruleOIDCSettings, "without a user name or password"},
		{"issuer with credentials, no scheme", "POST", "/api/v1/connections", map[string]any{"name": "X", "kind": "okta", "oidc": map[string]any{"issuer": "svc:Hunter2@idp.example"}}, "", 400, ruleOIDCSettings, "oidc.issuer"},
		{"http issuer", "POST", "/api/v1/connections", map[string]any{"name": "X", "kind": "okta", "oidc": map[string]any{"issuer": "http://idp.example"}}, "", 400, ruleOIDCSettings, "https"},
		{"no openid scope", "POST", "/api/v1/connections", map[string]any{"name": "X", "kind": "okta", "oidc": map[string]any{"scopes": []string{"email"}}}, "", 400, ruleOIDCSettings, "openid"},
		{"bad org group", "POST", "/api/v1/users", map[string]any{"email": "o@acme.example", "kind": "service", "password": testPassword, "roles": []string{bu}, "org_group": "a\x01b"}, "", 400, ruleInvalidParameter, "org_group"},
		{"NUL in a body", "POST", "/api/v1/users", map[string]any{"email": "o@acme.example", "kind": "service", "password": testPassword, "roles": []string{bu}, "org_group": "a\x00b"}, "", 400, ruleInvalidJSON, "NUL"},
		{"NUL in a group name", "PUT", "/api/v1/roles/" + bu + "/mappings/nope", map[string]any{"group": "\x00"}, "", 400, ruleInvalidJSON, "NUL"},
		{"semicolon in a parameter", "GET", "/api/v1/users?q=nobody;x", nil, "", 400, ruleInvalidParameter, "%3B"},
		{"parameter not UTF-8", "GET", "/api/v1/audit?actor=%ff", nil, "", 400, ruleInvalidParameter, `"actor"`},
		{"parameter with NUL", "GET", "/api/v1/users?connection=%00", nil, "", 400, ruleInvalidParameter, `"connection"`},
		{"half a surrogate pair", "POST", "/api/v1/roles", `{"name":"X\ud800"}`, "", 400, ruleInvalidJSON, "surrogate"},
		{"body not UTF-8", "POST", "/api/v1/roles", "{\"name\":\"X\xff\"}", "", 400, ruleInvalidJSON, "UTF-8"},
		{"id not UTF-8", "GET", "/api/v1/users/%ff", nil, "", 404, ruleNotFound, "UTF-8"},
		{"id with NUL", "DELETE", "/api/v1/roles/%00", nil, "", 404, ruleNotFound, "UTF-8"},
		{"empty patch", "PATCH", "/api/v1/users/" + a.userID, `{}`, "", 400, ruleNothingToChange, "nothing"},
		{"unknown parameter", "GET", "/api/v1/users?actve=false", nil, "", 400, ruleInvalidParameter, `"actve"`},
		{"bad limit", "GET", "/api/v1/users?limit=0", nil, "", 400, ruleInvalidParameter, "limit"},
		{"huge limit", "GET", "/api/v1/roles?limit=100000", nil, "", 400, ruleInvalidParameter, "limit"},
		{"bad cursor", "GET", "/api/v1/users?cursor=abc", nil, "", 400, ruleInvalidCursor, "cursor"},
		{"cursor of another listing", "GET", "/api/v1/users?cursor=" + encodeCursor("roles", "x"), nil, "", 400, ruleInvalidCursor, "cursor"},
		{"bad boolean", "GET", "/api/v1/users?active=yes", nil, "", 400, ruleInvalidParameter, "active"},
		{"bad time", "GET", "/api/v1/audit?since=yesterday", nil, "", 400, ruleInvalidParameter, "since"},
		{"since after until", "GET", "/api/v1/audit?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", nil, "", 400, ruleInvalidParameter, "since"},
		{"bad format", "GET", "/api/v1/audit/export?format=xml", nil, "", 400, ruleInvalidParameter, "format"},
		{"unknown route", "GET", "/api/v1/nothing", nil, "", 404, ruleRouteNotFound, "/api/v1/nothing"},
		{"wrong method", "PUT", "/api/v1/users", `{}`, "", 405, ruleMethodNotAllowed, "PUT"},
		{"unknown user", "GET", "/api/v1/users/nope", nil, "", 404, ruleNotFound, `"nope"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.request(c.method, c.path, c.body, func(r *http.Request) {
				r.Header.Set("Authorization", "Bearer "+a.token)
				if c.contentType != "" {
					r.Header.Set("Content-Type", c.contentType)
				}
			})
			if strings.Contains(r.message(), "Hunter2") {
				t.Errorf("the answer quotes a password: %s", r.message())
			}
			if r.status != c.status || r.rule() != c.rule || !strings.Contains(r.message(), c.mention) {
				t.Errorf("got %d %q %q, want %d %q mentioning %s", r.status, r.rule(), r.message(), c.status, c.rule, c.mention)
			}
			if allow := r.header.Get("Allow"); c.status == http.StatusMethodNotAllowed && allow != "GET, HEAD, POST" {
				t.Errorf("405 with Allow %q, want the methods of the path (RFC 9110 section 15.5.6)", allow)
			}
			if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
			}
		})
	}
	head := e.request("HEAD", "/api/v1/users", nil, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+a.token) })
	if head.status != http.StatusOK || len(head.body) != 0 || !strings.HasPrefix(head.header.Get("Content-Type"), "application/json") {
		t.Errorf("HEAD /api/v1/users: %d %q %q, want 200 with GET's headers and no body", head.status, head.header.Get("Content-Type"), head.body)
	}
	if anon := e.request("HEAD", "/api/v1/users", nil, func(*http.Request) {}); anon.status != http.StatusUnauthorized || len(anon.body) != 0 {
		t.Errorf("HEAD /api/v1/users without credentials: %d %q, want 401 and no body", anon.status, anon.body)
	}
	for _, ce := range []string{"gzip", "br"} {
		r := e.request("POST", "/api/v1/roles", `{"name":"Encoded"}`, func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+a.token)
			r.Header.Set("Content-Encoding", ce)
		})
		if r.status != http.StatusUnsupportedMediaType || r.rule() != ruleMediaType || !strings.Contains(r.message(), ce) {
			t.Errorf("Content-Encoding %s: %d %q %q, want 415", ce, r.status, r.rule(), r.message())
		}
	}
	var roles listJSON[roleJSON]
	e.must(a, 200, "GET", "/api/v1/roles", nil).decode(t, &roles)
	if *roles.Total != 4 || len(e.auditEvents("action=admin.role.create")) != 4 {
		t.Errorf("a refused request created a role: %d roles", *roles.Total)
	}
}

// faultyStore is a real store whose reads can be made to fail as an unreachable database
// does, or with a driver's own text.
type faultyStore struct {
	storage.Store
	down atomic.Bool
	raw  atomic.Bool
}

func (f *faultyStore) fault() error {
	switch {
	case f.down.Load():
		return storage.ErrUnavailable
	case f.raw.Load():
		return errors.New(`pq: relation "roles" does not exist at 10.0.0.7:5432 password=hunter2`)
	}
	return nil
}

func (f *faultyStore) Roles(ctx context.Context, tenantID string) ([]storage.Role, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.Roles(ctx, tenantID)
}

func (f *faultyStore) Tx(ctx context.Context, fn func(storage.Tx) error) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Store.Tx(ctx, fn)
}

// Ensure a database that goes away yields 503 with Retry-After, and any other failure a 500
// that carries nothing of the cause.
func TestStoreFailures(t *testing.T) {
	fs := &faultyStore{Store: openSQLite(t)}
	e := newEnv(t, fs)
	fs.down.Store(true)
	r := e.do(e.admin, "GET", "/api/v1/roles", nil)
	if r.status != 503 || r.header.Get("Retry-After") == "" || r.rule() != ruleUnavailable {
		t.Errorf("database down: %d, Retry-After %q: %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	fs.down.Store(false)
	fs.raw.Store(true)
	for _, req := range [][2]string{{"GET", "/api/v1/roles"}, {"POST", "/api/v1/permission-sets"}} {
		r = e.do(e.admin, req[0], req[1], map[string]any{"name": "x"})
		if r.status != 500 || r.message() != "internal error" {
			t.Errorf("%s %s: %d: %s", req[0], req[1], r.status, r.body)
		}
		for _, leak := range []string{"pq", "relation", "hunter2", "10.0.0.7"} {
			if strings.Contains(string(r.body), leak) {
				t.Errorf("the answer leaks %q: %s", leak, r.body)
			}
		}
	}
	fs.raw.Store(false)
	e.must(e.admin, 200, "GET", "/api/v1/roles", nil)
}

// Ensure credentials no user can have (NUL, not UTF-8) are wrong credentials, on both backends.
func TestCredentialsNotText(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s storage.Store) {
		e := newEnv(t, s)
		for _, email := range []string{"a\x00@acme.example", "a\xff@acme.example"} {
			r := e.request("GET", "/api/v1/me", nil, basic(email, testPassword))
			if r.status != 401 || r.rule() != ruleInvalidCredentials {
				t.Errorf("Basic %q: %d %s", email, r.status, r.body)
			}
		}
		r := e.request("GET", "/api/v1/me", nil, func(r *http.Request) {
			r.SetBasicAuth(e.admin.email, "x")
			r.Header.Set(TenantHeader, "acme\xff")
		})
		if r.status != 401 || r.rule() != ruleInvalidCredentials {
			t.Errorf("tenant not UTF-8: %d %s", r.status, r.body)
		}
	})
}

// Ensure duplicateKey finds a key twice in one object only.
func TestDuplicateKey(t *testing.T) {
	for body, want := range map[string]string{
		`{"a":1,"b":2}`:                     "",
		`{"a":{"x":1},"b":{"x":2}}`:         "",
		`{"a":[{"x":1},{"x":2}],"x":3}`:     "",
		`{"a":"a","b":"a"}`:                 "",
		`{"a":[1,"a"],"b":{"a":"b"}}`:       "",
		`{"a":1,"A":2}`:                     "A",
		`{"description":1,"deſcription":2}`: "deſcription",
		`{"kind":1,"\u212aind":2}`:          "\u212aind",
		`{"o":{"k":[],"k":{}}}`:             "k",
		`{"l":[{"k":1,"m":{"z":1},"k":2}]}`: "k",
		`not json`:                          "",
	} {
		got, dup := duplicateKey([]byte(body))
		if got != want || dup != (want != "") {
			t.Errorf("duplicateKey(%s) = %q, %v; want %q", body, got, dup, want)
		}
	}
}
