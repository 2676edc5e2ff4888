package admin

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// Ensure every invariant of SPEC §1 holds through the API, on each backend.
func TestInvariants(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testInvariantsOn(t, b.open) })
	}
}

func testInvariantsOn(t *testing.T, open func(testing.TB) storage.Store) {
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"names are unique ignoring case", testUniqueNames},
		{"role not deletable while assigned", testRoleInUse},
		{"permission set not deletable while in a role", testPermissionSetInUse},
		{"local user needs a role", testUserNeedsRole},
		{"email valid, unique ignoring case, immutable", testEmail},
		{"password policy", testPasswordPolicy},
		{"one group maps to one role", testGroupMappedOnce},
		{"a role maps to one group per connection", testRoleOneGroupPerConnection},
		{"deactivation ends sessions, reactivation keeps roles", testDeactivation},
		{"delete keeps audit events", testDeleteKeepsAudit},
		{"tenants cannot see each other", testCrossTenant},
		{"changes apply on the next request", testChangesApplyAtOnce},
		{"SSO users' roles come from groups while mapping is on", testRolesFromGroups},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newEnv(t, open(t))) })
	}
}

func wantRule(t *testing.T, r response, status int, rule string) {
	t.Helper()
	if r.status != status || r.rule() != rule {
		t.Errorf("got %d %q, want %d %q: %s", r.status, r.rule(), status, rule, r.body)
	}
}

func testUniqueNames(t *testing.T, e *env) {
	a := e.admin
	wantRule(t, e.do(a, "POST", "/api/v1/roles", map[string]any{"name": "data engineer"}), 409, ruleNameUnique)
	wantRule(t, e.do(a, "POST", "/api/v1/roles", map[string]any{"name": "  DATA ENGINEER "}), 409, ruleNameUnique)
	wantRule(t, e.do(a, "POST", "/api/v1/permission-sets", map[string]any{"name": "Tenant_Admin"}), 409, ruleNameUnique)
	var ro roleJSON
	e.must(a, 201, "POST", "/api/v1/roles", map[string]any{"name": "Auditors"}).decode(t, &ro)
	wantRule(t, e.do(a, "PATCH", "/api/v1/roles/"+ro.ID, map[string]any{"name": "business user"}), 409, ruleNameUnique)
	e.connection(a, "Okta", storage.KindOkta)
	wantRule(t, e.do(a, "POST", "/api/v1/connections", map[string]any{"name": "okta", "kind": "okta"}), 409, ruleNameUnique)
	wantRule(t, e.do(a, "POST", "/api/v1/roles", map[string]any{"name": " "}), 400, rbac.RuleNameRequired)
}

func testRoleInUse(t *testing.T, e *env) {
	a := e.admin
	de := e.roleID(a, "Data Engineer")
	var ids []string
	for _, name := range []string{"x@acme.example", "y@acme.example", "z@acme.example"} {
		var u userJSON
		e.must(a, 201, "POST", "/api/v1/users", map[string]any{"email": name, "kind": "service", "password": testPassword, "roles": []string{de}}).decode(t, &u)
		ids = append(ids, u.ID)
	}
	r := e.do(a, "DELETE", "/api/v1/roles/"+de, nil)
	wantRule(t, r, 409, rbac.RuleRoleInUse)
	if want := `role "Data Engineer" is assigned to 3 users; remove it from them first`; r.message() != want {
		t.Errorf("message %q, want %q", r.message(), want)
	}
	other := e.roleID(a, "Business User")
	for _, id := range ids {
		e.must(a, 200, "PATCH", "/api/v1/users/"+id, map[string]any{"roles": []string{other}})
	}
	e.must(a, 204, "DELETE", "/api/v1/roles/"+de, nil)
	e.must(a, 404, "GET", "/api/v1/roles/"+de, nil)
}

