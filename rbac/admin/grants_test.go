package admin

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// Ensure no administrator can hand out tenant-management permissions they do not hold, by any
// of the four ways a permission reaches a user, and that a refusal changes nothing; and that
// application permissions and what the caller holds pass.
func TestNoEscalation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s storage.Store) {
		e := newEnv(t, s)
		tenantAdmin, business := e.roleID(e.admin, "Tenant Administrator"), e.roleID(e.admin, "Business User")
		adminSet, businessSet := e.setID(e.admin, "tenant_admin"), e.setID(e.admin, "business_user")
		refused := func(c caller, method, path string, body any, missing ...string) {
			t.Helper()
			r := e.do(c, method, path, body)
			if r.status != 403 || r.rule() != rbac.RuleNoEscalation {
				t.Errorf("%s %s: %d %s, want 403 %s", method, path, r.status, r.body, rbac.RuleNoEscalation)
				return
			}
			for _, m := range missing {
				if !strings.Contains(r.message(), `"`+m+`"`) {
					t.Errorf("%s %s: message %q does not name %q", method, path, r.message(), m)
				}
			}
		}
		const pw = "Str0ng!Passw0rd"

		// Assigning roles: a user manager holds no role-management permissions.
		mgr := e.callerWith(e.tenant, "user manager", rbac.ViewUser, rbac.CreateUser, rbac.EditUser, rbac.AssignRole, rbac.ViewRole)
		refused(mgr, "POST", "/api/v1/users", map[string]any{"email": "boss@acme.example", "kind": "service", "password": pw,
			"roles": []string{business, tenantAdmin}}, "create_role", "manage_idp", "view_audit_log")
		if r := e.do(e.admin, "GET", "/api/v1/users?filter=boss", nil); strings.Contains(string(r.body), "boss@acme.example") {
			t.Errorf("a refused create left the user: %s", r.body)
		}
		var analyst userDetailJSON
		e.must(mgr, 201, "POST", "/api/v1/users", map[string]any{"email": "analyst@acme.example", "kind": "human", "password": pw,
			"roles": []string{business}}).decode(t, &analyst)
		refused(mgr, "PATCH", "/api/v1/users/"+analyst.ID, map[string]any{"roles": []string{tenantAdmin}}, "delete_role")
		if got := e.user(analyst.ID); len(got.Roles) != 1 || got.Roles[0].ID != business {
			t.Errorf("the analyst's roles after a refused change: %+v", got.Roles)
		}
		if r := e.do(mgr, "PATCH", "/api/v1/users/"+mgr.userID, map[string]any{"roles": []string{business}}); r.status != 409 || r.rule() != ruleSelfLockout {
			t.Errorf("changing one's own roles: %d %s", r.status, r.body)
		}

		// Acting on a stronger user: take over, lock out or remove an administrator.
		outranked := func(c caller, method, path string, body any) {
			t.Helper()
			if r := e.do(c, method, path, body); r.status != 403 || r.rule() != rbac.RuleOutranked || !strings.Contains(r.message(), `"manage_idp"`) {
				t.Errorf("%s %s: %d %s, want 403 %s", method, path, r.status, r.body, rbac.RuleOutranked)
			}
		}
		admin := "/api/v1/users/" + e.admin.userID
		outranked(mgr, "POST", admin+"/password", map[string]any{"password": "Takeover1!x"})
		outranked(mgr, "PATCH", admin, map[string]any{"active": false})
		outranked(mgr, "PATCH", admin, map[string]any{"roles": []string{business}})
		deleter := e.callerWith(e.tenant, "deleter", rbac.ViewUser, rbac.DeleteUser)
		outranked(deleter, "DELETE", admin, nil)
		if got := e.user(e.admin.userID); !got.Active || len(got.Roles) != 1 || got.Roles[0].ID != tenantAdmin {
			t.Errorf("the administrator after refused changes: %+v", got)
		}
		e.must(e.admin, 200, "GET", "/api/v1/me", nil) // the password still works, the token too
		// Users no stronger than the caller are theirs to manage.
		e.must(mgr, 200, "PATCH", "/api/v1/users/"+analyst.ID, map[string]any{"active": false})
		e.must(mgr, 204, "POST", "/api/v1/users/"+analyst.ID+"/password", map[string]any{"password": "An0ther!Passw0rd"})
		e.must(deleter, 204, "DELETE", "/api/v1/users/"+analyst.ID, nil)

		// Putting permission sets in roles.
		roler := e.callerWith(e.tenant, "role editor", rbac.ViewRole, rbac.CreateRole, rbac.EditRole, rbac.ViewPermissionSet)
		refused(roler, "POST", "/api/v1/roles", map[string]any{"name": "Shadow admin", "permission_set_ids": []string{adminSet}}, "manage_idp")
		var ro roleJSON
		e.must(roler, 201, "POST", "/api/v1/roles", map[string]any{"name": "Analysts", "permission_set_ids": []string{businessSet}}).decode(t, &ro)
		refused(roler, "PATCH", "/api/v1/roles/"+ro.ID, map[string]any{"permission_set_ids": []string{businessSet, adminSet}}, "assign_role")
		// Taking sets away from holders is refused as granting them is; a change of anything
		// else is not a grant, whatever the role holds.
		refused(roler, "PATCH", "/api/v1/roles/"+tenantAdmin, map[string]any{"permission_set_ids": []string{}}, "manage_idp")
		e.must(roler, 200, "PATCH", "/api/v1/roles/"+tenantAdmin, map[string]any{"description": "Runs the tenant"})
		e.must(roler, 200, "PATCH", "/api/v1/roles/"+ro.ID, map[string]any{"permission_set_ids": []string{}})

		// Putting permissions in permission sets.
		setter := e.callerWith(e.tenant, "set editor", rbac.ViewPermissionSet, rbac.CreatePermissionSet, rbac.EditPermissionSet)
		refused(setter, "POST", "/api/v1/permission-sets", map[string]any{"name": "sneaky", "permissions": []string{"view_datamap", "manage_idp"}}, "manage_idp")
		refused(setter, "POST", "/api/v1/permission-sets", map[string]any{"name": "sneakier", "permissions": []string{rbac.TenantManagementArea}}, "create_user")
		refused(setter, "PATCH", "/api/v1/permission-sets/"+businessSet, map[string]any{"permissions": []string{"view_datamap", "view_audit_log"}}, "view_audit_log")
		e.must(setter, 201, "POST", "/api/v1/permission-sets", map[string]any{"name": "dashboards", "permissions": []string{"view_datamap", "edit_permission_set"}})
		e.must(setter, 200, "PATCH", "/api/v1/permission-sets/"+adminSet, map[string]any{"description": "everything"})
		refused(setter, "PATCH", "/api/v1/permission-sets/"+adminSet, map[string]any{"permissions": []string{"view_permission_set", "create_permission_set", "edit_permission_set"}}, "manage_idp")

		// Mapping an IdP group to a role hands the role to the group's members.
		conn, token := e.connection(e.admin, "okta", storage.KindOkta)
		g := e.scimGroup(token, "Engineering")
		idp := e.callerWith(e.tenant, "idp admin", rbac.ManageIdP, rbac.ViewRole)
		refused(idp, "PUT", "/api/v1/roles/"+tenantAdmin+"/mappings/"+conn.ID, map[string]any{"group_id": g}, "create_user")
		e.must(idp, 200, "PUT", "/api/v1/roles/"+business+"/mappings/"+conn.ID, map[string]any{"group_id": g})
		e.must(idp, 201, "POST", "/api/v1/connections/"+conn.ID+"/tokens", nil)
		// Once a connection confers an administrator role, controlling it is administering:
		// its tokens push members into the mapped group, its sign-in says who is who.
		admins := e.scimGroup(token, "IT Admins")
		e.must(e.admin, 200, "PUT", "/api/v1/roles/"+tenantAdmin+"/mappings/"+conn.ID, map[string]any{"group_id": admins})
		refused(idp, "POST", "/api/v1/connections/"+conn.ID+"/tokens", nil, "create_user")
		refused(idp, "PATCH", "/api/v1/connections/"+conn.ID, map[string]any{"oidc": map[string]any{"issuer": "https://evil.example"}}, "create_user")
		refused(idp, "DELETE", "/api/v1/roles/"+tenantAdmin+"/mappings/"+conn.ID, nil, "create_user")
		var tokens listJSON[tokenJSON]
		e.must(e.admin, 200, "GET", "/api/v1/connections/"+conn.ID+"/tokens", nil).decode(t, &tokens)
		refused(idp, "DELETE", "/api/v1/connections/"+conn.ID+"/tokens/"+tokens.Items[0].ID, nil, "create_user")
		e.must(e.admin, 201, "POST", "/api/v1/connections/"+conn.ID+"/tokens", nil)

		// A connection's tokens change and delete its users: one whose user holds an
		// administrator role by hand is as much out of reach as one with a mapped role.
		var c2 connectionJSON
		e.must(idp, 201, "POST", "/api/v1/connections", map[string]any{"name": "side", "kind": "generic"}).decode(t, &c2)
		var tk newTokenJSON
		e.must(idp, 201, "POST", "/api/v1/connections/"+c2.ID+"/tokens", nil).decode(t, &tk)
		x := e.scimUser(tk.Token, "x@acme.example")
		e.must(e.admin, 200, "PATCH", "/api/v1/users/"+x, map[string]any{"roles": []string{tenantAdmin}})
		refused(idp, "PATCH", "/api/v1/connections/"+c2.ID, map[string]any{"group_mapping": true}, "create_user")
		refused(idp, "POST", "/api/v1/connections/"+c2.ID+"/tokens", nil, "create_user")

		// The refusals left no trace but their answers; the Tenant Administrator may do it all.
		for _, c := range []caller{mgr, roler, setter, idp} {
			for _, ev := range e.auditEvents("actor=" + c.userID) {
				if ev.Action == "admin.user.create" && strings.Contains(string(ev.After), "boss@") ||
					ev.Action == "admin.role.create" && strings.Contains(string(ev.After), "Shadow") ||
					ev.Action == "admin.permission_set.create" && strings.Contains(string(ev.After), "sneak") {
					t.Errorf("audit event of a refused change: %+v", ev)
				}
			}
		}
		e.must(e.admin, 201, "POST", "/api/v1/roles", map[string]any{"name": "Second admin", "permission_set_ids": []string{adminSet}})
	})
}

