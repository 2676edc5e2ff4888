package rbac

import (
	"cmp"
	"slices"
)

// ConnectionPolicy is what the role sync needs to know about an IdP connection.
type ConnectionPolicy struct {
	ID string
	// GroupMapping is the connection's group mapping switch.
	GroupMapping bool
}

// Sync decides how a role sync changes a user's role assignments. It is the reference for
// every place that syncs roles, whether at sign-in, on a SCIM group push, or in bulk in SQL:
// their results must equal Sync's. Given the user s, the connection whose groups changed, the
// user's current assignments (all sources), and mapped, the roles the user's groups of that
// connection map to (see RolesFor), the rules are:
//
//  1. Only a human SSO user of that very connection is ever touched (s.Kind == Human,
//     s.Auth == SSO, s.ConnectionID == conn.ID, and conn.ID is not empty). Direct-auth
//     humans, service users and SSO users of other connections get nothing to grant or revoke.
//  2. With the connection's group mapping off, nothing changes: the user's roles are managed
//     by hand, and idp assignments the connection made while the switch was on stay.
//  3. With it on, the user ends with exactly the mapped roles as assignments of source
//     SourceIdP(conn.ID): the missing ones are granted; that connection's other assignments
//     are revoked; every SourceManual assignment is revoked, even of a role that is also
//     mapped (the role is then granted again with the idp source).
//  4. Assignments of any other source (another connection's) are never touched.
//
// grant is sorted by role; revoke by source, then role. Neither has duplicates, and both are
// empty when nothing changes, so applying the result and syncing again yields nothing (see
// ApplyDiff).
func Sync(s Subject, conn ConnectionPolicy, current []Assignment, mapped []string) (grant, revoke []Assignment) {
	if s.Kind != Human || s.Auth != SSO || conn.ID == "" || s.ConnectionID != conn.ID || !conn.GroupMapping {
		return nil, nil
	}
	src := SourceIdP(conn.ID)
	want := make(map[string]bool, len(mapped))
	for _, r := range mapped {
		if r != "" {
			want[r] = true
		}
	}
	have := make(map[string]bool)
	for _, a := range current {
		switch {
		case a.Source == src && want[a.RoleID]:
			have[a.RoleID] = true
		case a.Source == src, a.Source == SourceManual:
			revoke = append(revoke, a)
		}
	}
	for r := range want {
		if !have[r] {
			grant = append(grant, Assignment{RoleID: r, Source: src})
		}
	}
	return sortAssignments(grant), sortAssignments(revoke)
}

// Diff returns the assignments in after and not in before (grant) and those in before and
// not in after (revoke), sorted by source, then role, without duplicates.
func Diff(before, after []Assignment) (grant, revoke []Assignment) {
	b, a := assignmentSet(before), assignmentSet(after)
	for x := range a {
		if !b[x] {
			grant = append(grant, x)
		}
	}
	for x := range b {
		if !a[x] {
			revoke = append(revoke, x)
		}
	}
	return sortAssignments(grant), sortAssignments(revoke)
}

// ApplyDiff returns current without the assignments in revoke and with those in grant,
// sorted by source, then role, without duplicates.
func ApplyDiff(current, grant, revoke []Assignment) []Assignment {
	set := assignmentSet(current)
	for _, x := range revoke {
		delete(set, x)
	}
	for _, x := range grant {
		set[x] = true
	}
	out := make([]Assignment, 0, len(set))
	for x := range set {
		out = append(out, x)
	}
	return sortAssignments(out)
}

func assignmentSet(as []Assignment) map[Assignment]bool {
	set := make(map[Assignment]bool, len(as))
	for _, a := range as {
		set[a] = true
	}
	return set
}

func sortAssignments(as []Assignment) []Assignment {
	slices.SortFunc(as, func(x, y Assignment) int {
		return cmp.Or(cmp.Compare(x.Source, y.Source), cmp.Compare(x.RoleID, y.RoleID))
	})
	return slices.Compact(as)
}