func testPermissionSetInUse(t *testing.T, e *env) {
	a := e.admin
	var ps permissionSetJSON
	e.must(a, 201, "POST", "/api/v1/permission-sets", map[string]any{"name": "readers", "permissions": []string{"view_table"}}).decode(t, &ps)
	var r1, r2 roleJSON
	e.must(a, 201, "POST", "/api/v1/roles", map[string]any{"name": "R1", "permission_set_ids": []string{ps.ID}}).decode(t, &r1)
	e.must(a, 201, "POST", "/api/v1/roles", map[string]any{"name": "R2", "permission_set_ids": []string{ps.ID}}).decode(t, &r2)
	r := e.do(a, "DELETE", "/api/v1/permission-sets/"+ps.ID, nil)
	wantRule(t, r, 409, rbac.RulePermissionSetInUse)
	if !strings.Contains(r.message(), `"readers" is held by 2 roles`) {
		t.Errorf("message %q does not name the set and count the roles", r.message())
	}
	e.must(a, 204, "DELETE", "/api/v1/roles/"+r1.ID, nil)
	e.must(a, 200, "PATCH", "/api/v1/roles/"+r2.ID, map[string]any{"permission_set_ids": []string{}})
	e.must(a, 204, "DELETE", "/api/v1/permission-sets/"+ps.ID, nil)
}

func testUserNeedsRole(t *testing.T, e *env) {
	a := e.admin
	for _, body := range []map[string]any{
		{"email": "n@acme.example", "kind": "human", "password": testPassword},
		{"email": "n@acme.example", "kind": "service", "password": testPassword, "roles": []string{}},
		{"email": "n@acme.example", "kind": "service", "password": testPassword, "roles": []string{" "}},
	} {
		wantRule(t, e.do(a, "POST", "/api/v1/users", body), 400, rbac.RuleUserNeedsRole)
	}
	wantRule(t, e.do(a, "POST", "/api/v1/users", map[string]any{"email": "n@acme.example", "kind": "service",
		"password": testPassword, "roles": []string{"no-such-role"}}), 400, ruleUnknownRole)
	wantRule(t, e.do(a, "POST", "/api/v1/users", map[string]any{"email": "n@acme.example", "kind": "robot",
		"password": testPassword, "roles": []string{e.roleID(a, "Business User")}}), 400, rbac.RuleInvalidUserKind)
	var u userJSON
	e.must(a, 201, "POST", "/api/v1/users", map[string]any{"email": "n@acme.example", "kind": "human",
		"password": testPassword, "roles": []string{e.roleID(a, "Business User")}}).decode(t, &u)
	if u.Kind != storage.UserHuman || u.Auth != storage.AuthPassword || len(u.Roles) != 1 || u.Roles[0].Source != rbac.SourceManual {
		t.Errorf("created user = %+v", u)
	}
	wantRule(t, e.do(a, "PATCH", "/api/v1/users/"+u.ID, map[string]any{"roles": []string{}}), 400, rbac.RuleUserNeedsRole)
}

func testEmail(t *testing.T, e *env) {
	a := e.admin
	bu := e.roleID(a, "Business User")
	for _, bad := range []string{"", "not-an-email", "Alice <alice@acme.example>", " alice@acme.example"} {
		wantRule(t, e.do(a, "POST", "/api/v1/users", map[string]any{"email": bad, "kind": "service", "password": testPassword, "roles": []string{bu}}),
			400, rbac.RuleInvalidEmail)
	}
	var u userJSON
	e.must(a, 201, "POST", "/api/v1/users", map[string]any{"email": "Etl@Acme.example", "kind": "service", "password": testPassword, "roles": []string{bu}}).decode(t, &u)
	if u.UserName != "Etl@Acme.example" || u.Email != "Etl@Acme.example" {
		t.Errorf("user name %q, email %q: want the email as given", u.UserName, u.Email)
	}
	wantRule(t, e.do(a, "POST", "/api/v1/users", map[string]any{"email": "etl@acme.EXAMPLE", "kind": "human", "password": testPassword, "roles": []string{bu}}),
		409, ruleUserNameUnique)
	wantRule(t, e.do(a, "PATCH", "/api/v1/users/"+u.ID, map[string]any{"email": "new@acme.example"}), 400, ruleEmailImmutable)
	wantRule(t, e.do(a, "PATCH", "/api/v1/users/"+u.ID, map[string]any{"user_name": "new@acme.example"}), 400, ruleEmailImmutable)
	// Sending the same email back is not a change.
	e.must(a, 200, "PATCH", "/api/v1/users/"+u.ID, map[string]any{"email": "Etl@Acme.example", "org_group": "Data"})
	// A SCIM user's userName is taken for local users too.
	_, tok := e.connection(a, "okta", storage.KindOkta)
	e.scimUser(tok, "bjensen@acme.example")
	wantRule(t, e.do(a, "POST", "/api/v1/users", map[string]any{"email": "BJensen@acme.example", "kind": "service", "password": testPassword, "roles": []string{bu}}),
		409, ruleUserNameUnique)
}

