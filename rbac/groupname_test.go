package rbac

import (
	"strings"
	"testing"
	"unicode"
)

type normalizeCase struct {
	in, want string
	unusual  bool
}

func normalizeCases() []normalizeCase {
	return []normalizeCase{
		{"Data Engineers", "data_engineers", false},
		{"  data engineers\t", "data_engineers", false},
		{"DataEngineers", "dataengineers", false},
		{"business-user", "business-user", false},
		{"a\tb\nc  d", "a_b_c__d", false},
		{"Ops\u00a0Team", "ops_team", false},
		{"R&D", "r&d", true},
		{"Équipe", "équipe", true},
		{"ΟΔΟΣ Team", "οδοσ_team", true},
		{"οδος team", "οδοσ_team", true},
		{"Straſse", "strasse", false},
		{"   ", "", false},
	}
}

func TestNormalizeGroupName(t *testing.T) {
	for _, tt := range normalizeCases() {
		got := NormalizeGroupName(tt.in)
		if got != tt.want {
			t.Errorf("NormalizeGroupName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if u := UnusualGroupName(got); u != tt.unusual {
			t.Errorf("UnusualGroupName(%q) = %v, want %v", got, u, tt.unusual)
		}
		if again := NormalizeGroupName(got); again != got {
			t.Errorf("NormalizeGroupName is not idempotent on %q: %q", got, again)
		}
	}
}

func FuzzNormalizeGroupName(f *testing.F) {
	for _, tt := range normalizeCases() {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := NormalizeGroupName(in)
		if again := NormalizeGroupName(got); again != got {
			t.Errorf("NormalizeGroupName(%q) = %q, but NormalizeGroupName(%q) = %q: not idempotent", in, got, got, again)
		}
		if i := strings.IndexFunc(got, unicode.IsSpace); i >= 0 {
			t.Errorf("NormalizeGroupName(%q) = %q, holds white space at byte %d", in, got, i)
		}
		trimmed := strings.TrimSpace(in)
		if !strings.ContainsFunc(trimmed, unicode.IsSpace) {
			if want := Fold(trimmed); got != want {
				t.Errorf("NormalizeGroupName(%q) = %q, want %q (no inner white space: folded and trimmed)", in, got, want)
			}
		}
	})
}
