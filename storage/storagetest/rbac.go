package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

func (f fixture) permissionSet(name string, perms ...rbac.Permission) storage.PermissionSet {
	return storage.PermissionSet{ID: storage.NewID(), TenantID: f.tenant.ID, Name: name, Permissions: perms, CreatedAt: now, UpdatedAt: now}
}

func (f fixture) role(name string, sets ...string) storage.Role {
	return storage.Role{ID: storage.NewID(), TenantID: f.tenant.ID, Name: name, PermissionSetIDs: sets, CreatedAt: now, UpdatedAt: now}
}

func testPermissionSetsAndRoles(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	view := f.permissionSet("Viewers", "view_user", "view_role")
	admin := f.permissionSet("Admins", "create_user", "view_user")
	r := f.role("Tenant Administrator", view.ID, admin.ID)
	u := f.user("alice")
	createUsers(t, s, u)
	mustTx(t, s, func(tx storage.Tx) error {
		for _, ps := range []storage.PermissionSet{view, admin} {
			if err := tx.CreatePermissionSet(ctx, ps); err != nil {
				return err
			}
		}
		return tx.CreateRole(ctx, r)
	})
	var ce *storage.ConflictError
	err := s.Tx(ctx, func(tx storage.Tx) error { return tx.CreatePermissionSet(ctx, f.permissionSet("VIEWERS")) })
	if !errors.As(err, &ce) || ce.Constraint != storage.UniquePermissionSet {
		t.Errorf("duplicate set name ignoring case: %v", err)
	}
	err = s.Tx(ctx, func(tx storage.Tx) error { return tx.CreateRole(ctx, f.role("tenant administrator")) })
	if !errors.As(err, &ce) || ce.Constraint != storage.UniqueRoleName {
		t.Errorf("duplicate role name ignoring case: %v", err)
	}
	other := setup(t, s, "globex")
	foreign := other.permissionSet("Foreign", "view_user")
	mustTx(t, s, func(tx storage.Tx) error { return tx.CreatePermissionSet(ctx, foreign) })
	err = s.Tx(ctx, func(tx storage.Tx) error { return tx.CreateRole(ctx, f.role("Thief", foreign.ID)) })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a role holding another tenant's set: %v, want ErrNotFound", err)
	}

	got, err := s.PermissionSet(ctx, f.tenant.ID, view.ID)
	if err != nil || got.Name != "Viewers" || !slices.Equal(got.Permissions, []rbac.Permission{"view_role", "view_user"}) || got.Roles != 1 {
		t.Errorf("PermissionSet = %+v, %v", got, err)
	}
	if _, err := s.PermissionSet(ctx, other.tenant.ID, view.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a set read from another tenant: %v", err)
	}
	mustTx(t, s, func(tx storage.Tx) error {
		return tx.AssignRoles(ctx, f.tenant.ID, u.ID, []string{r.ID}, rbac.SourceManual, now)
	})
	perms, err := s.Permissions(ctx, f.tenant.ID, u.ID)
	if err != nil || !slices.Equal(perms, []rbac.Permission{"create_user", "view_role", "view_user"}) {
		t.Errorf("Permissions = %v, %v", perms, err)
	}
	for p, want := range map[rbac.Permission]bool{"create_user": true, "view_role": true, "delete_user": false} {
		if ok, err := s.HasPermission(ctx, f.tenant.ID, u.ID, p); err != nil || ok != want {
			t.Errorf("HasPermission(%s) = %v, %v", p, ok, err)
		}
	}
	if ok, _ := s.HasPermission(ctx, other.tenant.ID, u.ID, "create_user"); ok {
		t.Error("a permission granted through another tenant")
	}
	// An active holder of every permission asked, across the user's roles and sets.
	holder := func(tenantID string, perms ...rbac.Permission) bool {
		t.Helper()
		ok, err := s.HasActiveHolder(ctx, tenantID, perms)
		if err != nil {
			t.Fatalf("HasActiveHolder: %v", err)
		}
		return ok
	}
	if !holder(f.tenant.ID, "create_user", "view_role", "view_user", "view_user") || !holder(f.tenant.ID) {
		t.Error("HasActiveHolder: alice holds these")
	}
	if holder(f.tenant.ID, "create_user", "delete_user") || holder(other.tenant.ID, "view_user") {
		t.Error("HasActiveHolder: nobody active holds these")
	}
	// What the connection's users hold, among the permissions asked.
	cp, err := s.ConnectionPermissions(ctx, f.tenant.ID, f.conn.ID, []rbac.Permission{"view_user", "create_user", "delete_user"})
	if err != nil || !slices.Equal(cp, []rbac.Permission{"create_user", "view_user"}) {
		t.Errorf("ConnectionPermissions = %v, %v", cp, err)
	}
	if cp, err := s.ConnectionPermissions(ctx, f.tenant.ID, storage.NewID(), []rbac.Permission{"view_user"}); err != nil || len(cp) != 0 {
		t.Errorf("ConnectionPermissions of another connection = %v, %v", cp, err)
	}
	mustTx(t, s, func(tx storage.Tx) error { return tx.LockTenant(ctx, f.tenant.ID) })
	if err := s.Tx(ctx, func(tx storage.Tx) error { return tx.LockTenant(ctx, storage.NewID()) }); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("LockTenant of no tenant: %v", err)
	}
	u.Active, u.Version = false, 2
	mustTx(t, s, func(tx storage.Tx) error { return tx.UpdateUser(ctx, u) })
	if holder(f.tenant.ID, "view_user") {
		t.Error("HasActiveHolder counted a deactivated user")
	}
	u.Active, u.Version = true, 3
	mustTx(t, s, func(tx storage.Tx) error { return tx.UpdateUser(ctx, u) })
	// Changes to a set apply at once to every holder.
	mustTx(t, s, func(tx storage.Tx) error {
		admin.Permissions = []rbac.Permission{"delete_user"}
		admin.UpdatedAt = now.Add(time.Second)
		return tx.UpdatePermissionSet(ctx, admin)
	})
	if ok, _ := s.HasPermission(ctx, f.tenant.ID, u.ID, "delete_user"); !ok {
		t.Error("a permission added to a set is not effective")
	}
	if ok, _ := s.HasPermission(ctx, f.tenant.ID, u.ID, "create_user"); ok {
		t.Error("a permission removed from a set is still effective")
	}
	roles, err := s.Roles(ctx, f.tenant.ID)
	if err != nil || len(roles) != 1 || roles[0].Users != 1 || len(roles[0].PermissionSetIDs) != 2 {
		t.Errorf("Roles = %+v, %v", roles, err)
	}
	err = s.Tx(ctx, func(tx storage.Tx) error { return tx.DeletePermissionSet(ctx, f.tenant.ID, view.ID) })
	if !errors.Is(err, storage.ErrInUse) {
		t.Errorf("deleting a set a role holds: %v, want ErrInUse", err)
	}
	err = s.Tx(ctx, func(tx storage.Tx) error { return tx.DeleteRole(ctx, f.tenant.ID, r.ID) })
	if !errors.Is(err, storage.ErrInUse) {
		t.Errorf("deleting an assigned role: %v, want ErrInUse", err)
	}
	mustTx(t, s, func(tx storage.Tx) error {
		if err := tx.RevokeRoles(ctx, f.tenant.ID, u.ID, []string{r.ID}, rbac.SourceManual); err != nil {
			return err
		}
		r.PermissionSetIDs = []string{admin.ID}
		r.Name = "Admin"
		if err := tx.UpdateRole(ctx, r); err != nil {
			return err
		}
		return tx.DeletePermissionSet(ctx, f.tenant.ID, view.ID)
	})
	mustTx(t, s, func(tx storage.Tx) error { return tx.DeleteRole(ctx, f.tenant.ID, r.ID) })
	if _, err := s.Role(ctx, f.tenant.ID, r.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("role after delete: %v", err)
	}
	err = s.Tx(ctx, func(tx storage.Tx) error {
		return tx.AssignRoles(ctx, f.tenant.ID, u.ID, []string{"no-such-role"}, rbac.SourceManual, now)
	})
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("assigning an unknown role: %v", err)
	}
}

