package admin

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/rbac/secret"
	"github.com/rollcall/rollcall/storage"
)

// Ensure a service user can exchange email and password for a bearer token that works,
// expires after Config.TokenTTL, and can be revoked; and that the exchange is audited.
func TestTokenExchange(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	var tok tokenResponse
	r := e.must(caller{}, 200, "POST", "/api/v1/auth/token", map[string]string{"email": e.admin.email, "password": testPassword})
	r.decode(t, &tok)
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 || !strings.HasPrefix(tok.AccessToken, secret.APIPrefix) ||
		!tok.ExpiresAt.Equal(testStart.Add(time.Hour)) {
		t.Errorf("token response = %+v", tok)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("a token answer may be cached: Cache-Control %q", r.header.Get("Cache-Control"))
	}
	c := caller{token: tok.AccessToken}
	var me meJSON
	e.must(c, 200, "GET", "/api/v1/me", nil).decode(t, &me)
	if me.User.ID != e.admin.userID || me.Tenant.Name != "acme" || len(me.Roles) != 1 || me.Roles[0].Name != "Tenant Administrator" ||
		!slicesContains(me.Permissions, rbac.AssignRole) {
		t.Errorf("/me = %+v", me)
	}
	if ev := e.auditEvents("action=admin.api_token.create&actor=" + e.admin.userID); len(ev) != 1 {
		t.Errorf("token creation events = %+v, want 1", ev)
	}

	e.clock.Add(time.Hour - time.Second)
	e.must(c, 200, "GET", "/api/v1/me", nil)
	e.clock.Add(time.Second)
	wantRule(t, e.do(c, "GET", "/api/v1/me", nil), 401, ruleTokenInvalid)

	e.must(caller{}, 200, "POST", "/api/v1/auth/token", map[string]string{"email": e.admin.email, "password": testPassword}).decode(t, &tok)
	c = caller{token: tok.AccessToken}
	e.must(c, 204, "DELETE", "/api/v1/auth/token", nil)
	wantRule(t, e.do(c, "GET", "/api/v1/me", nil), 401, ruleTokenInvalid)
	wantRule(t, e.request("DELETE", "/api/v1/auth/token", nil, basic(e.admin.email, testPassword)), 400, ruleNotAToken)

	// A password reset ends the user's tokens.
	e.must(caller{}, 200, "POST", "/api/v1/auth/token", map[string]string{"email": e.admin.email, "password": testPassword}).decode(t, &tok)
	other := e.freshAdmin(e.tenant, "second")
	e.must(other, 204, "POST", "/api/v1/users/"+e.admin.userID+"/password", map[string]string{"password": "Brand-New-Pass-1"})
	wantRule(t, e.do(caller{token: tok.AccessToken}, "GET", "/api/v1/me", nil), 401, ruleTokenInvalid)
	e.must(caller{}, 200, "POST", "/api/v1/auth/token", map[string]string{"email": e.admin.email, "password": "Brand-New-Pass-1"})
}

func slicesContains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Ensure Basic credentials work, that an email of several tenants needs the tenant header,
// and that every refusal says why without telling which emails exist.
func TestBasicAuth(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	other := e.provision("globex")
	shared := "ops@example.com"
	e.userWithRoles(e.tenant, shared, e.roleID(e.admin, "Tenant Administrator"))
	e.userWithRoles(other, shared, e.roleID(e.freshAdmin(other, "admin"), "Business User"))

	e.must(caller{}, 0+200, "GET", "/api/v1/openapi.json", nil)
	r := e.request("GET", "/api/v1/me", nil, basic(e.admin.email, testPassword))
	if r.status != 200 {
		t.Fatalf("Basic: %d %s", r.status, r.body)
	}
	wantRule(t, e.request("GET", "/api/v1/me", nil, basic(shared, testPassword)), 401, ruleTenantRequired)
	// Without the password, an email of several tenants is answered as any wrong password:
	// the answer must not tell that it exists.
	wantRule(t, e.request("GET", "/api/v1/me", nil, basic(shared, "Wrong-Pass-1")), 401, ruleInvalidCredentials)
	wantRule(t, e.request("POST", "/api/v1/auth/token", map[string]string{"email": shared, "password": "Wrong-Pass-1"}, func(*http.Request) {}), 401, ruleInvalidCredentials)
	for tenant, want := range map[string]string{"acme": "acme", "GLOBEX": "globex"} {
		var me meJSON
		r := e.request("GET", "/api/v1/me", nil, func(r *http.Request) {
			basic(shared, testPassword)(r)
			r.Header.Set(TenantHeader, tenant)
		})
		r.decode(t, &me)
		if r.status != 200 || me.Tenant.Name != want {
			t.Errorf("tenant %q: %d, tenant %q", tenant, r.status, me.Tenant.Name)
		}
	}
	var tok tokenResponse
	e.must(caller{}, 200, "POST", "/api/v1/auth/token", map[string]string{"email": shared, "password": testPassword, "tenant": "globex"}).decode(t, &tok)
	// The globex user holds Business User only: no admin route.
	wantRule(t, e.do(caller{token: tok.AccessToken}, "GET", "/api/v1/users", nil), 403, rulePermissionRequired)

	for name, mod := range map[string]func(*http.Request){
		"wrong password": basic(e.admin.email, "Wrong-Pass-1"),
		"unknown email":  basic("nobody@acme.example", testPassword),
		"unknown tenant": func(r *http.Request) {
			basic(shared, testPassword)(r)
			r.Header.Set(TenantHeader, "initech")
		},
		"not base64":     func(r *http.Request) { r.Header.Set("Authorization", "Basic %%%") },
		"no colon":       func(r *http.Request) { r.Header.Set("Authorization", "Basic bm9jb2xvbg==") },
		"unknown bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer rca_nope") },
		"scim token":     func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret.New(secret.SCIMPrefix)) },
		"other scheme":   func(r *http.Request) { r.Header.Set("Authorization", "Digest x") },
		"none":           nil,
	} {
		r := e.request("GET", "/api/v1/me", nil, mod)
		if r.status != 401 || r.header.Get("WWW-Authenticate") != `Bearer realm="rollcall"` {
			t.Errorf("%s: %d %q, want 401 with a Bearer challenge: %s", name, r.status, r.header.Get("WWW-Authenticate"), r.body)
		}
	}

	// A user without any role is refused, saying so.
	ctx := t.Context()
	lonely := storage.User{ID: storage.NewID(), TenantID: e.tenant.ID, Kind: storage.UserService, Auth: storage.AuthPassword,
		UserName: "lonely@acme.example", Active: true, PasswordHash: testHash(), Version: 1, CreatedAt: testStart, UpdatedAt: testStart}
	e.mustTx(func(tx storage.Tx) error { return tx.CreateUser(ctx, lonely) })
	wantRule(t, e.request("GET", "/api/v1/me", nil, basic("lonely@acme.example", testPassword)), 403, ruleUserHasNoRole)
}
