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
