package rbac

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The stable ids of the access model's rules, the Rule of a *RuleError.
const (
	RuleNameRequired              = "name-required"
	RuleNameTooLong               = "name-too-long"
	RuleNameInvalidCharacter      = "name-invalid-character"
	RuleInvalidEmail              = "invalid-email"
	RuleInvalidUserKind           = "invalid-user-kind"
	RuleUserNeedsRole             = "user-needs-role"
	RuleRoleInUse                 = "role-in-use"
	RulePermissionSetInUse        = "permission-set-in-use"
	RuleUnknownPermission         = "unknown-permission"
	RuleInvalidCatalog            = "invalid-catalog"
	RuleMappingIncomplete         = "mapping-incomplete"
	RuleGroupMappedOnce           = "group-mapped-once"
	RuleRoleOneGroupPerConnection = "role-one-group-per-connection"
	RuleNoEscalation              = "no-escalation"
	RuleOutranked                 = "outranked"
)

// MaxNameLength is the most characters (runes) a role or permission set name may have.
const MaxNameLength = 100

// maxEmailBytes is the longest address SMTP can carry (RFC 5321 §4.5.3.1.3, less the
// angle brackets).
const maxEmailBytes = 254

// The checks below return nil or a *RuleError. They return error, not *RuleError, so that
// a nil result is a nil error.

// CheckName checks the name of a role or permission set (kind is "role" or "permission set",
// and starts the message): not blank, at most MaxNameLength characters, valid UTF-8 and no
// control characters. The name is checked as given; callers store it trimmed of surrounding
// white space. Uniqueness in the tenant, ignoring case, is storage's to enforce.
func CheckName(kind, name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return ruleErrorf(RuleNameRequired, "%s name is required", kind)
	case !utf8.ValidString(name):
		return ruleErrorf(RuleNameInvalidCharacter, "%s name %q is not valid UTF-8", kind, name)
	case utf8.RuneCountInString(name) > MaxNameLength:
		return ruleErrorf(RuleNameTooLong, "%s name %q is longer than %d characters", kind, abbreviate(name), MaxNameLength)
	}
	for i, r := range name {
		if unicode.IsControl(r) {
			return ruleErrorf(RuleNameInvalidCharacter, "%s name %q contains a control character (%U at byte %d)", kind, name, r, i)
		}
	}
	return nil
}

// abbreviate shortens s for an error message.
func abbreviate(s string) string {
	const keep = 40
	if utf8.RuneCountInString(s) <= keep {
		return s
	}
	return string([]rune(s)[:keep]) + "…"
}

// CheckEmail checks an email address that is to be a username: a single address as net/mail
// parses it, given alone (no display name, angle brackets, comments or surrounding white
// space), at most 254 bytes. It changes nothing: comparisons elsewhere ignore case.
func CheckEmail(email string) error {
	if email == "" {
		return ruleErrorf(RuleInvalidEmail, "email is required")
	}
	if len(email) > maxEmailBytes {
		return ruleErrorf(RuleInvalidEmail, "email %q is longer than %d bytes", abbreviate(email), maxEmailBytes)
	}
	a, err := mail.ParseAddress(email)
	switch {
	case err != nil:
		return ruleErrorf(RuleInvalidEmail, "%q is not a valid email address: give one address, as name@example.com", email)
	case a.Name != "":
		return ruleErrorf(RuleInvalidEmail, "email %q has a display name (%q); give the address alone", email, a.Name)
	case a.Address != email:
		return ruleErrorf(RuleInvalidEmail, "email %q is not a plain address; give it as %q", email, a.Address)
	}
	return nil
}

// CheckNewLocalUser checks a user created through the admin API (human or service): it needs
// at least one role. Blank role ids do not count.
func CheckNewLocalUser(kind UserKind, roleIDs []string) error {
	if kind != Human && kind != Service {
		return ruleErrorf(RuleInvalidUserKind, "user kind %q is neither %q nor %q", kind, Human, Service)
	}
	for _, id := range roleIDs {
		if strings.TrimSpace(id) != "" {
			return nil
		}
	}
	return ruleErrorf(RuleUserNeedsRole, "a new %s user needs at least one role", kind)
}

// CheckRoleDeletable checks that a role assigned to assignedUsers users may be deleted: only
// when it is assigned to none.
func CheckRoleDeletable(assignedUsers int) error {
	if assignedUsers > 0 {
		return ruleErrorf(RuleRoleInUse, "role is assigned to %s; remove it from them first", count(assignedUsers, "user"))
	}
	return nil
}

// CheckPermissionSetDeletable checks that a permission set held by inRoles roles may be
// deleted: only when no role holds it.
func CheckPermissionSetDeletable(inRoles int) error {
	if inRoles > 0 {
		return ruleErrorf(RulePermissionSetInUse, "permission set is held by %s; remove it from them first", count(inRoles, "role"))
	}
	return nil
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// CheckPermissions checks that every permission of ps is in the catalog c. The error names
// every unknown one.
func CheckPermissions(c Catalog, ps []Permission) error {
	known := make(map[Permission]bool)
	c.walk(func(_ []string, def PermissionDef) { known[def.Name] = true })
	var unknown []string
	for _, p := range ps {
		if !known[p] {
			unknown = append(unknown, string(p))
		}
	}
	if len(unknown) > 0 {
		return unknownPermissions("unknown permission", unknown)
	}
	return nil
}
