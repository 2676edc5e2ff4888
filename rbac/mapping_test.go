package rbac

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
)

// Ids in these tables are r0–r3 (roles), c0–c2 (connections) and g0–g4 (groups), the
// alphabet FuzzApplyMapping draws from, so that its seeds are the table's cases.

func TestCheckMappings(t *testing.T) {
	tests := []struct {
		name string
		ms   []Mapping
		rule string
		want []string
	}{
		{"no mappings", nil, "", nil},
		{"one mapping", []Mapping{{"r0", "c0", "g0"}}, "", nil},
		{"roles on distinct groups", []Mapping{{"r0", "c0", "g0"}, {"r1", "c0", "g1"}}, "", nil},
		{"a role on one group of each of two connections", []Mapping{{"r0", "c0", "g0"}, {"r0", "c1", "g1"}}, "", nil},
		{"same group id on two connections is two groups", []Mapping{{"r0", "c0", "g0"}, {"r1", "c1", "g0"}}, "", nil},
		{"a group mapped to two roles", []Mapping{{"r0", "c0", "g0"}, {"r1", "c1", "g1"}, {"r2", "c0", "g0"}},
			RuleGroupMappedOnce, []string{`IdP group "g0" of connection "c0"`, `role "r0" and to role "r2"`}},
		{"the same mapping twice", []Mapping{{"r0", "c0", "g0"}, {"r0", "c0", "g0"}},
			RuleGroupMappedOnce, []string{`"g0"`, "twice"}},
		{"a role mapped to two groups of one connection", []Mapping{{"r0", "c0", "g0"}, {"r0", "c0", "g1"}},
			RuleRoleOneGroupPerConnection, []string{`role "r0"`, `"g0" and "g1"`, `connection "c0"`}},
		{"no role", []Mapping{{"", "c0", "g0"}}, RuleMappingIncomplete, []string{`connection "c0"`, "no role"}},
		{"no connection", []Mapping{{"r0", "", "g0"}}, RuleMappingIncomplete, []string{`role "r0"`, "no connection"}},
		{"no group", []Mapping{{"r0", "c0", ""}}, RuleMappingIncomplete, []string{`role "r0"`, "no IdP group"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRule(t, fmt.Sprintf("CheckMappings(%v)", tt.ms), CheckMappings(tt.ms), tt.rule, tt.want...)
		})
	}
}

type applyMappingCase struct {
	name   string
	start  []Mapping
	change MappingChange
	want   []Mapping // on success
	rule   string
	msg    []string
}

func applyMappingCases() []applyMappingCase {
	start := []Mapping{{"r0", "c0", "g0"}, {"r1", "c0", "g1"}, {"r0", "c1", "g0"}}
	return []applyMappingCase{
		{name: "map a role to a group", change: MappingChange{"r0", "c0", "g0"}, want: []Mapping{{"r0", "c0", "g0"}}},
		{name: "map another role to a free group", start: start, change: MappingChange{"r2", "c0", "g2"},
			want: append(slices.Clone(start), Mapping{"r2", "c0", "g2"})},
		{name: "replace a role's group in place", start: start, change: MappingChange{"r0", "c0", "g3"},
			want: []Mapping{{"r0", "c0", "g3"}, {"r1", "c0", "g1"}, {"r0", "c1", "g0"}}},
		{name: "map a role on one more connection", start: start, change: MappingChange{"r1", "c2", "g1"},
			want: append(slices.Clone(start), Mapping{"r1", "c2", "g1"})},
		{name: "set the same group again changes nothing", start: start, change: MappingChange{"r1", "c0", "g1"}, want: start},
		{name: "clear a role's mapping on one connection", start: start, change: MappingChange{"r0", "c0", ""},
			want: []Mapping{{"r1", "c0", "g1"}, {"r0", "c1", "g0"}}},
		{name: "clear a mapping that does not exist changes nothing", start: start, change: MappingChange{"r3", "c0", ""}, want: start},
		{name: "a group of another connection with the same id is free", start: start, change: MappingChange{"r2", "c2", "g1"},
			want: append(slices.Clone(start), Mapping{"r2", "c2", "g1"})},
		{name: "a group another role holds is refused, naming that role", start: start, change: MappingChange{"r2", "c0", "g1"},
			rule: RuleGroupMappedOnce, msg: []string{`IdP group "g1" of connection "c0" is already mapped to role "r1"`}},
		{name: "moving a role onto a held group is refused", start: start, change: MappingChange{"r0", "c0", "g1"},
			rule: RuleGroupMappedOnce, msg: []string{`role "r1"`}},
		{name: "no role", start: start, change: MappingChange{"", "c0", "g4"}, rule: RuleMappingIncomplete, msg: []string{"no role"}},
		{name: "no connection", start: start, change: MappingChange{"r0", "", "g4"}, rule: RuleMappingIncomplete, msg: []string{"no connection"}},
		{name: "broken input elsewhere is reported", start: []Mapping{{"r0", "c0", "g0"}, {"r1", "c0", "g0"}}, change: MappingChange{"r2", "c1", "g2"},
			rule: RuleGroupMappedOnce, msg: []string{`"g0"`}},
		{name: "a change can repair broken input", start: []Mapping{{"r0", "c0", "g0"}, {"r0", "c0", "g1"}}, change: MappingChange{"r0", "c0", "g2"},
			want: []Mapping{{"r0", "c0", "g2"}}},
	}
}

