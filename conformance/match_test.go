package conformance

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	var x any
	if err := json.Unmarshal([]byte(s), &x); err != nil {
		t.Fatalf("decoding %s: %v", s, err)
	}
	return x
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name      string
		vars      vars
		expected  string
		actual    string
		wantErr   string // substring of the first mismatch; "" means a match
		wantBound vars
	}{
		{name: "equal scalars", expected: `{"a": "x", "n": 2, "b": true}`, actual: `{"a": "x", "n": 2, "b": true}`},
		{name: "extra fields allowed", expected: `{"a": "x"}`, actual: `{"a": "x", "b": "y"}`},
		{name: "nested subset", expected: `{"meta": {"resourceType": "User"}}`, actual: `{"meta": {"resourceType": "User", "created": "2020"}}`},
		{name: "missing field", expected: `{"a": "x"}`, actual: `{}`, wantErr: "$.a: missing"},
		{name: "wrong string", expected: `{"a": "x"}`, actual: `{"a": "y"}`, wantErr: `$.a: want "x", got "y"`},
		{name: "number is not a string", expected: `{"totalResults": 1}`, actual: `{"totalResults": "1"}`, wantErr: "$.totalResults: want 1"},
		{name: "string is not a number", expected: `{"status": "404"}`, actual: `{"status": 404}`, wantErr: "want a string"},
		{name: "bool is not a string", expected: `{"active": false}`, actual: `{"active": "False"}`, wantErr: "$.active"},
		{name: "keys ignore case", expected: `{"userName": "x"}`, actual: `{"username": "x"}`},
		{name: "exact key wins over case-folded", expected: `{"a": "x"}`, actual: `{"A": "y", "a": "x"}`},
		{name: "null matches absent", expected: `{"password": null}`, actual: `{}`},
		{name: "null matches null", expected: `{"password": null}`, actual: `{"password": null}`},
		{name: "null rejects a value", expected: `{"password": null}`, actual: `{"password": "secret"}`, wantErr: "want absent or null"},
		{name: "any", expected: `{"id": "${*}"}`, actual: `{"id": 12}`},
		{name: "any requires presence", expected: `{"id": "${*}"}`, actual: `{}`, wantErr: "missing"},
		{name: "empty absent", expected: `{"Resources": "${empty}"}`, actual: `{}`},
		{name: "empty array", expected: `{"Resources": "${empty}"}`, actual: `{"Resources": []}`},
		{name: "empty null", expected: `{"Resources": "${empty}"}`, actual: `{"Resources": null}`},
		{name: "empty rejects elements", expected: `{"Resources": "${empty}"}`, actual: `{"Resources": [{}]}`, wantErr: "want absent or empty"},
		{name: "number marker", expected: `{"n": "${number}"}`, actual: `{"n": 3}`},
		{name: "number marker rejects a string", expected: `{"n": "${number}"}`, actual: `{"n": "3"}`, wantErr: "want a JSON number"},
		{name: "capture", expected: `{"id": "${userId}"}`, actual: `{"id": "abc"}`, wantBound: vars{"userId": "abc"}},
		{name: "capture keeps the type", expected: `{"n": "${count}"}`, actual: `{"n": 3}`, wantBound: vars{"count": 3.0}},
		{name: "bound variable must equal", vars: vars{"userId": "abc"}, expected: `{"id": "${userId}"}`, actual: `{"id": "abd"}`, wantErr: "want ${userId} = \"abc\""},
		{name: "bound variable equal", vars: vars{"userId": "abc"}, expected: `{"id": "${userId}"}`, actual: `{"id": "abc"}`},
		{name: "capture then compare in one value", expected: `{"id": "${x}", "again": "${x}"}`, actual: `{"again": "1", "id": "1"}`, wantBound: vars{"x": "1"}},
		{name: "capture then mismatch in one value", expected: `{"a": "${x}", "b": "${x}"}`, actual: `{"a": "1", "b": "2"}`, wantErr: "want ${x}"},
		{name: "template", vars: vars{"rand": "r1"}, expected: `{"userName": "u-${rand}@x"}`, actual: `{"userName": "u-r1@x"}`},
		{name: "template mismatch", vars: vars{"rand": "r1"}, expected: `{"userName": "u-${rand}@x"}`, actual: `{"userName": "u-r2@x"}`, wantErr: `want "u-r1@x"`},
		{name: "template wildcard", vars: vars{"id": "7"}, expected: `{"location": "${*}/Users/${id}"}`, actual: `{"location": "https://h/scim/v2/Users/7"}`},
		{name: "template quotes regexp characters", vars: vars{"id": "a.c"}, expected: `{"x": "${id}+"}`, actual: `{"x": "abc+"}`, wantErr: "want"},
		{name: "template with unbound variable", expected: `{"x": "a-${nope}"}`, actual: `{"x": "a-1"}`, wantErr: "unbound variable ${nope}"},
		{name: "ordered array", expected: `[1, 2]`, actual: `[1, 2]`},
		{name: "ordered array wrong order", expected: `[1, 2]`, actual: `[2, 1]`, wantErr: "$[0]"},
		{name: "array length", expected: `[1]`, actual: `[1, 2]`, wantErr: "want 1 elements, got 2"},
		{name: "unordered", expected: `["${unordered}", {"value": "a"}, {"value": "b"}]`, actual: `[{"value": "b", "display": "B"}, {"value": "a"}]`},
		{name: "unordered length", expected: `["${unordered}", {"value": "a"}]`, actual: `[{"value": "b"}, {"value": "a"}]`, wantErr: "want 1 elements, got 2"},
		{name: "unordered missing element", expected: `["${unordered}", {"value": "a"}, {"value": "c"}]`, actual: `[{"value": "b"}, {"value": "a"}]`, wantErr: `no element matches {"value":"c"}`},
		{name: "unordered needs backtracking", expected: `["${unordered}", {"type": "work"}, {"type": "work", "primary": true}]`, actual: `[{"type": "work", "primary": true}, {"type": "work"}]`},
		{name: "unordered captures", vars: vars{"a": "1"}, expected: `["${unordered}", {"value": "${a}"}, {"value": "${b}"}]`, actual: `[{"value": "2"}, {"value": "1"}]`, wantBound: vars{"a": "1", "b": "2"}},
		{name: "contains", expected: `["${contains}", "urn:x"]`, actual: `["urn:y", "urn:x"]`},
		{name: "contains missing", expected: `["${contains}", "urn:x"]`, actual: `["urn:y"]`, wantErr: `no element matches "urn:x"`},
		{name: "object for array", expected: `{"a": [1]}`, actual: `{"a": {"0": 1}}`, wantErr: "want an array"},
		{name: "array for object", expected: `{"a": {"b": 1}}`, actual: `{"a": [1]}`, wantErr: "want an object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := vars{}
			for k, x := range tc.vars {
				v[k] = x
			}
			errs := v.match(decode(t, tc.expected), decode(t, tc.actual))
			switch {
			case tc.wantErr == "" && len(errs) > 0:
				t.Fatalf("want a match, got %q", errs)
			case tc.wantErr != "" && len(errs) == 0:
				t.Fatalf("want a mismatch containing %q, got a match", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(errs[0], tc.wantErr):
				t.Fatalf("want a mismatch containing %q, got %q", tc.wantErr, errs)
			}
			for k, want := range tc.wantBound {
				if got := v[k]; !reflect.DeepEqual(got, want) {
					t.Errorf("${%s} = %#v, want %#v", k, got, want)
				}
			}
			if tc.wantErr != "" {
				for k := range v {
					if _, ok := tc.vars[k]; !ok {
						t.Errorf("a failed match must not bind variables, bound ${%s}", k)
					}
				}
			}
		})
	}
}

