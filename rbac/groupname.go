package rbac

import (
	"strings"
	"unicode"
)

// NormalizeGroupName is the key an IdP group is known by, wherever its name enters Rollcall
// (SCIM pushes, sign-in claims, the admin API): surrounding white space trimmed, case folded
// (Fold), and every white-space character replaced by "_". "Data Engineers" becomes
// "data_engineers", and "ΟΔΟΣ" and "οδος" are one group.
func NormalizeGroupName(name string) string {
	name = Fold(strings.TrimSpace(name))
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return '_'
		}
		return r
	}, name)
}

// UnusualGroupName reports whether a normalized group name holds characters other than
// a-z, 0-9, "_" and "-". Such names are accepted, but administrators are warned: identity
// providers and claims handle them inconsistently.
func UnusualGroupName(normalized string) bool {
	for _, r := range normalized {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
		default:
			return true
		}
	}
	return false
}
