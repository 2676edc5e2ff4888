package rbac

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// TenantManagementArea is the built-in functional area of the permissions that guard the admin
// API. Every catalog holds it; a catalog file may not define it.
const TenantManagementArea = "access_tenant_management_functionality"

// The permissions of the built-in tenant-management area.
const (
	CreateUser          Permission = "create_user"
	EditUser            Permission = "edit_user"
	DeleteUser          Permission = "delete_user"
	ViewUser            Permission = "view_user"
	CreateRole          Permission = "create_role"
	EditRole            Permission = "edit_role"
	DeleteRole          Permission = "delete_role"
	ViewRole            Permission = "view_role"
	AssignRole          Permission = "assign_role"
	CreatePermissionSet Permission = "create_permission_set"
	EditPermissionSet   Permission = "edit_permission_set"
	DeletePermissionSet Permission = "delete_permission_set"
	ViewPermissionSet   Permission = "view_permission_set"
	ViewAuditLog        Permission = "view_audit_log"
	// ManageIdP covers IdP connections, their OIDC settings, SCIM tokens and group mappings.
	ManageIdP Permission = "manage_idp"
)

// Limits of a catalog. A catalog is configuration, read once at start; the limits only keep a
// wrong file from costing memory or producing a tree no administrator could use.
const (
	maxCatalogBytes   = 1 << 20
	maxNameBytes      = 100
	maxDescriptionLen = 1000 // runes
	maxAreaDepth      = 8
	maxAreas          = 1000
	maxPermissions    = 10000
)

var catalogName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// PermissionDef is a permission of a catalog, with the description an administrator reads
// when choosing it.
type PermissionDef struct {
	Name        Permission `json:"name"`
	Description string     `json:"description"`
}

// Area is a functional area of a catalog: permissions and nested areas. Selecting an area
// selects every permission under it.
type Area struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Permissions []PermissionDef `json:"permissions"`
	Areas       []Area          `json:"areas"`
}

// MarshalJSON writes empty lists as [] rather than null, so that clients walking the tree
// need no special case.
func (a Area) MarshalJSON() ([]byte, error) {
	type plain Area // without this method
	p := plain(a)
	if p.Permissions == nil {
		p.Permissions = []PermissionDef{}
	}
	if p.Areas == nil {
		p.Areas = []Area{}
	}
	return json.Marshal(p)
}

// Catalog is the tree of functional areas whose leaves are the permissions a tenant's
// permission sets can hold. Its JSON form is the catalog file's format, so it can be served
// as is to a UI that draws the tree.
type Catalog struct {
	Areas []Area `json:"areas"`
}

// MarshalJSON writes an empty catalog's areas as [] rather than null.
func (c Catalog) MarshalJSON() ([]byte, error) {
	type plain Catalog
	p := plain(c)
	if p.Areas == nil {
		p.Areas = []Area{}
	}
	return json.Marshal(p)
}

// TenantManagement returns the built-in tenant-management area.
func TenantManagement() Area {
	return Area{
		Name:        TenantManagementArea,
		Description: "User and role administration: users, roles, permission sets, identity providers and the audit log",
		Permissions: []PermissionDef{
			{CreateUser, "Create local users"},
			{EditUser, "Edit users: roles, org group, activation, password reset"},
			{DeleteUser, "Delete users"},
			{ViewUser, "View users"},
			{CreateRole, "Create roles"},
			{EditRole, "Edit roles and their permission sets"},
			{DeleteRole, "Delete roles"},
			{ViewRole, "View roles"},
			{AssignRole, "Assign roles to users and remove them"},
			{CreatePermissionSet, "Create permission sets"},
			{EditPermissionSet, "Edit permission sets"},
			{DeletePermissionSet, "Delete permission sets"},
			{ViewPermissionSet, "View permission sets and the permission catalog"},
			{ViewAuditLog, "View and export the audit log"},
			{ManageIdP, "Manage identity provider connections: OIDC settings, SCIM tokens, group mapping"},
		},
	}
}

//go:embed catalog/default.json
var defaultCatalogJSON string

// DefaultCatalog returns the catalog used when no catalog file is configured: the built-in
// tenant-management area and the example application areas of Rollcall's reference platform
// (data explorer, datamaps, data sources, domains, marketplace, system dashboard, jobs).
func DefaultCatalog() Catalog {
	c, err := LoadCatalog(strings.NewReader(defaultCatalogJSON))
	if err != nil {
		panic("rbac: embedded default catalog: " + err.Error()) // a test guards the file
	}
	return c
}

