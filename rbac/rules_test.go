package rbac

import (
	"fmt"
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		kind string
		in   string
		rule string
		want []string
	}{
		{"plain name", "role", "Data Engineer", "", nil},
		{"unicode letters", "role", "Équipe données", "", nil},
		{"exactly 100 characters", "role", strings.Repeat("é", MaxNameLength), "", nil},
		{"empty", "role", "", RuleNameRequired, []string{"role name is required"}},
		{"only white space", "permission set", " \t\u00a0", RuleNameRequired, []string{"permission set name is required"}},
		{"101 characters", "role", strings.Repeat("é", MaxNameLength+1), RuleNameTooLong, []string{"role name", "longer than 100 characters", "…"}},
		{"a newline", "role", "Data\nEngineer", RuleNameInvalidCharacter, []string{`"Data\nEngineer"`, "U+000A"}},
		{"a NUL", "permission set", "x\x00", RuleNameInvalidCharacter, []string{"permission set name", "U+0000"}},
		{"a C1 control", "role", "x\u0085y", RuleNameInvalidCharacter, []string{"U+0085"}},
		{"DEL", "role", "x\x7f", RuleNameInvalidCharacter, []string{"U+007F"}},
		{"invalid UTF-8", "role", "x\xffy", RuleNameInvalidCharacter, []string{"UTF-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRule(t, fmt.Sprintf("CheckName(%q, %q)", tt.kind, tt.in), CheckName(tt.kind, tt.in), tt.rule, tt.want...)
		})
	}
}

func TestCheckEmail(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com" // 254 bytes
	tests := []struct {
		name  string
		email string
		bad   bool
		want  []string
	}{
		{"plain address", "etl-service@yourcompany.com", false, nil},
		{"upper case is kept and accepted", "Jane.Doe@Example.COM", false, nil},
		{"plus addressing", "jane+rollcall@example.com", false, nil},
		{"international", "jöhn@exämple.com", false, nil},
		{"254 bytes", long, false, nil},
		{"255 bytes", "a" + long, true, []string{"longer than 254 bytes"}},
		{"empty", "", true, []string{"email is required"}},
		{"no @", "jane.example.com", true, []string{`"jane.example.com" is not a valid email address`, "name@example.com"}},
		{"two @", "bob@x.test@", true, []string{"not a valid email address"}},
		{"two addresses", "a@example.com, b@example.com", true, []string{"not a valid email address"}},
		{"display name", "Jane Doe <jane@example.com>", true, []string{"display name", `"Jane Doe"`}},
		{"angle brackets", "<jane@example.com>", true, []string{"not a plain address", `"jane@example.com"`}},
		{"surrounding space", " jane@example.com", true, []string{"not a plain address"}},
		{"comment", "jane@example.com (Jane)", true, []string{"display name"}},
		{"quoted local part with a space", `"jane doe"@example.com`, true, []string{"not a plain address"}},
		{"double dot", "jane..doe@example.com", true, []string{"not a valid email address"}},
		{"control character", "jane\x00@example.com", true, []string{"not a valid email address"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := ""
			if tt.bad {
				rule = RuleInvalidEmail
			}
			err := CheckEmail(tt.email)
			checkRule(t, fmt.Sprintf("CheckEmail(%q)", tt.email), err, rule, tt.want...)
			// The message is Rollcall's own, never net/mail's ("missing @ in addr-spec", …).
			if err != nil && (strings.Contains(err.Error(), "addr-spec") || strings.Contains(err.Error(), "expected single address") || strings.Contains(err.Error(), "angle-addr")) {
				t.Errorf("CheckEmail(%q) speaks net/mail's words: %v", tt.email, err)
			}
		})
	}
}

func TestCheckNewLocalUser(t *testing.T) {
	tests := []struct {
		name  string
		kind  UserKind
		roles []string
		rule  string
		want  []string
	}{
		{"human with a role", Human, []string{"r1"}, "", nil},
		{"service user with roles", Service, []string{"r1", "r2"}, "", nil},
		{"human without roles", Human, nil, RuleUserNeedsRole, []string{"human user needs at least one role"}},
		{"service user with an empty list", Service, []string{}, RuleUserNeedsRole, []string{"service user"}},
		{"blank role ids do not count", Human, []string{"", " "}, RuleUserNeedsRole, nil},
		{"unknown kind", UserKind("robot"), []string{"r1"}, RuleInvalidUserKind, []string{`"robot"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRule(t, fmt.Sprintf("CheckNewLocalUser(%q, %q)", tt.kind, tt.roles), CheckNewLocalUser(tt.kind, tt.roles), tt.rule, tt.want...)
		})
	}
}

func TestCheckDeletable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		rule string
		want string
	}{
		{"unassigned role", CheckRoleDeletable(0), "", ""},
		{"role of one user", CheckRoleDeletable(1), RuleRoleInUse, "role is assigned to 1 user;"},
		{"role of many users", CheckRoleDeletable(42), RuleRoleInUse, "role is assigned to 42 users"},
		{"permission set in no role", CheckPermissionSetDeletable(0), "", ""},
		{"permission set in one role", CheckPermissionSetDeletable(1), RulePermissionSetInUse, "permission set is held by 1 role;"},
		{"permission set in many roles", CheckPermissionSetDeletable(3), RulePermissionSetInUse, "permission set is held by 3 roles"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRule(t, tt.name, tt.err, tt.rule, tt.want)
		})
	}
}

func TestCheckPermissions(t *testing.T) {
	c := DefaultCatalog()
	tests := []struct {
		name string
		ps   []Permission
		rule string
		want []string
	}{
		{"none", nil, "", nil},
		{"known permissions", []Permission{CreateUser, "view_table", "manage_job"}, "", nil},
		{"an unknown permission", []Permission{CreateUser, "fly"}, RuleUnknownPermission, []string{`unknown permission: "fly"`}},
		{"every unknown one, once, sorted", []Permission{"zap", "fly", "view_table", "zap"}, RuleUnknownPermission, []string{`"fly", "zap"`}},
		{"an area is not a permission", []Permission{TenantManagementArea}, RuleUnknownPermission, []string{TenantManagementArea}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRule(t, fmt.Sprintf("CheckPermissions(%q)", tt.ps), CheckPermissions(c, tt.ps), tt.rule, tt.want...)
		})
	}
}

// The checks return a nil error, not a nil *RuleError in an error, when all is well.
func TestChecks_nilIsNil(t *testing.T) {
	for name, err := range map[string]error{
		"CheckName":                   CheckName("role", "x"),
		"CheckEmail":                  CheckEmail("a@example.com"),
		"CheckNewLocalUser":           CheckNewLocalUser(Human, []string{"r"}),
		"CheckRoleDeletable":          CheckRoleDeletable(0),
		"CheckPermissionSetDeletable": CheckPermissionSetDeletable(0),
		"CheckPermissions":            CheckPermissions(Catalog{}, nil),
		"CheckMappings":               CheckMappings(nil),
	} {
		if err != nil {
			t.Errorf("%s: got %#v, want nil", name, err)
		}
	}
}
