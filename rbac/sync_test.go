package rbac

import (
	"fmt"
	"slices"
	"testing"
)

func manual(role string) Assignment { return Assignment{RoleID: role, Source: SourceManual} }

func idp(conn, role string) Assignment { return Assignment{RoleID: role, Source: SourceIdP(conn)} }

func TestSync(t *testing.T) {
	ssoC1 := Subject{Kind: Human, Auth: SSO, ConnectionID: "c1"}
	on := ConnectionPolicy{ID: "c1", GroupMapping: true}
	off := ConnectionPolicy{ID: "c1", GroupMapping: false}
	mixed := []Assignment{manual("r3"), idp("c1", "r1"), idp("c1", "r4"), idp("c2", "r5")}
	tests := []struct {
		name    string
		s       Subject
		conn    ConnectionPolicy
		current []Assignment
		mapped  []string
		grant   []Assignment
		revoke  []Assignment
	}{
		{
			name: "SSO human, mapping on, first sync grants the mapped roles",
			s:    ssoC1, conn: on, mapped: []string{"r2", "r1"},
			grant: []Assignment{idp("c1", "r1"), idp("c1", "r2")},
		},
		{
			name: "SSO human, mapping on: grant missing, revoke unmapped and manual, keep other connection's",
			s:    ssoC1, conn: on, current: mixed, mapped: []string{"r1", "r2"},
			grant:  []Assignment{idp("c1", "r2")},
			revoke: []Assignment{idp("c1", "r4"), manual("r3")},
		},
		{
			name: "SSO human, mapping on: a manual role that is also mapped moves to the idp source",
			s:    ssoC1, conn: on, current: []Assignment{manual("r1")}, mapped: []string{"r1"},
			grant:  []Assignment{idp("c1", "r1")},
			revoke: []Assignment{manual("r1")},
		},
		{
			name: "SSO human, mapping on: no mapped group revokes every manual and own idp role",
			s:    ssoC1, conn: on, current: mixed,
			revoke: []Assignment{idp("c1", "r1"), idp("c1", "r4"), manual("r3")},
		},
		{
			name: "SSO human, mapping on: other connections' idp roles are kept, even when also mapped here",
			s:    ssoC1, conn: on, current: []Assignment{idp("c2", "r1"), idp("c10", "r2"), idp("c1", "r3")}, mapped: []string{"r1"},
			grant:  []Assignment{idp("c1", "r1")},
			revoke: []Assignment{idp("c1", "r3")},
		},
		{
			name: "SSO human, mapping on: already in sync changes nothing",
			s:    ssoC1, conn: on, current: []Assignment{idp("c1", "r1"), idp("c2", "r9"), idp("c1", "r2")}, mapped: []string{"r2", "r1"},
		},
		{
			name: "SSO human, mapping on: duplicate and empty mapped roles count once",
			s:    ssoC1, conn: on, mapped: []string{"r1", "", "r1"},
			grant: []Assignment{idp("c1", "r1")},
		},
		{
			name: "SSO human, mapping on: a duplicate current assignment is revoked once",
			s:    ssoC1, conn: on, current: []Assignment{manual("r1"), manual("r1")}, mapped: []string{"r2"},
			grant:  []Assignment{idp("c1", "r2")},
			revoke: []Assignment{manual("r1")},
		},
		{
			name: "SSO human, mapping on: sources other than manual and idp are not touched",
			s:    ssoC1, conn: on, current: []Assignment{{RoleID: "r1", Source: "scheduled"}},
		},
		{
			name: "SSO human, mapping off: nothing changes",
			s:    ssoC1, conn: off, current: mixed, mapped: []string{"r1", "r2"},
		},
		{
			name: "SSO human, mapping off, no roles: nothing is granted",
			s:    ssoC1, conn: off, mapped: []string{"r1"},
		},
		{
			name: "direct-auth human is never touched",
			s:    Subject{Kind: Human, Auth: Password}, conn: on, current: mixed, mapped: []string{"r2"},
		},
		{
			name: "direct-auth human with a stale connection id is never touched",
			s:    Subject{Kind: Human, Auth: Password, ConnectionID: "c1"}, conn: on, current: mixed, mapped: []string{"r2"},
		},
		{
			name: "service user is never touched",
			s:    Subject{Kind: Service, Auth: Password}, conn: on, current: []Assignment{manual("r1")}, mapped: []string{"r2"},
		},
		{
			name: "service user with SSO is never touched",
			s:    Subject{Kind: Service, Auth: SSO, ConnectionID: "c1"}, conn: on, current: []Assignment{manual("r1")}, mapped: []string{"r2"},
		},
		{
			name: "SSO user of another connection is never touched",
			s:    Subject{Kind: Human, Auth: SSO, ConnectionID: "c2"}, conn: on, current: mixed, mapped: []string{"r2"},
		},
		{
			name: "a connection without id touches no one",
			s:    Subject{Kind: Human, Auth: SSO}, conn: ConnectionPolicy{GroupMapping: true}, current: []Assignment{manual("r1")}, mapped: []string{"r2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current := slices.Clone(tt.current)
			grant, revoke := Sync(tt.s, tt.conn, tt.current, tt.mapped)
			call := fmt.Sprintf("Sync(%v, %v, %v, %q)", tt.s, tt.conn, tt.current, tt.mapped)
			if !slices.Equal(grant, tt.grant) || !slices.Equal(revoke, tt.revoke) {
				t.Errorf("%s:\ngot  grant %v, revoke %v\nwant grant %v, revoke %v", call, grant, revoke, tt.grant, tt.revoke)
			}
			if !slices.Equal(tt.current, current) {
				t.Errorf("%s modified current: got %v, want %v", call, tt.current, current)
			}

			after := ApplyDiff(tt.current, grant, revoke)
			if g, r := Sync(tt.s, tt.conn, after, tt.mapped); len(g)+len(r) != 0 {
				t.Errorf("Sync applied to its own result %v: got grant %v, revoke %v, want nothing", after, g, r)
			}
			if g, r := Diff(tt.current, after); !slices.Equal(g, grant) || !slices.Equal(r, revoke) {
				t.Errorf("Diff(current, after): got grant %v, revoke %v, want %v, %v", g, r, grant, revoke)
			}
			for _, a := range after { // what Sync leaves of other sources
				if a.Source != SourceIdP(tt.conn.ID) && a.Source != SourceManual && !slices.Contains(tt.current, a) {
					t.Errorf("%s: %v appeared, want other sources untouched", call, a)
				}
			}
			for _, a := range tt.current {
				if a.Source != SourceIdP(tt.conn.ID) && a.Source != SourceManual && !slices.Contains(after, a) {
					t.Errorf("%s: %v disappeared, want other sources untouched", call, a)
				}
			}
		})
	}
}

