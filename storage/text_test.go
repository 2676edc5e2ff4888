package storage

import "testing"

// Ensure text checks tell what the stores keep from what they cannot.
func TestText(t *testing.T) {
	for s, want := range map[string]bool{"": true, "Straße ✓": true, "a\x00b": false, "a\xffb": false} {
		if got := ValidText(s); got != want {
			t.Errorf("ValidText(%q) = %v", s, got)
		}
	}
	for body, want := range map[string]bool{
		`{"a":"b"}`:        false,
		`{"a":"\u0000"}`:   true,
		`{"a":"x\u0000y"}`: true,
		`{"a":"\\u0000"}`:  false, // an escaped backslash, then text
		`{"a":"\\\u0000"}`: true,
		`{"a":"\u0001"}`:   false,
		`{"a":"\u00000"}`:  true,
		`{"a":"\`:          false,
		`{"a":"\u000"}`:    false,
	} {
		if got := HasNULEscape([]byte(body)); got != want {
			t.Errorf("HasNULEscape(%s) = %v", body, got)
		}
	}
}
