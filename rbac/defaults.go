package rbac

import "slices"

// RoleSpec describes a role to create, its permission sets named rather than identified (the
// sets are created in the same step and have no ids yet).
type RoleSpec struct {
	Name           string
	Description    string
	PermissionSets []string // names of permission sets
}

// defaultSet is a default permission set as the reference platform describes it: names of
// permissions and areas of the default catalog.
type defaultSet struct {
	name, description string
	selects           []string
}

// The six example permission sets, taken from the capability lists of the reference platform,
// with three gaps of those lists closed so that each set does what its role's description
// promises: data_admin ("full data platform administration") and data_engineer ("create
// and maintain datamaps") get the datamap area, and data_steward, which may create, edit and
// delete data sources, may also view them.
func defaultSets() []defaultSet {
	explore := []string{"view_table", "view_table_data", "edit_table_metadata", "edit_tags", "edit_endorsements"}
	const dashboard = "access_system_dashboard_functionality"
	return []defaultSet{
		{
			name:        "tenant_admin",
			description: "Full administrative control over user and access management functions.",
			selects:     []string{TenantManagementArea},
		},
		{
			name:        "data_admin",
			description: "Comprehensive data platform administration and governance.",
			selects: concat(explore, []string{
				"access_datamap_functionality",
				"access_datasource_functionality",
				"access_domain_functionality",
				"access_marketplace_functionality",
				dashboard,
				"access_job_functionality",
			}),
		},
		{
			name:        "data_engineer",
			description: "Focused on Data Answer development and data asset creation.",
			selects: concat(explore, []string{"view_datamap", "create_datamap", "edit_datamap",
				"view_datasource", "edit_datasource", dashboard, "view_marketplace"}),
		},
		{
			name:        "data_steward",
			description: "Data quality, metadata management, and marketplace governance focused.",
			selects: concat(explore, []string{
				"view_datamap", "edit_datamap", "delete_datamap",
				"view_datasource", "create_datasource", "edit_datasource", "delete_datasource",
				dashboard,
				"access_marketplace_functionality",
			}),
		},
		{
			name:        "business_user",
			description: "Read and explore capabilities for business analysts and consumers.",
			selects:     concat(explore, []string{"view_datamap", dashboard, "view_marketplace"}),
		},
		{
			name:        "data_explorer",
			description: "Query and discovery focused permissions with enhanced access.",
			selects:     concat(explore, []string{"view_datamap", "view_datasource", dashboard, "view_marketplace"}),
		},
	}
}

func concat(a, b []string) []string { return append(slices.Clip(a), b...) }

// DefaultPermissionSets returns the six permission sets created with every tenant:
// tenant_admin, data_admin, data_engineer, data_steward, business_user and data_explorer,
// in that order, without ids. tenant_admin holds the whole tenant-management area. The
// others hold the application permissions of the reference platform's capability lists,
// mapped onto the default catalog. Each set holds only what c has (an area selects whatever c
// has under it), so a custom catalog yields valid sets, some perhaps empty. Permissions are
// sorted.
func DefaultPermissionSets(c Catalog) []PermissionSet {
	var out []PermissionSet
	for _, d := range defaultSets() {
		ps := []Permission{}
		for _, name := range d.selects {
			if got, err := c.Expand([]string{name}); err == nil {
				ps = append(ps, got...)
			}
		}
		slices.Sort(ps)
		out = append(out, PermissionSet{Name: d.name, Description: d.description, Permissions: slices.Compact(ps)})
	}
	return out
}

// DefaultRoles returns the four roles created with every tenant, each holding the default
// permission set of the same persona. data_steward and data_explorer are in no default role.
func DefaultRoles() []RoleSpec {
	return []RoleSpec{
		{
			Name: "Tenant Administrator",
			Description: "Manage tenant users, roles, and permission sets; view audit logs and monitor system activity. " +
				"Typical users: IT administrators, system owners.",
			PermissionSets: []string{"tenant_admin"},
		},
		{
			Name: "Data Administrator",
			Description: "Full data platform administration; data source and domain management; approve and publish marketplace content. " +
				"Typical users: data platform owners, chief data officers.",
			PermissionSets: []string{"data_admin"},
		},
		{
			Name: "Data Engineer",
			Description: "Create and maintain datamaps; build data pipelines and transformations; configure data sources; " +
				"manage table metadata and endorsements. Typical users: data engineers, analytics engineers.",
			PermissionSets: []string{"data_engineer"},
		},
		{
			Name: "Business User",
			Description: "Explore and query data; view reports and dashboards; access marketplace content; create basic analytical queries. " +
				"Typical users: business analysts, report consumers.",
			PermissionSets: []string{"business_user"},
		},
	}
}
