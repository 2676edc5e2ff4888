package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// authzFixture is what the matrix's requests act on in tenant A: a connection with a SCIM
// token, and a counter for unique names.
type authzFixture struct {
	conn  connectionJSON
	token string
	n     int
}

func (f *authzFixture) name(prefix string) string {
	f.n++
	return fmt.Sprintf("%s-%d", prefix, f.n)
}

// authzCase is one route of the matrix: the permissions that let a caller in (any one of
// them; none: any signed-in caller), and setup, which makes fresh records in tenant A and
// returns a request that succeeds with want.
type authzCase struct {
	method, path string
	public       bool
	perms        []rbac.Permission
	want         int
	setup        func(e *env, f *authzFixture) (path string, body any)
}

func authzCases() []authzCase {
	static := func(path string, body any) func(*env, *authzFixture) (string, any) {
		return func(*env, *authzFixture) (string, any) { return path, body }
	}
	user := func(e *env, f *authzFixture) string {
		return e.userWithRoles(e.tenant, f.name("user")+"@acme.example", e.roleID(e.admin, "Business User")).userID
	}
	role := func(e *env, f *authzFixture) string {
		var ro roleJSON
		e.must(e.admin, 201, "POST", "/api/v1/roles", map[string]any{"name": f.name("Role")}).decode(e.t, &ro)
		return ro.ID
	}
	set := func(e *env, f *authzFixture) string {
		var ps permissionSetJSON
		e.must(e.admin, 201, "POST", "/api/v1/permission-sets", map[string]any{"name": f.name("set"), "permissions": []string{"view_table"}}).decode(e.t, &ps)
		return ps.ID
	}
	group := func(e *env, f *authzFixture) string { return e.scimGroup(f.token, f.name("Group")) }
	conn := func(_ *env, f *authzFixture) string { return f.conn.ID }
	return []authzCase{
		{method: "GET", path: "/openapi.json", public: true, want: 200, setup: static("/api/v1/openapi.json", nil)},
		{method: "POST", path: "/auth/token", public: true, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/auth/token", map[string]string{"email": e.admin.email, "password": testPassword}
		}},
		{method: "DELETE", path: "/auth/token", want: 204, setup: static("/api/v1/auth/token", nil)},
		{method: "GET", path: "/me", want: 200, setup: static("/api/v1/me", nil)},
		{method: "POST", path: "/check", want: 200, setup: static("/api/v1/check", map[string]string{"permission": "view_user"})},

		{method: "GET", path: "/users", perms: []rbac.Permission{rbac.ViewUser}, want: 200, setup: static("/api/v1/users", nil)},
		{method: "POST", path: "/users", perms: []rbac.Permission{rbac.CreateUser}, want: 201, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/users", map[string]any{"email": f.name("new") + "@acme.example", "kind": "service",
				"password": testPassword, "roles": []string{e.roleID(e.admin, "Business User")}}
		}},
		{method: "GET", path: "/users/{id}", perms: []rbac.Permission{rbac.ViewUser}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/users/" + user(e, f), nil
		}},
		{method: "PATCH", path: "/users/{id}", perms: []rbac.Permission{rbac.EditUser}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/users/" + user(e, f), map[string]any{"org_group": "Finance", "active": false}
		}},
		{method: "PATCH", path: "/users/{id}", perms: []rbac.Permission{rbac.AssignRole}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/users/" + user(e, f), map[string]any{"roles": []string{e.roleID(e.admin, "Data Engineer")}}
		}},
		{method: "DELETE", path: "/users/{id}", perms: []rbac.Permission{rbac.DeleteUser}, want: 204, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/users/" + user(e, f), nil
		}},
		{method: "POST", path: "/users/{id}/password", perms: []rbac.Permission{rbac.EditUser}, want: 204, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/users/" + user(e, f) + "/password", map[string]string{"password": "Another-Pass-7"}
		}},

		{method: "GET", path: "/roles", perms: []rbac.Permission{rbac.ViewRole}, want: 200, setup: static("/api/v1/roles", nil)},
		{method: "POST", path: "/roles", perms: []rbac.Permission{rbac.CreateRole}, want: 201, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/roles", map[string]any{"name": f.name("New Role"), "permission_set_ids": []string{e.setID(e.admin, "data_explorer")}}
		}},
		{method: "GET", path: "/roles/{id}", perms: []rbac.Permission{rbac.ViewRole}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/roles/" + role(e, f), nil
		}},
		{method: "PATCH", path: "/roles/{id}", perms: []rbac.Permission{rbac.EditRole}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/roles/" + role(e, f), map[string]any{"description": "edited"}
		}},
		{method: "DELETE", path: "/roles/{id}", perms: []rbac.Permission{rbac.DeleteRole}, want: 204, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/roles/" + role(e, f), nil
		}},
		{method: "PUT", path: "/roles/{id}/mappings/{connection_id}", perms: []rbac.Permission{rbac.ManageIdP}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/roles/" + role(e, f) + "/mappings/" + conn(e, f), map[string]string{"group_id": group(e, f)}
		}},
		{method: "DELETE", path: "/roles/{id}/mappings/{connection_id}", perms: []rbac.Permission{rbac.ManageIdP}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			r := role(e, f)
			e.must(e.admin, 200, "PUT", "/api/v1/roles/"+r+"/mappings/"+conn(e, f), map[string]string{"group_id": group(e, f)})
			return "/api/v1/roles/" + r + "/mappings/" + conn(e, f), nil
		}},
		{method: "POST", path: "/roles/{id}/mappings/{connection_id}/preview", perms: []rbac.Permission{rbac.ManageIdP}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/roles/" + role(e, f) + "/mappings/" + conn(e, f) + "/preview", map[string]string{"group_id": group(e, f)}
		}},

		{method: "GET", path: "/permission-sets", perms: []rbac.Permission{rbac.ViewPermissionSet}, want: 200, setup: static("/api/v1/permission-sets", nil)},
		{method: "POST", path: "/permission-sets", perms: []rbac.Permission{rbac.CreatePermissionSet}, want: 201, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/permission-sets", map[string]any{"name": f.name("new set"), "permissions": []string{"access_marketplace_functionality"}}
		}},
		{method: "GET", path: "/permission-sets/{id}", perms: []rbac.Permission{rbac.ViewPermissionSet}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/permission-sets/" + set(e, f), nil
		}},
		{method: "PATCH", path: "/permission-sets/{id}", perms: []rbac.Permission{rbac.EditPermissionSet}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/permission-sets/" + set(e, f), map[string]any{"permissions": []string{"view_table", "view_datamap"}}
		}},
		{method: "DELETE", path: "/permission-sets/{id}", perms: []rbac.Permission{rbac.DeletePermissionSet}, want: 204, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/permission-sets/" + set(e, f), nil
		}},
		{method: "GET", path: "/permissions", perms: []rbac.Permission{rbac.ViewPermissionSet}, want: 200, setup: static("/api/v1/permissions", nil)},

		{method: "GET", path: "/connections", perms: []rbac.Permission{rbac.ViewRole, rbac.ManageIdP}, want: 200, setup: static("/api/v1/connections", nil)},
		{method: "POST", path: "/connections", perms: []rbac.Permission{rbac.ManageIdP}, want: 201, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/connections", map[string]any{"name": f.name("entra"), "kind": "entra"}
		}},
		{method: "GET", path: "/connections/{id}", perms: []rbac.Permission{rbac.ViewRole, rbac.ManageIdP}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/connections/" + conn(e, f), nil
		}},
		{method: "PATCH", path: "/connections/{id}", perms: []rbac.Permission{rbac.ManageIdP}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/connections/" + conn(e, f), map[string]any{"oidc": map[string]any{"issuer": "https://acme.okta.example"}}
		}},
		{method: "GET", path: "/connections/{id}/sync-preview", perms: []rbac.Permission{rbac.ManageIdP}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/connections/" + conn(e, f) + "/sync-preview", nil
		}},
		{method: "GET", path: "/connections/{id}/tokens", perms: []rbac.Permission{rbac.ManageIdP}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/connections/" + conn(e, f) + "/tokens", nil
		}},
		{method: "POST", path: "/connections/{id}/tokens", perms: []rbac.Permission{rbac.ManageIdP}, want: 201, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/connections/" + conn(e, f) + "/tokens", nil
		}},
		{method: "DELETE", path: "/connections/{id}/tokens/{token_id}", perms: []rbac.Permission{rbac.ManageIdP}, want: 204, setup: func(e *env, f *authzFixture) (string, any) {
			var tk newTokenJSON
			e.must(e.admin, 201, "POST", "/api/v1/connections/"+conn(e, f)+"/tokens", nil).decode(e.t, &tk)
			return "/api/v1/connections/" + conn(e, f) + "/tokens/" + tk.ID, nil
		}},
		{method: "GET", path: "/connections/{id}/groups", perms: []rbac.Permission{rbac.ViewRole, rbac.ManageIdP}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/connections/" + conn(e, f) + "/groups", nil
		}},
		{method: "GET", path: "/connections/{id}/groups/unmapped", perms: []rbac.Permission{rbac.ViewRole, rbac.ManageIdP}, want: 200, setup: func(e *env, f *authzFixture) (string, any) {
			return "/api/v1/connections/" + conn(e, f) + "/groups/unmapped", nil
		}},

		{method: "GET", path: "/audit", perms: []rbac.Permission{rbac.ViewAuditLog}, want: 200, setup: static("/api/v1/audit", nil)},
		{method: "GET", path: "/audit/export", perms: []rbac.Permission{rbac.ViewAuditLog}, want: 200, setup: static("/api/v1/audit/export?format=csv", nil)},
	}
}