func testPasswordPolicy(t *testing.T, e *env) {
	a := e.admin
	bu := e.roleID(a, "Business User")
	r := e.do(a, "POST", "/api/v1/users", map[string]any{"email": "w@acme.example", "kind": "service", "password": "password", "roles": []string{bu}})
	wantRule(t, r, 400, rulePasswordPolicy)
	if !strings.Contains(r.message(), "an upper-case letter") {
		t.Errorf("message %q does not say what is missing", r.message())
	}
	wantRule(t, e.do(a, "POST", "/api/v1/users/"+e.admin.userID+"/password", map[string]any{"password": "short"}), 400, rulePasswordPolicy)
}

func testGroupMappedOnce(t *testing.T, e *env) {
	a := e.admin
	conn, tok := e.connection(a, "okta", storage.KindOkta)
	e.scimGroup(tok, "Data Engineers")
	de, ba := e.roleID(a, "Data Engineer"), e.roleID(a, "Business User")
	var res mappingResultJSON
	e.must(a, 200, "PUT", "/api/v1/roles/"+de+"/mappings/"+conn.ID, map[string]string{"group": "data engineers"}).decode(t, &res)
	if res.Mapping == nil || res.Mapping.NormalizedName != "data_engineers" || res.Mapping.GroupName != "Data Engineers" || !res.Changed {
		t.Errorf("mapping = %+v", res)
	}
	for _, path := range []string{"", "/preview"} {
		method := "PUT"
		if path != "" {
			method = "POST"
		}
		r := e.do(a, method, "/api/v1/roles/"+ba+"/mappings/"+conn.ID+path, map[string]string{"group": "Data Engineers"})
		wantRule(t, r, 409, rbac.RuleGroupMappedOnce)
		if !strings.Contains(r.message(), `already mapped to role "Data Engineer"`) {
			t.Errorf("%s: message %q does not name the role holding the group", method, r.message())
		}
	}
	// The group's listing says which role holds it, so a UI can grey it out.
	var groups listJSON[groupJSON]
	e.must(a, 200, "GET", "/api/v1/connections/"+conn.ID+"/groups", nil).decode(t, &groups)
	if len(groups.Items) != 1 || groups.Items[0].MappedRole == nil || groups.Items[0].MappedRole.Name != "Data Engineer" {
		t.Errorf("groups = %+v", groups.Items)
	}
	wantRule(t, e.do(a, "PUT", "/api/v1/roles/"+ba+"/mappings/"+conn.ID, map[string]string{"group": "Nobody Pushed This"}), 400, ruleUnknownGroup)
	wantRule(t, e.do(a, "PUT", "/api/v1/roles/"+ba+"/mappings/"+conn.ID, map[string]string{}), 400, ruleFieldRequired)
}

func testRoleOneGroupPerConnection(t *testing.T, e *env) {
	a := e.admin
	okta, oktaTok := e.connection(a, "okta", storage.KindOkta)
	entra, entraTok := e.connection(a, "entra", storage.KindEntra)
	g1, g2 := e.scimGroup(oktaTok, "G1"), e.scimGroup(oktaTok, "G2")
	g3 := e.scimGroup(entraTok, "G1")
	de := e.roleID(a, "Data Engineer")
	e.must(a, 200, "PUT", "/api/v1/roles/"+de+"/mappings/"+okta.ID, map[string]string{"group_id": g1})
	// A second group of the same connection replaces the first.
	e.must(a, 200, "PUT", "/api/v1/roles/"+de+"/mappings/"+okta.ID, map[string]string{"group_id": g2})
	// A group of another connection is another mapping.
	e.must(a, 200, "PUT", "/api/v1/roles/"+de+"/mappings/"+entra.ID, map[string]string{"group_id": g3})
	var ro roleJSON
	e.must(a, 200, "GET", "/api/v1/roles/"+de, nil).decode(t, &ro)
	got := map[string]string{}
	for _, m := range ro.Mappings {
		got[m.ConnectionID] = m.GroupID
	}
	if len(ro.Mappings) != 2 || got[okta.ID] != g2 || got[entra.ID] != g3 {
		t.Errorf("mappings = %+v, want okta→G2 and entra→G1", ro.Mappings)
	}
	// A group of one connection cannot be mapped through another.
	wantRule(t, e.do(a, "PUT", "/api/v1/roles/"+de+"/mappings/"+entra.ID, map[string]string{"group_id": g1}), 400, ruleUnknownGroup)
	e.must(a, 200, "DELETE", "/api/v1/roles/"+de+"/mappings/"+okta.ID, nil)
	wantRule(t, e.do(a, "DELETE", "/api/v1/roles/"+de+"/mappings/"+okta.ID, nil), 404, ruleMappingNotFound)
}

