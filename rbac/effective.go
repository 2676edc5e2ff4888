package rbac

import (
	"slices"
	"strings"
)

// Permissions is a set of permissions. The zero value is an empty set that allows nothing.
type Permissions map[Permission]bool

// Effective returns a user's effective permissions: the union of the permissions of every
// permission set of every role in roles. sets holds permission sets by ID, the ids that
// Role.PermissionSetIDs name; a set missing from it grants nothing.
func Effective(roles []Role, sets map[string]PermissionSet) Permissions {
	out := make(Permissions)
	for _, r := range roles {
		for _, id := range r.PermissionSetIDs {
			for _, p := range sets[id].Permissions {
				out[p] = true
			}
		}
	}
	return out
}

// Allows reports whether p is in the set.
func (ps Permissions) Allows(p Permission) bool { return ps[p] }

// Sorted returns the permissions of the set in ascending order.
func (ps Permissions) Sorted() []Permission {
	out := []Permission{}
	for p, ok := range ps {
		if ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// IsTenantManagement reports whether p is a permission of the built-in tenant-management
// area: power over the tenant's users, roles, identity providers and audit log.
func IsTenantManagement(p Permission) bool {
	return slices.ContainsFunc(TenantManagement().Permissions, func(d PermissionDef) bool { return d.Name == p })
}

// CheckGrant checks that an administrator holding held may hand out granted: by assigning a
// role, mapping an IdP group to it, or putting permissions into a role or permission set that
// others hold or will. Tenant-management permissions may be handed out only by someone who
// holds them, so that no administrator can raise anyone (themselves included, through a role
// they hold or a group they are in) above their own power over the tenant. Application
// permissions are what administrators manage for others, and are not limited.
func CheckGrant(held Permissions, granted []Permission) error {
	missing := lacking(held, granted)
	if len(missing) == 0 {
		return nil
	}
	what := "the permission " + quoted(missing)[0] + ", which you do not hold"
	if len(missing) > 1 {
		what = "the permissions " + strings.Join(quoted(missing), ", ") + ", which you do not hold"
	}
	return ruleErrorf(RuleNoEscalation, "this would hand out or take away %s: an administrator can grant or withdraw only the tenant-management permissions they have", what)
}

// CheckPowerOver checks that an administrator holding held may change or remove a user
// holding target (their roles, activity, password, or the user itself): only someone who
// holds every tenant-management permission the user holds may, so that a narrow permission
// (edit_user, assign_role, delete_user) cannot take over or lock out a stronger administrator.
func CheckPowerOver(held Permissions, userName string, target []Permission) error {
	missing := lacking(held, target)
	if len(missing) == 0 {
		return nil
	}
	return ruleErrorf(RuleOutranked, "%s holds tenant-management permissions you do not (%s); only an administrator who holds them can change or remove this user",
		userName, strings.Join(quoted(missing), ", "))
}

// lacking returns, sorted and each once, the tenant-management permissions of ps that held
// does not include.
func lacking(held Permissions, ps []Permission) []string {
	var missing []string
	for _, p := range ps {
		if IsTenantManagement(p) && !held[p] && !slices.Contains(missing, string(p)) {
			missing = append(missing, string(p))
		}
	}
	slices.Sort(missing)
	return missing
}

func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = `"` + s + `"`
	}
	return out
}