// allBut returns every permission of the catalog except ps.
func allBut(ps []rbac.Permission) []rbac.Permission {
	var out []rbac.Permission
	for _, p := range rbac.DefaultCatalog().Permissions() {
		if !slices.Contains(ps, p) {
			out = append(out, p)
		}
	}
	return out
}

// Ensure every route answers by its permission: a caller holding only it succeeds, a caller
// holding every other permission gets 403, no credentials get 401, and a caller of another
// tenant holding every permission gets 404 for tenant A's ids and sees nothing of tenant A
// where a route takes no id.
func TestAuthorizationMatrix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s storage.Store) {
		e := newEnv(t, s)
		doc := loadOpenAPI(t)
		other := e.provision("globex")
		f := &authzFixture{}
		f.conn, f.token = e.connection(e.admin, "okta", storage.KindOkta)
		e.scimUser(f.token, "alice@acme.example")

		for _, tc := range authzCases() {
			name := tc.method + " " + tc.path
			if len(tc.perms) > 0 {
				name += " " + string(tc.perms[0])
			}
			t.Run(name, func(t *testing.T) {
				e := *e
				e.t = t
				if tc.public {
					path, body := tc.setup(&e, f)
					r := e.must(caller{}, tc.want, tc.method, path, body)
					doc.checkResponse(t, tc.method, tc.path, r.status, r.body)
					return
				}
				path, body := tc.setup(&e, f)
				r := e.do(caller{}, tc.method, path, body)
				if r.status != http.StatusUnauthorized {
					t.Errorf("no credentials: status %d, want 401: %s", r.status, r.body)
				}
				doc.checkResponse(t, tc.method, tc.path, r.status, r.body)
				alternatives := [][]rbac.Permission{nil} // a role granting nothing
				if len(tc.perms) > 0 {
					alternatives = nil
					for _, p := range tc.perms {
						alternatives = append(alternatives, []rbac.Permission{p})
					}
				}
				for _, alt := range alternatives {
					c := e.callerWith(e.tenant, f.name("only"), alt...)
					path, body := tc.setup(&e, f)
					r := e.do(c, tc.method, path, body)
					if r.status != tc.want {
						t.Errorf("holding only %v: status %d, want %d: %s", alt, r.status, tc.want, r.body)
					}
					doc.checkResponse(t, tc.method, tc.path, r.status, r.body)
				}
				if len(tc.perms) > 0 {
					c := e.callerWith(e.tenant, f.name("allbut"), allBut(tc.perms)...)
					path, body := tc.setup(&e, f)
					r := e.do(c, tc.method, path, body)
					if r.status != http.StatusForbidden || r.rule() != rulePermissionRequired {
						t.Errorf("holding all but %v: status %d (%s), want 403: %s", tc.perms, r.status, r.rule(), r.body)
					}
					doc.checkResponse(t, tc.method, tc.path, r.status, r.body)
				}
				stranger := e.freshAdmin(other, f.name("stranger"))
				path, body = tc.setup(&e, f)
				r = e.do(stranger, tc.method, path, body)
				doc.checkResponse(t, tc.method, tc.path, r.status, r.body)
				if strings.Contains(tc.path, "{") {
					if r.status != http.StatusNotFound {
						t.Errorf("another tenant's ids: status %d, want 404: %s", r.status, r.body)
					}
					return
				}
				if r.status >= 300 && r.status != http.StatusBadRequest {
					t.Errorf("another tenant: status %d: %s", r.status, r.body)
				}
				sent, _ := json.Marshal(body)
				for _, id := range e.tenantIDs(e.tenant) {
					if strings.Contains(string(r.body), id) && !strings.Contains(string(sent), id) {
						t.Errorf("another tenant's caller sees tenant A's id %s: %s", id, r.body)
					}
				}
			})
		}
	})
}