func testMappings(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	g1, g2 := f.group("g1"), f.group("g2")
	g2.SCIM, g2.SeenAtLogin = false, true
	r1, r2 := f.role("R1"), f.role("R2")
	mustTx(t, s, func(tx storage.Tx) error {
		for _, g := range []storage.Group{g1, g2} {
			if err := tx.CreateGroup(ctx, g); err != nil {
				return err
			}
		}
		for _, r := range []storage.Role{r1, r2} {
			if err := tx.CreateRole(ctx, r); err != nil {
				return err
			}
		}
		return tx.SetRoleMapping(ctx, f.tenant.ID, storage.RoleMapping{RoleID: r1.ID, ConnectionID: f.conn.ID, GroupID: g1.ID, CreatedAt: now})
	})
	var ce *storage.ConflictError
	err := s.Tx(ctx, func(tx storage.Tx) error {
		return tx.SetRoleMapping(ctx, f.tenant.ID, storage.RoleMapping{RoleID: r2.ID, ConnectionID: f.conn.ID, GroupID: g1.ID, CreatedAt: now})
	})
	if !errors.As(err, &ce) || ce.Constraint != storage.UniqueRoleMapping {
		t.Errorf("a group mapped to a second role: %v, want ConflictError(role mapping)", err)
	}
	// Re-mapping a role on the same connection replaces its mapping.
	mustTx(t, s, func(tx storage.Tx) error {
		return tx.SetRoleMapping(ctx, f.tenant.ID, storage.RoleMapping{RoleID: r1.ID, ConnectionID: f.conn.ID, GroupID: g2.ID, CreatedAt: now})
	})
	got, err := s.Role(ctx, f.tenant.ID, r1.ID)
	if err != nil || len(got.Mappings) != 1 || got.Mappings[0].GroupID != g2.ID {
		t.Errorf("role after re-mapping: %+v, %v", got, err)
	}
	g, _ := s.Group(ctx, f.scope, g2.ID)
	if g.MappedRoleID != r1.ID {
		t.Errorf("group's mapped role = %q, want %q", g.MappedRoleID, r1.ID)
	}
	page, err := s.Groups(ctx, f.scope, storage.Query{Limit: 10, Filter: storage.And{
		Left:  storage.Compare{Field: storage.FieldSeenAtLogin, Op: storage.OpEq, Value: true},
		Right: storage.Not{Filter: storage.Compare{Field: storage.FieldMapped, Op: storage.OpEq, Value: true}},
	}})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("unmapped login groups while g2 is mapped: %+v, %v", page.Items, err)
	}
	mustTx(t, s, func(tx storage.Tx) error { return tx.DeleteRoleMapping(ctx, f.tenant.ID, r1.ID, f.conn.ID) })
	page, _ = s.Groups(ctx, f.scope, storage.Query{Limit: 10, Filter: storage.And{
		Left:  storage.Compare{Field: storage.FieldSeenAtLogin, Op: storage.OpEq, Value: true},
		Right: storage.Not{Filter: storage.Compare{Field: storage.FieldMapped, Op: storage.OpEq, Value: true}},
	}})
	if len(page.Items) != 1 || page.Items[0].ID != g2.ID {
		t.Errorf("unmapped login groups = %+v, want g2", page.Items)
	}
	err = s.Tx(ctx, func(tx storage.Tx) error {
		return tx.SetRoleMapping(ctx, f.tenant.ID, storage.RoleMapping{RoleID: r1.ID, ConnectionID: storage.NewID(), GroupID: g1.ID, CreatedAt: now})
	})
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("mapping a group through a connection it is not of: %v", err)
	}
}

