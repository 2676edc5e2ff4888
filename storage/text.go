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