// With mapping on, a human SSO user of the connection ends with exactly the mapped roles
// from that connection and no manual role, whatever they had.
func TestSync_endsWithExactlyTheMappedRoles(t *testing.T) {
	s := Subject{Kind: Human, Auth: SSO, ConnectionID: "c1"}
	conn := ConnectionPolicy{ID: "c1", GroupMapping: true}
	pool := []Assignment{manual("r1"), manual("r2"), idp("c1", "r1"), idp("c1", "r3"), idp("c2", "r2"), idp("c2", "r4")}
	roles := []string{"r1", "r2", "r3", "r4"}
	for cur := range 1 << len(pool) {
		for m := range 1 << len(roles) {
			var current []Assignment
			for i, a := range pool {
				if cur&(1<<i) != 0 {
					current = append(current, a)
				}
			}
			var mapped []string
			for i, r := range roles {
				if m&(1<<i) != 0 {
					mapped = append(mapped, r)
				}
			}
			grant, revoke := Sync(s, conn, current, mapped)
			after := ApplyDiff(current, grant, revoke)
			var own, others []Assignment
			for _, a := range after {
				switch a.Source {
				case SourceIdP("c1"):
					own = append(own, a)
				case SourceManual:
					t.Fatalf("Sync(%v, %q): after %v holds a manual role", current, mapped, after)
				default:
					others = append(others, a)
				}
			}
			var wantOwn, wantOthers []Assignment
			for _, r := range mapped {
				wantOwn = append(wantOwn, idp("c1", r))
			}
			for _, a := range current {
				if a.Source == SourceIdP("c2") {
					wantOthers = append(wantOthers, a)
				}
			}
			if !slices.Equal(own, wantOwn) || !slices.Equal(others, sortAssignments(wantOthers)) {
				t.Fatalf("Sync(%v, %q): got %v, want %v and %v", current, mapped, after, wantOwn, wantOthers)
			}
		}
	}
}

func TestDiffAndApplyDiff(t *testing.T) {
	tests := []struct {
		name          string
		before, after []Assignment
		grant, revoke []Assignment
	}{
		{"both empty", nil, nil, nil, nil},
		{"equal in another order", []Assignment{manual("r1"), idp("c1", "r2")}, []Assignment{idp("c1", "r2"), manual("r1")}, nil, nil},
		{"same role, other source", []Assignment{manual("r1")}, []Assignment{idp("c1", "r1")},
			[]Assignment{idp("c1", "r1")}, []Assignment{manual("r1")}},
		{"sorted by source, then role, without duplicates", nil, []Assignment{manual("r2"), idp("c2", "r1"), manual("r1"), idp("c1", "r9"), manual("r2")},
			[]Assignment{idp("c1", "r9"), idp("c2", "r1"), manual("r1"), manual("r2")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grant, revoke := Diff(tt.before, tt.after)
			if !slices.Equal(grant, tt.grant) || !slices.Equal(revoke, tt.revoke) {
				t.Errorf("Diff(%v, %v): got %v, %v, want %v, %v", tt.before, tt.after, grant, revoke, tt.grant, tt.revoke)
			}
			got := ApplyDiff(tt.before, grant, revoke)
			if want, _ := Diff(nil, tt.after); !slices.Equal(got, want) {
				t.Errorf("ApplyDiff(%v, %v, %v): got %v, want %v", tt.before, grant, revoke, got, want)
			}
		})
	}
}
