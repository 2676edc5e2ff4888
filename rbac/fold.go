package rbac

import (
	"strings"
	"unicode/utf8"
)

// Fold is the case folding of every case-insensitive comparison Rollcall makes: userNames,
// emails and the other caseExact-false SCIM values, group names (NormalizeGroupName), and
// tenant, connection, role and permission-set names. Two strings fold alike when they are
// equal under Unicode simple case folding (strings.EqualFold), so "ΟΔΟΣ", "οδος" and "οδοσ"
// are one name; and "İ" folds to "i", as lower-casing has it.
//
// It lower-cases (which PostgreSQL's lower() matches on a UTF-8 database: Rollcall's
// PostgreSQL store checks it at start), then maps the few lower-case letters that fold to
// another one: final sigma to sigma, long s to s, the Greek symbol variants and Cyrillic's
// rounded letters. SQL folds with translate(lower(t), FoldFrom, FoldTo), so both backends and
// Go agree.
func Fold(s string) string {
	s = strings.ToLower(s)
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.Map(foldLower, s)
		}
	}
	return s // ASCII: lower-casing is the whole of it
}

// FoldFrom and FoldTo are the lower-case letters Fold maps, rune for rune: the arguments of
// SQL's translate(). TestFoldTable derives them from Go's Unicode tables. They are escaped:
// U+1FBE, last of FoldFrom, is canonically equivalent to U+03B9, and an editor normalizing
// the file would turn one into the other.
const (
	FoldFrom = "\u00B5\u017F\u0345\u03C2\u03D0\u03D1\u03D5\u03D6\u03F0\u03F1\u03F5\u1C80\u1C81\u1C82\u1C83\u1C84\u1C85\u1C86\u1C87\u1C88\u1E9B\u1FBE"
	FoldTo   = "\u03BC\u0073\u03B9\u03C3\u03B2\u03B8\u03C6\u03C0\u03BA\u03C1\u03B5\u0432\u0434\u043E\u0441\u0442\u0442\u044A\u0463\uA64B\u1E61\u03B9"
)

var foldTable = func() map[rune]rune {
	from, to := []rune(FoldFrom), []rune(FoldTo)
	m := make(map[rune]rune, len(from))
	for i, r := range from {
		m[r] = to[i]
	}
	return m
}()

func foldLower(r rune) rune {
	if f, ok := foldTable[r]; ok {
		return f
	}
	return r
}