func TestExpand(t *testing.T) {
	v := vars{"rand": "r1", "id": "42", "n": 3.0, "obj": map[string]any{"a": "b"}}
	got, err := v.expandValue(decode(t, `{"userName": "u-${rand}", "id": "${id}", "count": "${n}", "m": "${obj}", "list": ["${id}", "x${n}"], "k-${rand}": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	want := decode(t, `{"userName": "u-r1", "id": "42", "count": 3, "m": {"a": "b"}, "list": ["42", "x3"], "k-r1": 1}`)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("expandValue: got %v, want %v", got, want)
	}
	if _, err := v.expandValue(decode(t, `{"a": "${missing}"}`)); err == nil || !strings.Contains(err.Error(), "${missing}") {
		t.Errorf("an unbound variable must be an error naming it, got %v", err)
	}
	if _, err := v.expandString("x-${missing}-y"); err == nil {
		t.Errorf("expandString with an unbound variable: want an error")
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	s, err := v.expandString("${uuid} ${uuid}")
	if err != nil {
		t.Fatal(err)
	}
	a, b, _ := strings.Cut(s, " ")
	if !uuid.MatchString(a) || !uuid.MatchString(b) || a == b {
		t.Errorf("${uuid} must give a fresh v4 UUID at each use, got %q and %q", a, b)
	}
}

func TestEncodePathQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/Users", "/Users"},
		{"/Users/abc", "/Users/abc"},
		{`/Users?filter=userName eq "a@b.c"&startIndex=1&count=100`, "/Users?filter=userName%20eq%20%22a%40b.c%22&startIndex=1&count=100"},
		{`/Users?filter=emails[type eq "work"].value eq "x+y"`, "/Users?filter=emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22x%2By%22"},
		{"/Groups?excludedAttributes=members", "/Groups?excludedAttributes=members"},
	}
	for _, tc := range tests {
		if got := encodePathQuery(tc.in); got != tc.want {
			t.Errorf("encodePathQuery(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
