package rbac

import (
	"strings"
	"testing"
	"unicode"
)

// Ensure FoldFrom and FoldTo are exactly the lower-case letters whose simple case folding
// orbit holds another lower-case letter, each mapped to the lower case of the orbit's upper
// case, as Go's Unicode tables give them; and that Fold then agrees with strings.EqualFold
// on every pair of letters in one orbit, and on no pair across orbits of the probes.
func TestFoldTable(t *testing.T) {
	var from, to []rune
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if unicode.ToLower(r) != r {
			continue
		}
		u := unicode.ToUpper(r)
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f == u && unicode.ToLower(u) != r {
				from, to = append(from, r), append(to, unicode.ToLower(u))
				break
			}
		}
	}
	if string(from) != FoldFrom || string(to) != FoldTo {
		t.Fatalf("the fold table of this Go's Unicode tables is\nFoldFrom = %q\nFoldTo   = %q", string(from), string(to))
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if Fold(string(r)) != Fold(string(f)) {
				t.Errorf("%U and %U fold alike (strings.EqualFold) but Fold gives %q and %q", r, f, Fold(string(r)), Fold(string(f)))
			}
		}
	}
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"ΟΔΟΣ", "οδος", true}, {"ΟΔΟΣ", "οδοσ", true}, {"Straſse", "STRASSE", true}, {"Émile", "éMILE", true},
		{"Kelvin", "\u212Aelvin", true}, {"I", "ı", false}, {"İ", "i", true}, {"ß", "ss", false}, {"ABC", "abd", false},
	} {
		if got := Fold(tc.a) == Fold(tc.b); got != tc.same || (tc.same && !strings.EqualFold(tc.a, tc.b) && tc.a != "İ") {
			t.Errorf("Fold(%q) == Fold(%q) is %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
	if s := "Ünïcødé ΣΟΦΊΑ ſ"; Fold(Fold(s)) != Fold(s) {
		t.Errorf("Fold is not idempotent on %q", s)
	}
}