// testSyncRoles checks the bulk recomputation against rbac.Sync, the rules for one user.
func testSyncRoles(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	otherConn := storage.Connection{ID: storage.NewID(), TenantID: f.tenant.ID, Name: "entra", Kind: storage.KindEntra, CreatedAt: now, UpdatedAt: now}
	g1, g2, g3 := f.group("g1"), f.group("g2"), f.group("g3")
	r1, r2, r3, manual := f.role("R1"), f.role("R2"), f.role("R3"), f.role("Manual")
	a, b, c := f.user("a"), f.user("b"), f.user("c")
	direct := f.user("direct")
	direct.Auth = storage.AuthPassword
	service := f.user("service")
	service.Kind, service.Auth = storage.UserService, storage.AuthPassword
	foreign := f.user("foreign")
	foreign.ConnectionID = otherConn.ID
	users := []storage.User{a, b, c, direct, service, foreign}
	mustTx(t, s, func(tx storage.Tx) error {
		if err := tx.CreateConnection(ctx, otherConn); err != nil {
			return err
		}
		for _, u := range users {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		for _, g := range []storage.Group{g1, g2, g3} {
			if err := tx.CreateGroup(ctx, g); err != nil {
				return err
			}
		}
		for _, r := range []storage.Role{r1, r2, r3, manual} {
			if err := tx.CreateRole(ctx, r); err != nil {
				return err
			}
		}
		for _, m := range []struct{ g, r string }{{g1.ID, r1.ID}, {g2.ID, r2.ID}} {
			if err := tx.SetRoleMapping(ctx, f.tenant.ID, storage.RoleMapping{RoleID: m.r, ConnectionID: f.conn.ID, GroupID: m.g, CreatedAt: now}); err != nil {
				return err
			}
		}
		add := func(g storage.Group, us ...storage.User) error {
			var ids []string
			for _, u := range us {
				ids = append(ids, u.ID)
			}
			_, _, err := tx.AddMembers(ctx, storage.Scope{TenantID: f.tenant.ID}, g.ID, ids)
			return err
		}
		if err := add(g1, a, direct, service, foreign); err != nil {
			return err
		}
		if err := add(g2, a, b); err != nil {
			return err
		}
		// Manual roles everywhere, a stale idp role for c, and another connection's role for b.
		for _, u := range users {
			if err := tx.AssignRoles(ctx, f.tenant.ID, u.ID, []string{manual.ID}, rbac.SourceManual, now); err != nil {
				return err
			}
		}
		if err := tx.AssignRoles(ctx, f.tenant.ID, c.ID, []string{r3.ID}, rbac.SourceIdP(f.conn.ID), now); err != nil {
			return err
		}
		return tx.AssignRoles(ctx, f.tenant.ID, b.ID, []string{r3.ID}, rbac.SourceIdP(otherConn.ID), now)
	})
	// The reference: rbac.Sync per user.
	mappings := []rbac.Mapping{{RoleID: r1.ID, ConnectionID: f.conn.ID, GroupID: g1.ID}, {RoleID: r2.ID, ConnectionID: f.conn.ID, GroupID: g2.ID}}
	groupsOf := map[string][]string{a.ID: {g1.ID, g2.ID}, b.ID: {g2.ID}, direct.ID: {g1.ID}, service.ID: {g1.ID}, foreign.ID: {g1.ID}}
	want := map[string][]string{}
	wantGrants, wantRevokes := 0, 0
	for _, u := range users {
		before := assignments(t, s, f.tenant.ID, u.ID)
		subject := rbac.Subject{Kind: rbac.UserKind(u.Kind), Auth: rbac.AuthMethod(u.Auth), ConnectionID: u.ConnectionID}
		grant, revoke := rbac.Sync(subject, rbac.ConnectionPolicy{ID: f.conn.ID, GroupMapping: true}, before,
			rbac.RolesFor(f.conn.ID, groupsOf[u.ID], mappings))
		wantGrants += len(grant)
		wantRevokes += len(revoke)
		want[u.ID] = render(apply(before, grant, revoke))
	}
	audits := countAudit(t, s, f.tenant.ID)
	var granted, revoked int
	mustTx(t, s, func(tx storage.Tx) error {
		var err error
		granted, revoked, err = tx.SyncRoles(ctx, f.tenant.ID, f.conn.ID, nil, storage.AuditEvent{
			TenantID: f.tenant.ID, At: now, ActorType: "system", ActorID: "test", Cause: "mapping"})
		return err
	})
	if granted != wantGrants || revoked != wantRevokes {
		t.Errorf("SyncRoles granted %d and revoked %d, the reference %d and %d", granted, revoked, wantGrants, wantRevokes)
	}
	for _, u := range users {
		if got := render(assignments(t, s, f.tenant.ID, u.ID)); !slices.Equal(got, want[u.ID]) {
			t.Errorf("user %s after SyncRoles: %v, the reference says %v", u.UserName, got, want[u.ID])
		}
	}
	if n := countAudit(t, s, f.tenant.ID) - audits; n != wantGrants+wantRevokes {
		t.Errorf("SyncRoles wrote %d audit events for %d changes", n, wantGrants+wantRevokes)
	}
	// Idempotent.
	mustTx(t, s, func(tx storage.Tx) error {
		var err error
		granted, revoked, err = tx.SyncRoles(ctx, f.tenant.ID, f.conn.ID, nil, storage.AuditEvent{TenantID: f.tenant.ID, At: now})
		return err
	})
	if granted != 0 || revoked != 0 {
		t.Errorf("a second SyncRoles changed %d+%d assignments", granted, revoked)
	}
	// Preview of a mapping change: R2 moves from g2 to g3 (which has nobody): a and b lose R2.
	p, err := s.PreviewRoleSync(ctx, f.tenant.ID, f.conn.ID, &storage.RoleMapping{RoleID: r2.ID, GroupID: g3.ID}, 10)
	if err != nil || p.GainCount != 0 || p.LossCount != 2 || len(p.Losses) != 2 || p.Losses[0].RoleID != r2.ID {
		t.Errorf("preview = %+v, %v; want a and b to lose R2", p, err)
	}
	// ... and mapping g1 to R3 instead of R1 (a gains R3, loses R1).
	p, err = s.PreviewRoleSync(ctx, f.tenant.ID, f.conn.ID, &storage.RoleMapping{RoleID: r3.ID, GroupID: g1.ID}, 1)
	if err != nil || p.GainCount != 1 || p.LossCount != 1 || len(p.Gains) != 1 || p.Gains[0].UserID != a.ID || p.Gains[0].RoleID != r3.ID {
		t.Errorf("preview of moving g1 to R3 = %+v, %v", p, err)
	}
	// Listed users only.
	mustTx(t, s, func(tx storage.Tx) error {
		if err := tx.AssignRoles(ctx, f.tenant.ID, b.ID, []string{manual.ID}, rbac.SourceManual, now); err != nil {
			return err
		}
		if err := tx.AssignRoles(ctx, f.tenant.ID, a.ID, []string{manual.ID}, rbac.SourceManual, now); err != nil {
			return err
		}
		_, revoked, err = tx.SyncRoles(ctx, f.tenant.ID, f.conn.ID, []string{b.ID}, storage.AuditEvent{TenantID: f.tenant.ID, At: now})
		return err
	})
	if revoked != 1 || !slices.Contains(render(assignments(t, s, f.tenant.ID, a.ID)), manual.ID+"/manual") {
		t.Errorf("a sync of b touched others (revoked %d)", revoked)
	}
	// Switching mapping off releases the connection's roles to manual ones.
	var released int
	mustTx(t, s, func(tx storage.Tx) error {
		var err error
		released, err = tx.ReleaseRoles(ctx, f.tenant.ID, f.conn.ID, storage.AuditEvent{TenantID: f.tenant.ID, At: now})
		return err
	})
	if released != 3 {
		t.Errorf("released %d assignments, want 3 (a: R1 R2, b: R2)", released)
	}
	for _, as := range assignments(t, s, f.tenant.ID, a.ID) {
		if as.Source != rbac.SourceManual {
			t.Errorf("after release a holds %v", as)
		}
	}
}

func assignments(t *testing.T, s storage.Store, tenantID, userID string) []rbac.Assignment {
	t.Helper()
	ras, err := s.UserRoles(t.Context(), tenantID, userID)
	if err != nil {
		t.Fatal(err)
	}
	var out []rbac.Assignment
	for _, ra := range ras {
		out = append(out, rbac.Assignment{RoleID: ra.RoleID, Source: ra.Source})
	}
	return out
}

func apply(before, grant, revoke []rbac.Assignment) []rbac.Assignment {
	var out []rbac.Assignment
	for _, a := range before {
		if !slices.Contains(revoke, a) {
			out = append(out, a)
		}
	}
	return append(out, grant...)
}

// render names assignments by role name and source kind, sorted, for comparison.
func render(as []rbac.Assignment) []string {
	var out []string
	for _, a := range as {
		src := "manual"
		if a.Source.Connection() != "" {
			src = "idp"
		}
		out = append(out, fmt.Sprintf("%s/%s", a.RoleID, src))
	}
	sort.Strings(out)
	return out
}

func countAudit(t *testing.T, s storage.Store, tenantID string) int {
	t.Helper()
	n := 0
	if err := s.AuditEvents(t.Context(), tenantID, storage.AuditQuery{}, func(storage.AuditEvent) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func testSessions(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	u := f.user("alice")
	u.Values = []storage.Value{{Attr: "emails", Value: "alice@example.com", Type: "work"}}
	createUsers(t, s, u)
	live := storage.Session{IDHash: []byte("live-hash"), Kind: storage.SessionAPI, TenantID: f.tenant.ID, UserID: u.ID,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastSeenAt: now}
	expired := live
	expired.IDHash, expired.ExpiresAt = []byte("old-hash"), now.Add(-time.Second)
	mustTx(t, s, func(tx storage.Tx) error {
		if err := tx.CreateSession(ctx, live); err != nil {
			return err
		}
		return tx.CreateSession(ctx, expired)
	})
	if got, err := s.Session(ctx, live.IDHash, now); err != nil || got.UserID != u.ID || got.Kind != storage.SessionAPI {
		t.Errorf("Session = %+v, %v", got, err)
	}
	if _, err := s.Session(ctx, expired.IDHash, now); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("expired session: %v", err)
	}
	mustTx(t, s, func(tx storage.Tx) error {
		n, err := tx.DeleteExpiredSessions(ctx, now)
		if err == nil && n != 1 {
			err = fmt.Errorf("DeleteExpiredSessions removed %d, want the expired one", n)
		}
		if err == nil {
			var c storage.Connection
			if c, err = tx.LockConnection(ctx, f.tenant.ID, f.conn.ID); err == nil && c.ID != f.conn.ID {
				err = fmt.Errorf("LockConnection = %+v", c)
			}
		}
		return err
	})
	// Deactivation ends every session at once, also through UpdateUserRow, which leaves the
	// multi-valued rows as stored whatever u.Values holds.
	mustTx(t, s, func(tx storage.Tx) error {
		l, err := tx.LockUser(ctx, f.scope, u.ID)
		if err != nil {
			return err
		}
		l.Active, l.Values = false, nil
		return tx.UpdateUserRow(ctx, l)
	})
	if _, err := s.Session(ctx, live.IDHash, now); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("session after deactivation: %v", err)
	}
	if got, err := s.User(ctx, f.scope, u.ID); err != nil || got.Active || len(got.Values) != 1 || got.Values[0].Value != "alice@example.com" {
		t.Errorf("after UpdateUserRow: %+v, %v; want inactive with its email kept", got, err)
	}
	users, err := s.UsersByUserName(ctx, "ALICE")
	if err != nil || len(users) != 1 || users[0].ID != u.ID {
		t.Errorf("UsersByUserName = %v, %v", users, err)
	}
}