// LoadCatalog reads a catalog file, JSON of the form
//
//	{"areas": [{"name": "…", "description": "…",
//	            "permissions": [{"name": "…", "description": "…"}],
//	            "areas": [ …nested areas… ]}]}
//
// and returns the catalog of its areas after the built-in tenant-management area. Names
// match ^[a-z][a-z0-9_]*$ and are at most 100 bytes; every name, area or permission, is
// unique in the whole tree (so that a name given to Expand means one thing); every area holds
// at least one permission or area; the file may not define the built-in area or its
// permissions; unknown fields are errors. The file, the depth of the tree and the numbers of
// areas and permissions are bounded. An invalid file is a *RuleError (rule "invalid-catalog")
// that names the offending entry; only a failing reader gives another error.
func LoadCatalog(r io.Reader) (Catalog, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxCatalogBytes+1))
	if err != nil {
		return Catalog{}, fmt.Errorf("catalog: %w", err)
	}
	if len(data) > maxCatalogBytes {
		return Catalog{}, catalogErrorf("the file is larger than %d bytes", maxCatalogBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var file Catalog
	if err := dec.Decode(&file); err != nil {
		return Catalog{}, catalogErrorf("%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Catalog{}, catalogErrorf("unexpected data after the catalog object")
	}
	for _, a := range file.Areas {
		if a.Name == TenantManagementArea {
			return Catalog{}, catalogErrorf("area %q is built in and may not be defined by a catalog file", a.Name)
		}
	}
	c := Catalog{Areas: append([]Area{TenantManagement()}, file.Areas...)}
	if err := c.validate(); err != nil {
		return Catalog{}, err
	}
	return c, nil
}

func catalogErrorf(format string, args ...any) *RuleError {
	return ruleErrorf(RuleInvalidCatalog, "catalog: "+format, args...)
}

// validate checks the rules LoadCatalog documents.
func (c Catalog) validate() error {
	// where records the path of the area that holds each name, areas marked by a trailing "/".
	where := make(map[string]string)
	var areas, perms int
	var walk func(as []Area, parent string, depth int) error
	walk = func(as []Area, parent string, depth int) error {
		for _, a := range as {
			path := parent + a.Name
			if err := checkCatalogEntry("area", a.Name, parent, a.Description); err != nil {
				return err
			}
			if depth > maxAreaDepth {
				return catalogErrorf("area %q is nested more than %d deep", path, maxAreaDepth)
			}
			if areas++; areas > maxAreas {
				return catalogErrorf("more than %d areas (at area %q)", maxAreas, path)
			}
			if prev, dup := where[a.Name]; dup {
				return catalogErrorf("area %q: the name %q is already used by %s", path, a.Name, describeName(a.Name, prev))
			}
			where[a.Name] = path + "/"
			if len(a.Permissions) == 0 && len(a.Areas) == 0 {
				return catalogErrorf("area %q holds no permissions and no areas", path)
			}
			for _, p := range a.Permissions {
				name := string(p.Name)
				if err := checkCatalogEntry("permission", name, path+"/", p.Description); err != nil {
					return err
				}
				if perms++; perms > maxPermissions {
					return catalogErrorf("more than %d permissions (at permission %q of area %q)", maxPermissions, name, path)
				}
				if prev, dup := where[name]; dup {
					return catalogErrorf("permission %q of area %q: the name is already used by %s", name, path, describeName(name, prev))
				}
				where[name] = path
			}
			if err := walk(a.Areas, path+"/", depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(c.Areas, "", 1)
}

// describeName says what already holds a name, from its record in validate's map.
func describeName(name, at string) string {
	if area, ok := strings.CutSuffix(at, "/"); ok {
		return fmt.Sprintf("area %q", area)
	}
	return fmt.Sprintf("the permission %q of area %q", name, at)
}

func checkCatalogEntry(kind, name, parent, description string) error {
	switch {
	case name == "":
		if parent == "" {
			return catalogErrorf("a top-level %s has no name", kind)
		}
		return catalogErrorf("a %s in area %q has no name", kind, strings.TrimSuffix(parent, "/"))
	case len(name) > maxNameBytes:
		return catalogErrorf("%s %q: the name is longer than %d bytes", kind, parent+name, maxNameBytes)
	case !catalogName.MatchString(name):
		return catalogErrorf("%s %q: a name is a lower-case letter followed by lower-case letters, digits and _", kind, parent+name)
	case utf8.RuneCountInString(description) > maxDescriptionLen:
		return catalogErrorf("%s %q: the description is longer than %d characters", kind, parent+name, maxDescriptionLen)
	}
	return nil
}

// Has reports whether p is a permission of the catalog.
func (c Catalog) Has(p Permission) bool {
	found := false
	c.walk(func(_ []string, def PermissionDef) {
		found = found || def.Name == p
	})
	return found
}

// Permissions returns every permission of the catalog in tree order: an area's own
// permissions, then those of its areas, depth first, areas in the order they are listed.
func (c Catalog) Permissions() []Permission {
	var ps []Permission
	c.walk(func(_ []string, def PermissionDef) { ps = append(ps, def.Name) })
	return ps
}

// Expand turns a selection of names into permissions. A name is a permission or an area,
// which selects every permission under it (including its nested areas). The result is sorted
// and has no duplicates. Names are matched exactly. Unknown names are an error, a *RuleError
// (rule "unknown-permission") that lists them.
func (c Catalog) Expand(names []string) ([]Permission, error) {
	under := make(map[string][]Permission) // area or permission name → the permissions it selects
	c.walk(func(areas []string, def PermissionDef) {
		under[string(def.Name)] = []Permission{def.Name}
		for _, a := range areas {
			under[a] = append(under[a], def.Name)
		}
	})
	out := []Permission{}
	var unknown []string
	for _, n := range names {
		ps, ok := under[n]
		if !ok {
			unknown = append(unknown, n)
			continue
		}
		out = append(out, ps...)
	}
	if len(unknown) > 0 {
		return nil, unknownPermissions("unknown permission or area", unknown)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// walk calls f with every permission of the catalog in tree order, and the names of the
// areas that hold it, outermost first.
func (c Catalog) walk(f func(areas []string, def PermissionDef)) {
	var rec func(as []Area, path []string)
	rec = func(as []Area, path []string) {
		for _, a := range as {
			p := append(path[:len(path):len(path)], a.Name)
			for _, def := range a.Permissions {
				f(p, def)
			}
			rec(a.Areas, p)
		}
	}
	rec(c.Areas, nil)
}

// unknownPermissions is the "unknown-permission" error naming each of names once, sorted.
func unknownPermissions(what string, names []string) *RuleError {
	names = slices.Clone(names)
	slices.Sort(names)
	names = slices.Compact(names)
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return ruleErrorf(RuleUnknownPermission, "%s: %s", what, strings.Join(quoted, ", "))
}