// Ensure no change through the API, however strong its caller, leaves the tenant without an
// active user holding every tenant-management permission.
func TestLastAdministrator(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s storage.Store) {
		e := newEnv(t, s)
		tenantAdmin, adminSet := e.roleID(e.admin, "Tenant Administrator"), e.setID(e.admin, "tenant_admin")
		last := func(c caller, method, path string, body any) {
			t.Helper()
			if r := e.do(c, method, path, body); r.status != 409 || r.rule() != ruleLastAdministrator {
				t.Errorf("%s %s: %d %s, want 409 %s", method, path, r.status, r.body, ruleLastAdministrator)
			}
		}
		last(e.admin, "PATCH", "/api/v1/permission-sets/"+adminSet, map[string]any{"permissions": []string{"view_user"}})
		last(e.admin, "PATCH", "/api/v1/roles/"+tenantAdmin, map[string]any{"permission_set_ids": []string{}})
		second := e.freshAdmin(e.tenant, "second")
		last(second, "PATCH", "/api/v1/permission-sets/"+adminSet, map[string]any{"permissions": []string{"view_user"}})
		// With two administrators, either may remove the other, but not the last.
		e.must(second, 200, "PATCH", "/api/v1/users/"+e.admin.userID, map[string]any{"active": false})
		e.must(e.admin, 401, "GET", "/api/v1/me", nil) // deactivation ended the session
		third := e.callerWith(e.tenant, "helper", rbac.ViewUser, rbac.EditUser, rbac.DeleteUser, rbac.AssignRole, rbac.ViewRole)
		if r := e.do(third, "DELETE", "/api/v1/users/"+second.userID, nil); r.status != 403 {
			t.Errorf("a weaker user deleting the last administrator: %d %s", r.status, r.body)
		}
		e.must(second, 200, "PATCH", "/api/v1/users/"+e.admin.userID, map[string]any{"active": true})
		e.must(second, 204, "DELETE", "/api/v1/users/"+e.admin.userID, nil)
		last(second, "PATCH", "/api/v1/roles/"+tenantAdmin, map[string]any{"permission_set_ids": []string{}})
		var me struct {
			Permissions []rbac.Permission `json:"permissions"`
		}
		e.must(second, 200, "GET", "/api/v1/me", nil).decode(t, &me)
		if len(me.Permissions) != len(rbac.TenantManagement().Permissions) {
			t.Errorf("the last administrator's permissions: %v", me.Permissions)
		}
	})
}

