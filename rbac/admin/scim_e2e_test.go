package admin

import (
	"slices"
	"testing"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

func patchMembers(op, path string, ids ...string) map[string]any {
	o := map[string]any{"op": op, "path": path}
	if ids != nil {
		vs := []any{}
		for _, id := range ids {
			vs = append(vs, map[string]any{"value": id})
		}
		o["value"] = vs
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": []any{o}}
}

func hasRole(u userDetailJSON, roleID string, source rbac.Source) bool {
	return slices.ContainsFunc(u.Roles, func(a assignmentJSON) bool { return a.ID == roleID && a.Source == source })
}

// Ensure the SCIM → role path works end to end: a group pushed over SCIM is mapped through
// the admin API; pushing a member grants the role at once, removing it revokes the role at
// once, with audit events naming their cause; and a mapping preview predicts what applying
// the mapping does.
func TestSCIMToRole(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s storage.Store) {
		e := newEnv(t, s)
		a := e.admin
		conn, tok := e.connection(a, "okta", storage.KindOkta)
		src := rbac.SourceIdP(conn.ID)

		group := e.scimGroup(tok, "Data Engineers")
		alice := e.scimUser(tok, "alice@acme.example")

		var groups listJSON[groupJSON]
		e.must(a, 200, "GET", "/api/v1/connections/"+conn.ID+"/groups", nil).decode(t, &groups)
		if len(groups.Items) != 1 {
			t.Fatalf("groups = %+v", groups.Items)
		}
		if g := groups.Items[0]; g.ID != group || g.DisplayName != "Data Engineers" || g.NormalizedName != "data_engineers" ||
			!g.SCIM || g.SeenAtLogin || g.MappedRole != nil || g.UnusualName {
			t.Errorf("registered group = %+v", g)
		}

		var ps permissionSetJSON
		e.must(a, 201, "POST", "/api/v1/permission-sets", map[string]any{"name": "pipelines",
			"permissions": []string{"access_datamap_functionality"}}).decode(t, &ps)
		var ro roleJSON
		e.must(a, 201, "POST", "/api/v1/roles", map[string]any{"name": "Pipeline Builder", "permission_set_ids": []string{ps.ID}}).decode(t, &ro)
		var m mappingResultJSON
		e.must(a, 200, "PUT", "/api/v1/roles/"+ro.ID+"/mappings/"+conn.ID, map[string]string{"group": "data engineers"}).decode(t, &m)
		if m.AppliedNow || !m.Changed {
			t.Errorf("mapping with group mapping off = %+v, want changed, not applied", m)
		}
		e.must(a, 200, "PATCH", "/api/v1/connections/"+conn.ID, map[string]any{"group_mapping": true})

		// Pushing the member grants the role at once.
		e.scimMust(tok, 204, "PATCH", "/Groups/"+group, patchMembers("add", "members", alice))
		u := e.user(alice)
		if !hasRole(u, ro.ID, src) || !slices.Contains(u.Permissions, "create_datamap") {
			t.Fatalf("after the push: roles %+v, permissions %v: want %s from %s and create_datamap", u.Roles, u.Permissions, ro.Name, src)
		}
		if len(u.Groups) != 1 || u.Groups[0].ID != group || u.Groups[0].DisplayName != "Data Engineers" {
			t.Errorf("after the push: the user's groups are %+v, want Data Engineers", u.Groups)
		}
		grants := e.auditEvents("action=role.grant&target=" + alice)
		if len(grants) != 1 || grants[0].Cause != "scim" || grants[0].ActorID != conn.ID {
			t.Errorf("grant events = %+v, want one caused by scim, by the connection", grants)
		}

		// Removing it revokes the role at once, audited.
		e.scimMust(tok, 204, "PATCH", "/Groups/"+group, patchMembers("remove", `members[value eq "`+alice+`"]`))
		u = e.user(alice)
		if len(u.Roles) != 0 || len(u.Permissions) != 0 || len(u.Groups) != 0 {
			t.Errorf("after the removal: roles %+v, permissions %v, groups %+v, want none", u.Roles, u.Permissions, u.Groups)
		}
		revokes := e.auditEvents("action=role.revoke&target=" + alice)
		if len(revokes) != 1 || revokes[0].Cause != "scim" || revokes[0].ActorType != "connection" {
			t.Errorf("revoke events = %+v, want one caused by scim", revokes)
		}

		// A preview predicts what applying a mapping does.
		bob := e.scimUser(tok, "bob@acme.example")
		carol := e.scimUser(tok, "carol@acme.example")
		analysts := e.scimGroup(tok, "Analysts", alice, bob)
		bu := e.roleID(a, "Business User")
		var pv previewJSON
		e.must(a, 200, "POST", "/api/v1/roles/"+bu+"/mappings/"+conn.ID+"/preview", map[string]string{"group_id": analysts}).decode(t, &pv)
		if !pv.AppliesNow || pv.GainCount != 2 || pv.LossCount != 0 || pv.Truncated {
			t.Errorf("preview = %+v, want alice and bob to gain Business User", pv)
		}
		var gainers []string
		for _, g := range pv.Gains {
			if g.RoleID != bu || g.RoleName != "Business User" || g.Source != src {
				t.Errorf("gain %+v", g)
			}
			gainers = append(gainers, g.UserName)
		}
		slices.Sort(gainers)
		if !slices.Equal(gainers, []string{"alice@acme.example", "bob@acme.example"}) {
			t.Errorf("gainers = %v", gainers)
		}
		e.must(a, 200, "PUT", "/api/v1/roles/"+bu+"/mappings/"+conn.ID, map[string]string{"group_id": analysts}).decode(t, &m)
		if !m.AppliedNow || m.Granted != pv.GainCount || m.Revoked != pv.LossCount {
			t.Errorf("applied %+v, previewed %+v", m, pv)
		}
		for _, g := range pv.Gains {
			u = e.user(g.UserID)
			if !hasRole(u, bu, src) {
				t.Errorf("%s did not gain what the preview said: %+v", g.UserName, u.Roles)
			}
			ev := e.auditEvents("action=role.grant&target=" + g.UserID)
			if len(ev) == 0 || ev[0].Cause != "mapping" || ev[0].ActorID != a.userID {
				t.Errorf("%s: grant events %+v, want the latest caused by the mapping, by the admin", g.UserName, ev)
			}
		}
		// Removing the mapping is previewed and applied alike.
		e.must(a, 200, "POST", "/api/v1/roles/"+bu+"/mappings/"+conn.ID+"/preview", map[string]any{"remove": true}).decode(t, &pv)
		e.must(a, 200, "DELETE", "/api/v1/roles/"+bu+"/mappings/"+conn.ID, nil).decode(t, &m)
		if pv.LossCount != 2 || m.Revoked != 2 {
			t.Errorf("removing the mapping: previewed %d losses, revoked %d; want 2", pv.LossCount, m.Revoked)
		}
		// Switching mapping off hands the roles to administrators.
		e.scimMust(tok, 204, "PATCH", "/Groups/"+group, patchMembers("add", "members", carol))
		var c connectionJSON
		e.must(a, 200, "PATCH", "/api/v1/connections/"+conn.ID, map[string]any{"group_mapping": false}).decode(t, &c)
		if c.Sync == nil || c.Sync.Released != 1 {
			t.Errorf("switching off: sync = %+v, want carol's role released", c.Sync)
		}
		u = e.user(carol)
		if !hasRole(u, ro.ID, rbac.SourceManual) {
			t.Errorf("carol after release: %+v, want %s as a manual role", u.Roles, ro.Name)
		}
	})
}
