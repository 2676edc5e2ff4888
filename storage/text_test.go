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

func TestHasLoneSurrogateEscape(t *testing.T) {
	for body, want := range map[string]bool{
		`{"a":"x\ud800"}`:       true,
		`{"a":"x\udfff"}`:       true,
		`{"a":"\uD83D\uDE00"}`:  false, // a pair: U+1F600
		`{"a":"\ud83d\ude00x"}`: false,
		`{"a":"\ud83d\u0041"}`:  true,
		`{"a":"\ude00\ud83d"}`:  true,
		`{"a":"\\ud800"}`:       false, // an escaped backslash, then text
		`{"a":"\\\ud800"}`:      true,
		`{"a":"\u00e9\u0041"}`:  false,
		`{"a":"\ud83d"`:         true,
		`{"a":"\u"}`:            false,
		`{"a":"😀"}`:             false,
	} {
		if got := HasLoneSurrogateEscape([]byte(body)); got != want {
			t.Errorf("HasLoneSurrogateEscape(%s) = %v", body, got)
		}
	}
}