// tenantIDs lists the ids of a tenant's records, to look for them where they must not be.
func (e *env) tenantIDs(tn storage.Tenant) []string {
	e.t.Helper()
	ctx := e.t.Context()
	ids := []string{tn.ID}
	roles, _ := e.store.Roles(ctx, tn.ID)
	for _, ro := range roles {
		ids = append(ids, ro.ID)
	}
	sets, _ := e.store.PermissionSets(ctx, tn.ID)
	for _, ps := range sets {
		ids = append(ids, ps.ID)
	}
	users, _ := e.store.Users(ctx, storage.Scope{TenantID: tn.ID}, storage.Query{Limit: 10000})
	for _, u := range users.Items {
		ids = append(ids, u.ID)
	}
	conns, _ := e.store.Connections(ctx, tn.ID)
	for _, c := range conns {
		ids = append(ids, c.ID)
		groups, _ := e.store.Groups(ctx, storage.Scope{TenantID: tn.ID, ConnectionID: c.ID}, storage.Query{Limit: 10000})
		for _, g := range groups.Items {
			ids = append(ids, g.ID)
		}
		tokens, _ := e.store.Tokens(ctx, tn.ID, c.ID)
		for _, tk := range tokens {
			ids = append(ids, tk.ID)
		}
	}
	return ids
}

