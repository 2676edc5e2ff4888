package rbac

import "slices"

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
