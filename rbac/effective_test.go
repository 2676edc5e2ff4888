package rbac

import (
	"slices"
	"testing"
)

func TestEffective(t *testing.T) {
	sets := map[string]PermissionSet{
		"ps-view":  {ID: "ps-view", Name: "viewer", Permissions: []Permission{ViewUser, ViewRole}},
		"ps-users": {ID: "ps-users", Name: "user admin", Permissions: []Permission{ViewUser, CreateUser, EditUser}},
		"ps-audit": {ID: "ps-audit", Name: "auditor", Permissions: []Permission{ViewAuditLog, ViewUser}},
		"ps-empty": {ID: "ps-empty", Name: "empty"},
	}
	tests := []struct {
		name  string
		roles []Role
		want  []Permission
	}{
		{"no roles allow nothing", nil, []Permission{}},
		{"a role with no sets allows nothing", []Role{{ID: "r"}}, []Permission{}},
		{"one role, one set", []Role{{ID: "r", PermissionSetIDs: []string{"ps-view"}}}, []Permission{ViewRole, ViewUser}},
		{"one role, overlapping sets", []Role{{ID: "r", PermissionSetIDs: []string{"ps-view", "ps-users"}}},
			[]Permission{CreateUser, EditUser, ViewRole, ViewUser}},
		{"union over roles with overlaps", []Role{
			{ID: "r1", PermissionSetIDs: []string{"ps-view", "ps-empty"}},
			{ID: "r2", PermissionSetIDs: []string{"ps-audit"}},
			{ID: "r3", PermissionSetIDs: []string{"ps-users", "ps-view"}},
		}, []Permission{CreateUser, EditUser, ViewAuditLog, ViewRole, ViewUser}},
		{"a set missing from the map grants nothing", []Role{{ID: "r", PermissionSetIDs: []string{"gone", "ps-audit"}}},
			[]Permission{ViewAuditLog, ViewUser}},
		{"sets are found by id, not name", []Role{{ID: "r", PermissionSetIDs: []string{"viewer"}}}, []Permission{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Effective(tt.roles, sets)
			if s := got.Sorted(); !slices.Equal(s, tt.want) || s == nil {
				t.Errorf("Sorted(): got %#v, want %v", s, tt.want)
			}
			for _, p := range tenantManagementPermissions() {
				if a, want := got.Allows(p), slices.Contains(tt.want, p); a != want {
					t.Errorf("Allows(%s): got %v, want %v", p, a, want)
				}
			}
		})
	}
}

func TestPermissions_zeroAndFalse(t *testing.T) {
	var none Permissions
	if none.Allows(ViewUser) || len(none.Sorted()) != 0 {
		t.Errorf("nil Permissions: got Allows %v, Sorted %v, want false, []", none.Allows(ViewUser), none.Sorted())
	}
	ps := Permissions{ViewUser: true, EditUser: false}
	if got, want := ps.Sorted(), []Permission{ViewUser}; !slices.Equal(got, want) {
		t.Errorf("Sorted with a false entry: got %v, want %v", got, want)
	}
	if ps.Allows(EditUser) {
		t.Errorf("Allows(EditUser) with a false entry: got true, want false")
	}
}

// Ensure only the tenant-management permissions a granter lacks stop a grant, each named once.
func TestCheckGrant(t *testing.T) {
	userAdmin := Permissions{ViewUser: true, CreateUser: true, EditUser: true, AssignRole: true}
	tests := []struct {
		name    string
		held    Permissions
		granted []Permission
		rule    string
		want    []string
	}{
		{"nothing granted", nil, nil, "", nil},
		{"what one holds", userAdmin, []Permission{ViewUser, EditUser}, "", nil},
		{"application permissions are not limited", nil, []Permission{"view_dashboard", "create_datamap"}, "", nil},
		{"one missing", userAdmin, []Permission{ViewUser, ManageIdP}, RuleNoEscalation, []string{`the permission "manage_idp"`}},
		{"several missing, sorted, each once", userAdmin,
			[]Permission{ViewAuditLog, CreateRole, ViewUser, CreateRole, "view_dashboard"}, RuleNoEscalation,
			[]string{`the permissions "create_role", "view_audit_log", which you do not hold`}},
		{"no roles hold nothing", nil, []Permission{ViewUser}, RuleNoEscalation, []string{`"view_user"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRule(t, "CheckGrant", CheckGrant(tt.held, tt.granted), tt.rule, tt.want...)
		})
	}
	for _, d := range TenantManagement().Permissions {
		if !IsTenantManagement(d.Name) {
			t.Errorf("IsTenantManagement(%q) = false", d.Name)
		}
	}
	if IsTenantManagement("view_dashboard") {
		t.Error(`IsTenantManagement("view_dashboard") = true`)
	}
}

// Ensure only a holder of every tenant-management permission of a user may act on them.
func TestCheckPowerOver(t *testing.T) {
	userAdmin := Permissions{ViewUser: true, EditUser: true, AssignRole: true}
	checkRule(t, "equal power", CheckPowerOver(userAdmin, "u", []Permission{ViewUser, EditUser}), "")
	checkRule(t, "application permissions", CheckPowerOver(nil, "u", []Permission{"view_datamap"}), "")
	checkRule(t, "stronger user", CheckPowerOver(userAdmin, "root@acme.example", []Permission{ViewUser, ManageIdP, CreateRole, ManageIdP}),
		RuleOutranked, `root@acme.example holds`, `"create_role", "manage_idp"`)
}
