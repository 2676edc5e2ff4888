package storage

import (
	"strings"
	"unicode/utf8"
)

// ValidText reports whether both backends keep s as given: UTF-8 without NUL (PostgreSQL's
// text holds neither invalid UTF-8 nor NUL). Request handlers refuse other text before it
// reaches a store.
func ValidText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// HasNULEscape reports whether a JSON text holds a \u0000 escape, the only way a decoded JSON
// string can hold NUL.
func HasNULEscape(body []byte) bool {
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' || i+1 >= len(body) {
			continue
		}
		if body[i+1] == 'u' && i+6 <= len(body) && string(body[i+2:i+6]) == "0000" {
			return true
		}
		i++ // the escaped character
	}
	return false
}

// HasLoneSurrogateEscape reports whether a JSON text holds a \uD800-\uDFFF escape that is not
// half of a surrogate pair: encoding/json decodes each to U+FFFD, so "x\ud800" and "x\udfff"
// would be stored as the same name.
func HasLoneSurrogateEscape(body []byte) bool {
	escape := func(i int) (rune, bool) { // the \uXXXX escape at i, if there is one
		if i+6 > len(body) || body[i] != '\\' || body[i+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range body[i+2 : i+6] {
			switch {
			case c >= '0' && c <= '9':
				r = r<<4 | rune(c-'0')
			case c >= 'a' && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' || i+1 >= len(body) {
			continue
		}
		r, ok := escape(i)
		switch {
		case !ok:
			i++ // the escaped character
		case r >= 0xD800 && r <= 0xDBFF:
			if lo, ok := escape(i + 6); !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 11 // both halves
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		default:
			i += 5
		}
	}
	return false
}

// Fold is the case folding of every case-insensitive comparison Rollcall makes: userNames,
// emails and the other caseExact-false SCIM values, and tenant, connection, role and
// permission-set names. Two strings fold alike when they are equal under Unicode simple case
// folding (strings.EqualFold), so "ΟΔΟΣ", "οδος" and "οδοσ" are one name; and "İ" folds to
// "i", as lower-casing has it.
//
// It lower-cases (which PostgreSQL's lower() matches on a UTF-8 database: the postgres
// package checks it at start), then maps the few lower-case letters that fold to another
// one: final sigma to sigma, long s to s, the Greek symbol variants and Cyrillic's rounded
// letters. SQL folds with translate(lower(t), FoldFrom, FoldTo), so both backends and Go
// agree.
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
