package rbac

import (
	"slices"
	"testing"
)

func TestDefaultPermissionSets_defaultCatalog(t *testing.T) {
	explore := []Permission{"edit_endorsements", "edit_table_metadata", "edit_tags", "view_table", "view_table_data"}
	dashboard := Permission("view_system_dashboard")
	want := map[string][]Permission{
		"tenant_admin": tenantManagementPermissions(),
		"data_admin": append(slices.Clone(explore),
			"view_datamap", "create_datamap", "edit_datamap", "delete_datamap",
			"view_datasource", "create_datasource", "edit_datasource", "delete_datasource",
			"view_domain", "create_domain", "edit_domain", "delete_domain",
			"view_marketplace", "publish_marketplace", "approve_marketplace",
			dashboard, "schedule_job", "manage_job"),
		"data_engineer": append(slices.Clone(explore), "view_datamap", "create_datamap", "edit_datamap",
			"view_datasource", "edit_datasource", dashboard, "view_marketplace"),
		"data_steward": append(slices.Clone(explore),
			"view_datamap", "edit_datamap", "delete_datamap",
			"view_datasource", "create_datasource", "edit_datasource", "delete_datasource",
			dashboard, "view_marketplace", "publish_marketplace", "approve_marketplace"),
		"business_user": append(slices.Clone(explore), "view_datamap", dashboard, "view_marketplace"),
		"data_explorer": append(slices.Clone(explore), "view_datamap", "view_datasource", dashboard, "view_marketplace"),
	}
	c := DefaultCatalog()
	sets := DefaultPermissionSets(c)
	var names []string
	for _, s := range sets {
		names = append(names, s.Name)
		if got, want := s.Permissions, sortedPermissions(want[s.Name]); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", s.Name, got, want)
		}
		if s.Description == "" || s.ID != "" {
			t.Errorf("%s: got description %q and id %q, want a description and no id", s.Name, s.Description, s.ID)
		}
		checkRule(t, "CheckName("+s.Name+")", CheckName("permission set", s.Name), "")
	}
	if want := []string{"tenant_admin", "data_admin", "data_engineer", "data_steward", "business_user", "data_explorer"}; !slices.Equal(names, want) {
		t.Errorf("set names: got %v, want %v", names, want)
	}
}

// Every name a default set selects exists in the default catalog: DefaultPermissionSets
// drops what a catalog lacks, which must not hide a typo.
func TestDefaultSets_selectOnlyDefaultCatalogNames(t *testing.T) {
	c := DefaultCatalog()
	for _, d := range defaultSets() {
		if _, err := c.Expand(d.selects); err != nil {
			t.Errorf("%s: got %v, want every name in the default catalog", d.name, err)
		}
	}
}

func TestDefaultPermissionSets_onlyCatalogPermissions(t *testing.T) {
	tests := []struct {
		name    string
		catalog Catalog
		want    map[string][]Permission // sets not listed must be empty
	}{
		{
			name:    "default catalog",
			catalog: DefaultCatalog(),
		},
		{
			name: "custom catalog keeps what it has of the selected areas and permissions",
			catalog: mustLoadCatalog(t, areas(
				area("access_datamap_functionality", "view_datamap", "export_datamap"),
				area("access_marketplace_functionality", "view_marketplace"),
				area("access_other", "view_table_data", "view_other"),
			)),
			want: map[string][]Permission{
				"tenant_admin":  tenantManagementPermissions(),
				"data_admin":    {"export_datamap", "view_datamap", "view_marketplace", "view_table_data"},
				"data_engineer": {"view_datamap", "view_marketplace", "view_table_data"},
				"data_steward":  {"view_datamap", "view_marketplace", "view_table_data"},
				"business_user": {"view_datamap", "view_marketplace", "view_table_data"},
				"data_explorer": {"view_datamap", "view_marketplace", "view_table_data"},
			},
		},
		{
			name:    "catalog file with no areas: only tenant_admin holds anything",
			catalog: mustLoadCatalog(t, `{}`),
			want:    map[string][]Permission{"tenant_admin": tenantManagementPermissions()},
		},
		{
			name:    "zero catalog: every set empty",
			catalog: Catalog{},
			want:    map[string][]Permission{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sets := DefaultPermissionSets(tt.catalog)
			if len(sets) != 6 {
				t.Fatalf("got %d sets, want 6", len(sets))
			}
			for _, s := range sets {
				checkRule(t, s.Name+": CheckPermissions", CheckPermissions(tt.catalog, s.Permissions), "")
				if s.Permissions == nil {
					t.Errorf("%s: got nil permissions, want a non-nil slice", s.Name)
				}
				if tt.want == nil {
					continue
				}
				if got, want := s.Permissions, sortedPermissions(tt.want[s.Name]); !slices.Equal(got, want) {
					t.Errorf("%s: got %v, want %v", s.Name, got, want)
				}
			}
		})
	}
}

func TestDefaultPermissionSets_tenantAdminHoldsTenantManagement(t *testing.T) {
	for _, c := range []Catalog{DefaultCatalog(), mustLoadCatalog(t, nested)} {
		all, err := c.Expand([]string{TenantManagementArea})
		if err != nil {
			t.Fatal(err)
		}
		sets := DefaultPermissionSets(c)
		if got := sets[0]; got.Name != "tenant_admin" || !slices.Equal(got.Permissions, all) {
			t.Errorf("first set: got %s %v, want tenant_admin %v", got.Name, got.Permissions, all)
		}
		if len(all) != len(tenantManagementPermissions()) {
			t.Errorf("tenant-management area: got %v, want %v", all, tenantManagementPermissions())
		}
		// No other default set grants administration.
		for _, s := range sets[1:] {
			for _, p := range s.Permissions {
				if slices.Contains(all, p) {
					t.Errorf("%s: got %s, want no tenant-management permission", s.Name, p)
				}
			}
		}
	}
}

func TestDefaultRoles(t *testing.T) {
	roles := DefaultRoles()
	want := []RoleSpec{
		{Name: "Tenant Administrator", PermissionSets: []string{"tenant_admin"}},
		{Name: "Data Administrator", PermissionSets: []string{"data_admin"}},
		{Name: "Data Engineer", PermissionSets: []string{"data_engineer"}},
		{Name: "Business User", PermissionSets: []string{"business_user"}},
	}
	if len(roles) != len(want) {
		t.Fatalf("got %d roles, want %d", len(roles), len(want))
	}
	sets := make(map[string]bool)
	for _, s := range DefaultPermissionSets(DefaultCatalog()) {
		sets[s.Name] = true
	}
	for i, r := range roles {
		if r.Name != want[i].Name || !slices.Equal(r.PermissionSets, want[i].PermissionSets) {
			t.Errorf("role %d: got %s %v, want %s %v", i, r.Name, r.PermissionSets, want[i].Name, want[i].PermissionSets)
		}
		if r.Description == "" {
			t.Errorf("%s: got no description, want one", r.Name)
		}
		checkRule(t, "CheckName("+r.Name+")", CheckName("role", r.Name), "")
		for _, s := range r.PermissionSets {
			if !sets[s] {
				t.Errorf("%s: got permission set %q, want one of the default sets", r.Name, s)
			}
		}
	}
}