// Ensure the matrix covers every route of the router, and names no route that is not there.
func TestAuthorizationMatrixCoversRoutes(t *testing.T) {
	h, err := NewHandler(Config{Store: openSQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	inMatrix := map[string]bool{}
	for _, tc := range authzCases() {
		inMatrix[tc.method+" "+Prefix+tc.path] = true
	}
	inRouter := map[string]bool{}
	err = h.router.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := rt.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := rt.GetMethods()
		if err != nil {
			return err
		}
		for _, m := range methods {
			if m == http.MethodHead {
				continue // served by the GET's route entry, with its access rule (routes)
			}
			inRouter[m+" "+tpl] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range inRouter {
		if !inMatrix[k] {
			t.Errorf("route %s is missing from the authorization matrix", k)
		}
	}
	for k := range inMatrix {
		if !inRouter[k] {
			t.Errorf("the authorization matrix names %s, which the router does not serve", k)
		}
	}
	// And each row asks for the permissions the route table declares.
	declared := map[string][]rbac.Permission{}
	for _, rt := range h.routeTable() {
		declared[rt.method+" "+Prefix+rt.path] = rt.access.anyOf
	}
	for _, tc := range authzCases() {
		want := declared[tc.method+" "+Prefix+tc.path]
		for _, p := range tc.perms {
			if !slices.Contains(want, p) {
				t.Errorf("%s %s: the matrix expects %s to let callers in; the route takes %v", tc.method, tc.path, p, want)
			}
		}
	}
}