func TestApplyMapping(t *testing.T) {
	for _, tt := range applyMappingCases() {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.start)
			got, err := ApplyMapping(tt.start, tt.change)
			call := fmt.Sprintf("ApplyMapping(%v, %v)", tt.start, tt.change)
			if !slices.Equal(tt.start, before) {
				t.Errorf("%s modified its input: got %v, want %v", call, tt.start, before)
			}
			if tt.rule != "" {
				checkRule(t, call, err, tt.rule, tt.msg...)
				if got != nil {
					t.Errorf("%s: got %v with the error, want nil", call, got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("%s: got %v, %v, want %v, nil", call, got, err, tt.want)
			}
			checkRule(t, "CheckMappings(result)", CheckMappings(got), "")
		})
	}
}

func TestRolesFor(t *testing.T) {
	ms := []Mapping{{"r0", "c0", "g0"}, {"r1", "c0", "g1"}, {"r2", "c0", "g2"}, {"r3", "c1", "g0"}, {"r0", "c1", "g3"}}
	tests := []struct {
		name   string
		conn   string
		groups []string
		want   []string
	}{
		{"no groups", "c0", nil, nil},
		{"one mapped group", "c0", []string{"g1"}, []string{"r1"}},
		{"several groups, sorted roles", "c0", []string{"g2", "g0", "g1"}, []string{"r0", "r1", "r2"}},
		{"unmapped groups give nothing", "c0", []string{"g3", "g4"}, nil},
		{"only that connection's mappings count", "c1", []string{"g0", "g1"}, []string{"r3"}},
		{"a role mapped on two connections comes once", "c1", []string{"g3", "g0"}, []string{"r0", "r3"}},
		{"duplicate groups", "c0", []string{"g0", "g0"}, []string{"r0"}},
		{"unknown connection", "c9", []string{"g0"}, nil},
		{"group ids are exact", "c0", []string{"G0"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RolesFor(tt.conn, tt.groups, ms); !slices.Equal(got, tt.want) {
				t.Errorf("RolesFor(%q, %q): got %v, want %v", tt.conn, tt.groups, got, tt.want)
			}
		})
	}
}

// Fuzz input: three bytes per change, decoded by fuzzChange.
const (
	fuzzRoles  = 4 // r0–r3, and "" for index 4
	fuzzConns  = 3 // c0–c2, and "" for index 3
	fuzzGroups = 5 // g0–g4, and "" for index 5
)

func fuzzID(prefix string, b byte, n int) string {
	if i := int(b) % (n + 1); i < n {
		return prefix + strconv.Itoa(i)
	}
	return ""
}

func fuzzChange(b []byte) MappingChange {
	return MappingChange{fuzzID("r", b[0], fuzzRoles), fuzzID("c", b[1], fuzzConns), fuzzID("g", b[2], fuzzGroups)}
}

func fuzzByte(id string, n int) byte {
	if id == "" {
		return byte(n)
	}
	i, err := strconv.Atoi(id[1:])
	if err != nil || i >= n {
		panic("fuzz seed id out of the alphabet: " + id)
	}
	return byte(i)
}

func encodeChanges(chs ...MappingChange) []byte {
	var b []byte
	for _, ch := range chs {
		b = append(b, fuzzByte(ch.RoleID, fuzzRoles), fuzzByte(ch.ConnectionID, fuzzConns), fuzzByte(ch.GroupID, fuzzGroups))
	}
	return b
}

func FuzzApplyMapping(f *testing.F) {
	for _, tt := range applyMappingCases() {
		if CheckMappings(tt.start) != nil {
			continue // a broken start cannot be built by changes
		}
		var chs []MappingChange
		for _, m := range tt.start {
			chs = append(chs, MappingChange(m))
		}
		f.Add(encodeChanges(append(chs, tt.change)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ms []Mapping
		for len(data) >= 3 {
			ch := fuzzChange(data)
			data = data[3:]
			next, err := ApplyMapping(ms, ch)

			holder := ""
			for _, m := range ms {
				if m.ConnectionID == ch.ConnectionID && m.GroupID == ch.GroupID && m.RoleID != ch.RoleID {
					holder = m.RoleID
				}
			}
			switch {
			case ch.RoleID == "" || ch.ConnectionID == "":
				checkRule(t, fmt.Sprintf("ApplyMapping(%v, %v)", ms, ch), err, RuleMappingIncomplete)
				continue
			case ch.GroupID != "" && holder != "":
				checkRule(t, fmt.Sprintf("ApplyMapping(%v, %v)", ms, ch), err, RuleGroupMappedOnce, strconv.Quote(holder))
				continue
			case err != nil:
				t.Fatalf("ApplyMapping(%v, %v): got %v, want nil", ms, ch, err)
			}
			if err := CheckMappings(next); err != nil {
				t.Fatalf("ApplyMapping(%v, %v) = %v, which breaks a rule: %v", ms, ch, next, err)
			}
			// The change's role has exactly the change's group on its connection …
			var groups []string
			for _, m := range next {
				if m.RoleID == ch.RoleID && m.ConnectionID == ch.ConnectionID {
					groups = append(groups, m.GroupID)
				}
			}
			if want := []string{ch.GroupID}; (ch.GroupID == "" && len(groups) != 0) || (ch.GroupID != "" && !slices.Equal(groups, want)) {
				t.Fatalf("ApplyMapping(%v, %v) = %v: the role's groups on the connection are %v, want %q", ms, ch, next, groups, ch.GroupID)
			}
			// … and every other mapping is kept, in order.
			other := func(m Mapping) bool { return m.RoleID == ch.RoleID && m.ConnectionID == ch.ConnectionID }
			if a, b := slices.DeleteFunc(slices.Clone(ms), other), slices.DeleteFunc(slices.Clone(next), other); !slices.Equal(a, b) {
				t.Fatalf("ApplyMapping(%v, %v) = %v: other mappings changed from %v to %v", ms, ch, next, a, b)
			}
			ms = next
		}
	})
}