func basic(email, pw string) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(email+":"+pw)))
	}
}

func testDeactivation(t *testing.T, e *env) {
	a := e.admin
	de, bu := e.roleID(a, "Data Engineer"), e.roleID(a, "Business User")
	var u userJSON
	e.must(a, 201, "POST", "/api/v1/users", map[string]any{"email": "svc@acme.example", "kind": "service", "password": testPassword, "roles": []string{de, bu}}).decode(t, &u)
	var tok tokenResponse
	e.must(caller{}, 200, "POST", "/api/v1/auth/token", map[string]string{"email": "svc@acme.example", "password": testPassword}).decode(t, &tok)
	svc := caller{token: tok.AccessToken, userID: u.ID}
	e.must(svc, 200, "GET", "/api/v1/me", nil)

	e.must(a, 200, "PATCH", "/api/v1/users/"+u.ID, map[string]any{"active": false})
	wantRule(t, e.do(svc, "GET", "/api/v1/me", nil), 401, ruleTokenInvalid)
	wantRule(t, e.request("GET", "/api/v1/me", nil, basic("svc@acme.example", testPassword)), 403, ruleUserInactive)
	wantRule(t, e.do(caller{}, "POST", "/api/v1/auth/token", map[string]string{"email": "svc@acme.example", "password": testPassword}), 403, ruleUserInactive)
	wantRule(t, e.do(a, "PATCH", "/api/v1/users/"+a.userID, map[string]any{"active": false}), 409, ruleSelfLockout)

	var back userJSON
	e.must(a, 200, "PATCH", "/api/v1/users/"+u.ID, map[string]any{"active": true}).decode(t, &back)
	if !back.Active || len(back.Roles) != 2 {
		t.Errorf("reactivated user = %+v, want active with its 2 roles", back)
	}
	e.must(caller{}, 200, "POST", "/api/v1/auth/token", map[string]string{"email": "svc@acme.example", "password": testPassword})
	events := e.auditEvents("action=admin.user.update&target=" + u.ID)
	if len(events) != 2 || !strings.Contains(string(events[1].Detail), "sessions_ended") {
		t.Errorf("update events = %+v, want 2, the deactivation noting ended sessions", events)
	}
}

func testDeleteKeepsAudit(t *testing.T, e *env) {
	a := e.admin
	var u userJSON
	e.must(a, 201, "POST", "/api/v1/users", map[string]any{"email": "gone@acme.example", "kind": "service", "password": testPassword,
		"roles": []string{e.roleID(a, "Business User")}}).decode(t, &u)
	e.must(a, 204, "DELETE", "/api/v1/users/"+u.ID, nil)
	e.must(a, 404, "GET", "/api/v1/users/"+u.ID, nil)
	e.must(a, 404, "DELETE", "/api/v1/users/"+u.ID, nil)
	var actions []string
	for _, ev := range e.auditEvents("target=" + u.ID) {
		actions = append(actions, ev.Action)
	}
	if want := []string{"admin.user.delete", "role.grant", "admin.user.create"}; !slices.Equal(actions, want) {
		t.Errorf("events of the deleted user = %v, want %v", actions, want)
	}
	wantRule(t, e.do(a, "DELETE", "/api/v1/users/"+a.userID, nil), 409, ruleSelfLockout)
}

