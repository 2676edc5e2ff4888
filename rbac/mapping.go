package rbac

import "slices"

// MappingChange sets or clears the IdP group a role is mapped to on one connection.
type MappingChange struct {
	RoleID       string
	ConnectionID string
	// GroupID is the group to map the role to; "" removes the role's mapping on the connection.
	GroupID string
}

// CheckMappings checks a tenant's group→role mappings against the mapping rules and returns
// a *RuleError naming the first violation, in the order of ms:
//
//   - "mapping-incomplete": every mapping names a role, a connection and a group;
//   - "group-mapped-once": an IdP group (a group id of one connection) maps to at most one role;
//   - "role-one-group-per-connection": a role maps to at most one group per connection (it may
//     map to one group on each of several connections).
//
// Ids are compared exactly: group ids are the connection's keys for its groups (normalized
// names or stable ids), never display names.
func CheckMappings(ms []Mapping) error {
	type key struct{ a, b string }
	roleOf := make(map[key]string)  // (connection, group) → role
	groupOf := make(map[key]string) // (role, connection) → group
	for _, m := range ms {
		if err := checkMappingIDs(m.RoleID, m.ConnectionID); err != nil {
			return err
		}
		if m.GroupID == "" {
			return ruleErrorf(RuleMappingIncomplete, "the mapping of role %q on connection %q names no IdP group", m.RoleID, m.ConnectionID)
		}
		if r, ok := roleOf[key{m.ConnectionID, m.GroupID}]; ok {
			if r == m.RoleID {
				return ruleErrorf(RuleGroupMappedOnce, "IdP group %q of connection %q is mapped to role %q twice", m.GroupID, m.ConnectionID, r)
			}
			return ruleErrorf(RuleGroupMappedOnce, "IdP group %q of connection %q is mapped to role %q and to role %q; a group maps to at most one role",
				m.GroupID, m.ConnectionID, r, m.RoleID)
		}
		if g, ok := groupOf[key{m.RoleID, m.ConnectionID}]; ok {
			return ruleErrorf(RuleRoleOneGroupPerConnection, "role %q is mapped to IdP groups %q and %q of connection %q; a role maps to at most one group per connection",
				m.RoleID, g, m.GroupID, m.ConnectionID)
		}
		roleOf[key{m.ConnectionID, m.GroupID}] = m.RoleID
		groupOf[key{m.RoleID, m.ConnectionID}] = m.GroupID
	}
	return nil
}

func checkMappingIDs(roleID, connectionID string) error {
	switch {
	case roleID == "":
		return ruleErrorf(RuleMappingIncomplete, "a mapping on connection %q names no role", connectionID)
	case connectionID == "":
		return ruleErrorf(RuleMappingIncomplete, "the mapping of role %q names no connection", roleID)
	}
	return nil
}

// ApplyMapping returns ms with change applied; ms itself is not modified. Setting a group
// replaces the role's mapping on that connection (in place, or appended when the role had
// none); clearing removes it; either is a no-op when nothing changes. It fails, with a
// *RuleError, when the change names no role or connection, or when another role already
// holds the group ("group-mapped-once", naming that role), or when the result breaks any
// rule of CheckMappings.
func ApplyMapping(ms []Mapping, change MappingChange) ([]Mapping, error) {
	if err := checkMappingIDs(change.RoleID, change.ConnectionID); err != nil {
		return nil, err
	}
	set := change.GroupID != ""
	next := Mapping(change)
	out := make([]Mapping, 0, len(ms)+1)
	placed := false
	for _, m := range ms {
		if m.RoleID == change.RoleID && m.ConnectionID == change.ConnectionID {
			if set && !placed {
				out = append(out, next)
				placed = true
			}
			continue
		}
		if set && m.ConnectionID == change.ConnectionID && m.GroupID == change.GroupID {
			return nil, ruleErrorf(RuleGroupMappedOnce, "IdP group %q of connection %q is already mapped to role %q; a group maps to at most one role",
				change.GroupID, change.ConnectionID, m.RoleID)
		}
		out = append(out, m)
	}
	if set && !placed {
		out = append(out, next)
	}
	if err := CheckMappings(out); err != nil {
		return nil, err
	}
	return out, nil
}

// RolesFor returns the roles a user gets from group mapping on one connection: the roles of
// the mappings of connectionID whose group is in groupIDs, sorted, without duplicates.
func RolesFor(connectionID string, groupIDs []string, ms []Mapping) []string {
	in := make(map[string]bool, len(groupIDs))
	for _, g := range groupIDs {
		in[g] = true
	}
	var roles []string
	for _, m := range ms {
		if m.ConnectionID == connectionID && in[m.GroupID] {
			roles = append(roles, m.RoleID)
		}
	}
	slices.Sort(roles)
	return slices.Compact(roles)
}
