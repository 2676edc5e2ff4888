package rbac

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func mustLoadCatalog(t *testing.T, file string) Catalog {
	t.Helper()
	c, err := LoadCatalog(strings.NewReader(file))
	if err != nil {
		t.Fatalf("LoadCatalog: %v", err)
	}
	return c
}

// nested is a catalog file with nested areas, used by several tests.
const nested = `{"areas": [
	{"name": "access_reports", "description": "Reports",
	 "permissions": [{"name": "view_report", "description": "View reports"}],
	 "areas": [
		{"name": "report_editing", "permissions": [{"name": "edit_report"}, {"name": "delete_report"}],
		 "areas": [{"name": "report_sharing", "permissions": [{"name": "share_report"}]}]}
	 ]},
	{"name": "access_alerts", "permissions": [{"name": "view_alert"}]}
]}`

func tenantManagementPermissions() []Permission {
	return []Permission{
		CreateUser, EditUser, DeleteUser, ViewUser,
		CreateRole, EditRole, DeleteRole, ViewRole, AssignRole,
		CreatePermissionSet, EditPermissionSet, DeletePermissionSet, ViewPermissionSet,
		ViewAuditLog, ManageIdP,
	}
}

func TestLoadCatalog(t *testing.T) {
	c := mustLoadCatalog(t, nested)
	var areas []string
	for _, a := range c.Areas {
		areas = append(areas, a.Name)
	}
	if want := []string{TenantManagementArea, "access_reports", "access_alerts"}; !slices.Equal(areas, want) {
		t.Errorf("top-level areas: got %v, want %v", areas, want)
	}
	want := append(tenantManagementPermissions(), "view_report", "edit_report", "delete_report", "share_report", "view_alert")
	if got := c.Permissions(); !slices.Equal(got, want) {
		t.Errorf("Permissions(): got %v, want %v (tree order)", got, want)
	}
	if got := c.Areas[1].Areas[0].Areas[0].Permissions[0].Name; got != "share_report" {
		t.Errorf("nested area's permission: got %q, want %q", got, "share_report")
	}
	for _, tt := range []struct {
		p    Permission
		want bool
	}{
		{CreateUser, true},
		{ManageIdP, true},
		{"view_report", true},
		{"share_report", true},
		{"view_alert", true},
		{"access_reports", false},
		{"view_table", false},
		{"", false},
	} {
		if got := c.Has(tt.p); got != tt.want {
			t.Errorf("Has(%q): got %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestLoadCatalog_emptyFileHasTheBuiltInArea(t *testing.T) {
	for _, file := range []string{`{}`, `{"areas": []}`, `{"areas": null}`} {
		c := mustLoadCatalog(t, file)
		if got, want := c.Permissions(), tenantManagementPermissions(); !slices.Equal(got, want) {
			t.Errorf("LoadCatalog(%s).Permissions(): got %v, want %v", file, got, want)
		}
	}
}

func area(name string, perms ...string) string {
	var ps []string
	for _, p := range perms {
		ps = append(ps, fmt.Sprintf(`{"name": %q}`, p))
	}
	return fmt.Sprintf(`{"name": %q, "permissions": [%s]}`, name, strings.Join(ps, ","))
}

func areas(as ...string) string { return `{"areas": [` + strings.Join(as, ",") + `]}` }

func TestLoadCatalog_errors(t *testing.T) {
	deep := area("level_9", "p")
	for i := 8; i >= 1; i-- {
		deep = fmt.Sprintf(`{"name": "level_%d", "areas": [%s]}`, i, deep)
	}
	var many []string
	for i := range maxPermissions + 1 {
		many = append(many, fmt.Sprintf("p%d", i))
	}
	tests := []struct {
		name string
		file string
		want []string // in the message
	}{
		{"not JSON", `{"areas": [`, []string{"catalog:"}},
		{"not an object", `[]`, []string{"catalog:"}},
		{"unknown field", `{"areas": [{"name": "a", "permisions": []}]}`, []string{`"permisions"`}},
		{"data after the object", `{"areas": []} {}`, []string{"after the catalog"}},
		{"built-in area redefined", areas(area(TenantManagementArea, "create_user")), []string{TenantManagementArea, "built in"}},
		{"built-in area nested", areas(`{"name": "outer", "areas": [` + area(TenantManagementArea, "x") + `]}`),
			[]string{`area "outer/access_tenant_management_functionality"`, `already used by area "access_tenant_management_functionality"`}},
		{"built-in permission redefined", areas(area("access_people", "create_user")),
			[]string{`permission "create_user" of area "access_people"`, `area "access_tenant_management_functionality"`}},
		{"duplicate permission across areas", areas(area("access_a", "view_x"), area("access_b", "view_x")),
			[]string{`permission "view_x" of area "access_b"`, `already used by the permission "view_x" of area "access_a"`}},
		{"duplicate permission in one area", areas(area("access_a", "view_x", "view_x")), []string{`"view_x"`, `area "access_a"`}},
		{"duplicate permission in a nested area", areas(`{"name": "access_a", "permissions": [{"name": "p"}], "areas": [` + area("sub", "p") + `]}`),
			[]string{`permission "p" of area "access_a/sub"`}},
		{"duplicate area", areas(area("access_a", "p1"), area("access_a", "p2")), []string{`area "access_a"`, "already used"}},
		{"area and permission share a name", areas(area("access_a", "access_b"), area("access_b", "p")),
			[]string{`area "access_b"`, `the permission "access_b" of area "access_a"`}},
		{"upper-case area name", areas(area("Access_A", "p")), []string{`area "Access_A"`, "lower-case"}},
		{"area name with a hyphen", areas(area("access-a", "p")), []string{`area "access-a"`}},
		{"permission name starting with a digit", areas(area("access_a", "1view")), []string{`permission "access_a/1view"`}},
		{"permission name with a space", areas(area("access_a", "view x")), []string{`permission "access_a/view x"`}},
		{"unnamed area", areas(`{"permissions": [{"name": "p"}]}`), []string{"top-level area has no name"}},
		{"unnamed permission", areas(`{"name": "access_a", "permissions": [{"description": "?"}]}`), []string{`permission in area "access_a" has no name`}},
		{"name too long", areas(area("a"+strings.Repeat("x", maxNameBytes), "p")), []string{"longer than 100 bytes"}},
		{"description too long", areas(`{"name": "access_a", "description": "` + strings.Repeat("é", maxDescriptionLen+1) + `", "permissions": [{"name": "p"}]}`),
			[]string{`area "access_a"`, "description"}},
		{"empty area", areas(area("access_a", "p"), `{"name": "access_empty"}`), []string{`area "access_empty" holds no permissions and no areas`}},
		{"too deep", areas(deep), []string{"level_9", "nested more than 8 deep"}},
		{"too many permissions", areas(area("access_a", many...)), []string{"more than 10000 permissions", fmt.Sprintf(`"p%d"`, maxPermissions-len(tenantManagementPermissions()))}},
		{"too large", `{"areas": []}` + strings.Repeat(" ", maxCatalogBytes), []string{"larger than"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadCatalog(strings.NewReader(tt.file))
			checkRule(t, "LoadCatalog", err, RuleInvalidCatalog, tt.want...)
			if c.Areas != nil {
				t.Errorf("LoadCatalog: got %d areas with the error, want none", len(c.Areas))
			}
		})
	}
}

func TestCatalog_Expand(t *testing.T) {
	c := mustLoadCatalog(t, nested)
	tests := []struct {
		name    string
		names   []string
		want    []Permission
		unknown []string // named by the error
	}{
		{"nothing", nil, []Permission{}, nil},
		{"one permission", []string{"view_alert"}, []Permission{"view_alert"}, nil},
		{"an area selects its permissions and nested areas'", []string{"access_reports"},
			[]Permission{"delete_report", "edit_report", "share_report", "view_report"}, nil},
		{"a nested area selects only its subtree", []string{"report_editing"},
			[]Permission{"delete_report", "edit_report", "share_report"}, nil},
		{"the built-in area", []string{TenantManagementArea}, sortedPermissions(tenantManagementPermissions()), nil},
		{"overlaps are deduplicated and the result sorted", []string{"view_report", "report_sharing", "access_reports", "view_report", "access_alerts"},
			[]Permission{"delete_report", "edit_report", "share_report", "view_alert", "view_report"}, nil},
		{"unknown names are an error naming each", []string{"view_alert", "nope", "access_nothing", "nope"}, nil, []string{`"access_nothing"`, `"nope"`}},
		{"names are matched exactly", []string{"View_Alert"}, nil, []string{`"View_Alert"`}},
		{"empty name is unknown", []string{""}, nil, []string{`""`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Expand(tt.names)
			if tt.unknown != nil {
				checkRule(t, fmt.Sprintf("Expand(%q)", tt.names), err, RuleUnknownPermission, tt.unknown...)
				if got != nil {
					t.Errorf("Expand(%q): got %v with the error, want nil", tt.names, got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) || got == nil {
				t.Errorf("Expand(%q): got %#v, %v, want %v, nil", tt.names, got, err, tt.want)
			}
		})
	}
}

func sortedPermissions(ps []Permission) []Permission {
	ps = slices.Clone(ps)
	slices.Sort(ps)
	return ps
}

func TestDefaultCatalog(t *testing.T) {
	c := DefaultCatalog()
	var names []string
	for _, a := range c.Areas {
		names = append(names, a.Name)
	}
	wantAreas := []string{
		TenantManagementArea,
		"access_data_explorer_functionality",
		"access_datamap_functionality",
		"access_datasource_functionality",
		"access_domain_functionality",
		"access_marketplace_functionality",
		"access_system_dashboard_functionality",
		"access_job_functionality",
	}
	if !slices.Equal(names, wantAreas) {
		t.Errorf("areas: got %v, want %v", names, wantAreas)
	}
	for _, p := range []Permission{
		"view_table", "view_table_data", "edit_table_metadata", "edit_tags", "edit_endorsements",
		"view_datamap", "create_datamap", "edit_datamap", "delete_datamap",
		"view_datasource", "create_datasource", "edit_datasource", "delete_datasource",
		"view_domain", "create_domain", "edit_domain", "delete_domain",
		"view_marketplace", "publish_marketplace", "approve_marketplace",
		"view_system_dashboard", "schedule_job", "manage_job",
	} {
		if !c.Has(p) {
			t.Errorf("Has(%q): got false, want true", p)
		}
	}
	for _, a := range c.Areas {
		if a.Description == "" {
			t.Errorf("area %q: got no description, want one", a.Name)
		}
		for _, p := range a.Permissions {
			if p.Description == "" {
				t.Errorf("permission %q: got no description, want one", p.Name)
			}
		}
	}
}

func TestCatalog_JSON(t *testing.T) {
	c := mustLoadCatalog(t, areas(`{"name": "access_a", "areas": [`+area("sub", "p")+`]}`))
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	got := string(b)
	for _, want := range []string{
		`{"areas":[{"name":"access_tenant_management_functionality","description":"`,
		`{"name":"create_user","description":"Create local users"}`,
		`{"name":"access_a","description":"","permissions":[],"areas":[{"name":"sub","description":"","permissions":[{"name":"p","description":""}],"areas":[]}]}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Marshal: got %s, want it to contain %s", got, want)
		}
	}
	if strings.Contains(got, "null") {
		t.Errorf("Marshal: got %s, want no null", got)
	}
	if b, _ := json.Marshal(Catalog{}); string(b) != `{"areas":[]}` {
		t.Errorf("Marshal(Catalog{}): got %s, want %s", b, `{"areas":[]}`)
	}

	// The JSON is the file format: without the built-in area, it loads back as the same catalog.
	var back Catalog
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	back.Areas = back.Areas[1:]
	b2, _ := json.Marshal(back)
	again := mustLoadCatalog(t, string(b2))
	if b3, _ := json.Marshal(again); string(b3) != got {
		t.Errorf("round trip: got %s, want %s", b3, got)
	}
}
