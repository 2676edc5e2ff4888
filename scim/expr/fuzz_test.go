package expr

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// addFilterSeeds seeds a fuzz target with every filter of the table tests.
func addFilterSeeds(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	for _, tt := range parseErrorTests {
		f.Add(tt.in)
	}
	for _, tt := range matchTests {
		f.Add(tt.filter)
	}
	for _, tt := range pathTests {
		f.Add(tt.in)
	}
	for _, tt := range pathErrorTests {
		f.Add(tt.in)
	}
	for _, tt := range validateTests {
		f.Add(tt.filter)
	}
}

// FuzzParseFilter checks that ParseFilter never panics and that Format
// prints every AST it returns so that it parses back to the same AST.
func FuzzParseFilter(f *testing.F) {
	addFilterSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		checkRoundTrip(t, s)
	})
}

// FuzzParsePath checks ParsePath and FormatPath the same way.
func FuzzParsePath(f *testing.F) {
	addFilterSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		printed := FormatPath(p)
		back, err := parsePath(printed, roundTripLimits)
		if err != nil {
			t.Fatalf("ParsePath(%q) = %s, which does not parse: %v", s, printed, err)
		}
		if diff := cmp.Diff(p, back); diff != "" {
			t.Fatalf("ParsePath(%q) = %s, which parses differently (-want +got):\n%s", s, printed, diff)
		}
		for _, r := range []Resolver{users, groups} {
			_ = r.ValidatePath(p)
			if p.ValueExpression != nil {
				_ = r.MatchElement(p.AttributePath, p.ValueExpression, map[string]any{"value": "u1", "type": "work"})
			}
		}
	})
}

// FuzzMatch checks that evaluating any filter on the test documents never
// panics, that not(e) is the complement of e, that printing does not change
// the result, and that value paths agree with MatchElement.
func FuzzMatch(f *testing.F) {
	addFilterSeeds(f)
	type fixture struct {
		r   Resolver
		doc map[string]any
	}
	var fixtures []fixture
	for name := range testDocs {
		for _, useNumber := range []bool{false, true} {
			doc := decodeDoc(f, name, useNumber)
			fixtures = append(fixtures, fixture{users, doc}, fixture{groups, doc})
		}
	}
	elems := []map[string]any{
		nil,
		{"value": "bjensen@example.com", "type": "work", "primary": true},
		{"value": "id1", "display": "One", "type": "User"},
		{"value": 10, "kind": "gold"},
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseFilter(s)
		if err != nil {
			return
		}
		for _, fx := range fixtures {
			checkMatchProperties(t, fx.r, e, fx.doc)
		}
		for _, name := range []string{"emails", "members", "badges", "manager", "name"} {
			for _, el := range elems {
				for _, r := range []Resolver{users, groups} {
					got := r.MatchElement(attr(name), e, el)
					if m, err := r.ElementMatcher(attr(name), e); err == nil && m(el) != got {
						t.Errorf("ElementMatcher(%s, %q)(%v) = %v, MatchElement %v", name, s, el, !got, got)
					} else if err != nil && got {
						t.Errorf("ElementMatcher(%s, %q) refused, but MatchElement matches %v", name, s, el)
					}
				}
			}
		}
	})
}