func testCrossTenant(t *testing.T, e *env) {
	other := e.provision("globex")
	b := e.freshAdmin(other, "admin")
	// The same email in two tenants is two users.
	bu := e.roleID(e.admin, "Business User")
	var ua userJSON
	e.must(e.admin, 201, "POST", "/api/v1/users", map[string]any{"email": "shared@example.com", "kind": "service", "password": testPassword, "roles": []string{bu}}).decode(t, &ua)
	e.must(b, 201, "POST", "/api/v1/users", map[string]any{"email": "shared@example.com", "kind": "service", "password": testPassword,
		"roles": []string{e.roleID(b, "Business User")}})
	e.must(b, 404, "GET", "/api/v1/users/"+ua.ID, nil)
	e.must(b, 404, "PATCH", "/api/v1/users/"+ua.ID, map[string]any{"org_group": "x"})
	// Another tenant's role is unknown, also inside a body.
	wantRule(t, e.do(b, "POST", "/api/v1/users", map[string]any{"email": "z@example.com", "kind": "service", "password": testPassword, "roles": []string{bu}}), 400, ruleUnknownRole)
	var users listJSON[userJSON]
	e.must(b, 200, "GET", "/api/v1/users?limit=200", nil).decode(t, &users)
	for _, u := range users.Items {
		if u.ID == ua.ID || u.ID == e.admin.userID {
			t.Errorf("tenant B lists tenant A's user %s", u.UserName)
		}
	}
	var roles listJSON[roleJSON]
	e.must(b, 200, "GET", "/api/v1/roles", nil).decode(t, &roles)
	for _, ro := range roles.Items {
		if ro.ID == bu {
			t.Error("tenant B lists tenant A's role")
		}
	}
	for _, ev := range e.auditEvents("") {
		if ev.ActorID == b.userID {
			t.Errorf("tenant A's audit log holds tenant B's event %+v", ev)
		}
	}
}

func testChangesApplyAtOnce(t *testing.T, e *env) {
	a := e.admin
	var ps permissionSetJSON
	e.must(a, 201, "POST", "/api/v1/permission-sets", map[string]any{"name": "viewers", "permissions": []string{"view_table"}}).decode(t, &ps)
	var ro roleJSON
	e.must(a, 201, "POST", "/api/v1/roles", map[string]any{"name": "Viewers", "permission_set_ids": []string{ps.ID}}).decode(t, &ro)
	c := e.userWithRoles(e.tenant, "app@acme.example", ro.ID)
	check := func(p string) bool {
		var res checkResponse
		e.must(c, 200, "POST", "/api/v1/check", map[string]string{"permission": p}).decode(t, &res)
		return res.Allowed
	}
	if !check("view_table") || check("view_datamap") {
		t.Fatal("before: want view_table and not view_datamap")
	}
	e.must(a, 200, "PATCH", "/api/v1/permission-sets/"+ps.ID, map[string]any{"permissions": []string{"access_datamap_functionality"}})
	if check("view_table") || !check("view_datamap") || !check("delete_datamap") {
		t.Error("a permission set change did not apply on the next request")
	}
	e.must(a, 200, "PATCH", "/api/v1/roles/"+ro.ID, map[string]any{"permission_set_ids": []string{e.setID(a, "data_explorer")}})
	if !check("view_table") || check("delete_datamap") {
		t.Error("a role change did not apply on the next request")
	}
	wantRule(t, e.do(c, "POST", "/api/v1/check", map[string]string{"permission": "view_tabel"}), 400, rbac.RuleUnknownPermission)
}

func testRolesFromGroups(t *testing.T, e *env) {
	a := e.admin
	conn, tok := e.connection(a, "okta", storage.KindOkta)
	alice := e.scimUser(tok, "alice@acme.example")
	bu := e.roleID(a, "Business User")
	// Mapping off: an SSO user's roles are managed by hand.
	e.must(a, 200, "PATCH", "/api/v1/users/"+alice, map[string]any{"roles": []string{bu}})
	e.must(a, 200, "PATCH", "/api/v1/users/"+alice, map[string]any{"roles": []string{}})
	e.must(a, 200, "PATCH", "/api/v1/users/"+alice, map[string]any{"roles": []string{bu}})
	var c connectionJSON
	e.must(a, 200, "PATCH", "/api/v1/connections/"+conn.ID, map[string]any{"group_mapping": true}).decode(t, &c)
	if c.Sync == nil || c.Sync.Revoked != 1 {
		t.Errorf("switching mapping on: sync = %+v, want alice's manual role revoked", c.Sync)
	}
	wantRule(t, e.do(a, "PATCH", "/api/v1/users/"+alice, map[string]any{"roles": []string{bu}}), 409, ruleRolesFromGroups)
	wantRule(t, e.do(a, "POST", "/api/v1/users/"+alice+"/password", map[string]any{"password": testPassword}), 409, ruleNoPassword)
	// SSO users cannot sign in to the API with a password.
	wantRule(t, e.do(caller{}, "POST", "/api/v1/auth/token", map[string]string{"email": "alice@acme.example", "password": testPassword}), 401, ruleInvalidCredentials)
}