// Ensure two administrators deactivating each other at the same moment cannot both succeed.
func TestLastAdministratorConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s storage.Store) {
		e := newEnv(t, s)
		for round := range 8 {
			a := e.freshAdmin(e.tenant, fmt.Sprintf("a%d", round))
			b := e.freshAdmin(e.tenant, fmt.Sprintf("b%d", round))
			// Only a and b are active full administrators this round.
			e.must(a, 200, "PATCH", "/api/v1/users/"+e.admin.userID, map[string]any{"active": false})
			var wg sync.WaitGroup
			codes := make([]int, 2)
			for i, pair := range [][2]caller{{a, b}, {b, a}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i] = e.do(pair[0], "PATCH", "/api/v1/users/"+pair[1].userID, map[string]any{"active": false}).status
				}()
			}
			wg.Wait()
			if codes[0] == 200 && codes[1] == 200 {
				t.Fatalf("round %d: both administrators deactivated each other", round)
			}
			ok, err := s.HasActiveHolder(t.Context(), e.tenant.ID, tenantManagement())
			if err != nil || !ok {
				t.Fatalf("round %d: no active administrator left (%v); answers %v", round, err, codes)
			}
			// Back to one administrator the next round starts from.
			e.admin = e.freshAdmin(e.tenant, fmt.Sprintf("admin%d", round))
			for _, c := range []caller{a, b} {
				if r := e.do(e.admin, "DELETE", "/api/v1/users/"+c.userID, nil); r.status != 204 {
					t.Fatalf("round %d: cleanup: %d %s", round, r.status, r.body)
				}
			}
		}
	})
}
