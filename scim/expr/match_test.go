package expr

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/elimity-com/scim/schema"
	"github.com/google/go-cmp/cmp"
	"github.com/scim2/filter-parser/v2"
)

const testExtID = "urn:example:my_ext:2.0:User"

// testExt has the attribute types the core schemas lack.
var testExt = schema.Schema{
	ID: testExtID,
	Attributes: []schema.CoreAttribute{
		schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "level", Type: schema.AttributeTypeInteger()})),
		schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "score", Type: schema.AttributeTypeDecimal()})),
		schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "big", Type: schema.AttributeTypeInteger()})),
		schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "tags", MultiValued: true})),
		schema.SimpleCoreAttribute(schema.SimpleDateTimeParams(schema.DateTimeParams{Name: "hired"})),
		schema.SimpleCoreAttribute(schema.SimpleBinaryParams(schema.BinaryParams{Name: "photo"})),
		schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "code", CaseExact: true})),
		schema.ComplexCoreAttribute(schema.ComplexParams{Name: "badges", MultiValued: true, SubAttributes: []schema.SimpleParams{
			schema.SimpleNumberParams(schema.NumberParams{Name: "value", Type: schema.AttributeTypeInteger()}),
			schema.SimpleStringParams(schema.StringParams{Name: "kind"}),
		}}),
	},
}

var (
	users  = Resolver{Core: schema.CoreUserSchema(), Extensions: []schema.Schema{schema.ExtensionEnterpriseUser(), testExt}}
	groups = Resolver{Core: schema.CoreGroupSchema()}
)

// testDocs are decoded twice, once with float64 and once with json.Number.
var testDocs = map[string]string{
	"bjensen": `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"id": "2819c223-7f76-453a-919d-413861904646",
		"externalId": "abc",
		"userName": "bjensen",
		"name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
		"displayName": "Babs Jensen",
		"nickName": "Babs",
		"userType": "Employee",
		"active": "True",
		"emails": [
			{"value": "bjensen@example.com", "type": "work", "primary": true},
			{"value": "babs@jensen.org", "type": "home"}
		],
		"addresses": [{}],
		"x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
		"meta": {
			"resourceType": "User",
			"created": "2010-01-23T04:56:22Z",
			"lastModified": "2011-05-13T04:42:34Z",
			"version": "W/\"a330bc54f0671c9\"",
			"location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
		},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
			"employeeNumber": "701984",
			"department": "Tour Operations",
			"manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
		},
		"urn:example:my_ext:2.0:User": {
			"level": 3,
			"score": 4.5,
			"big": 9007199254740993,
			"tags": ["Blue", "green"],
			"hired": "2015-03-01T09:00:00.5+01:00",
			"photo": "aGVsbG8=",
			"code": "AbC",
			"badges": [{"value": 10, "kind": "gold"}, {"value": 20, "kind": "silver"}]
		}
	}`,
	// Keys in other cases, as some clients store them.
	"upper": `{
		"UserName": "BJensen",
		"ExternalId": "ABC",
		"Active": false,
		"EMAILS": [{"Value": "X@Y.com", "Type": "Work"}],
		"Meta": {"LastModified": "2020-01-01T00:00:00Z"},
		"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {"EmployeeNumber": "42"}
	}`,
	"empty": `{
		"userName": "nobody",
		"title": null,
		"nickName": "",
		"emails": [],
		"name": {},
		"phoneNumbers": [{"value": ""}, {"value": null}]
	}`,
	// Booleans as strings, as Entra ID sends them.
	"entra": `{
		"userName": "e@contoso.com",
		"externalId": "12345",
		"active": "False",
		"emails": [{"value": "e@contoso.com", "type": "work", "primary": "True"}]
	}`,
	// Values of the wrong type everywhere.
	"weird": `{
		"userName": 5,
		"active": "yes",
		"title": ["a", "b"],
		"emails": ["plain@x.com", {"value": 7}],
		"name": "str",
		"meta": {"lastModified": "not a date"},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": "not an object",
		"urn:example:my_ext:2.0:User": {"level": "three", "tags": [1, true, null, "x"], "badges": {"value": 5}}
	}`,
	"groupA": `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
		"displayName": "Group A",
		"externalId": "g-1",
		"members": [
			{"value": "id1", "display": "One"},
			{"value": "id2", "type": "User", "$ref": "https://example.com/v2/Users/id2"}
		]
	}`,
	"groupEmpty": `{"displayName": "Empty", "members": []}`,
}

func decodeDoc(t testing.TB, name string, useNumber bool) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(testDocs[name]))
	if useNumber {
		d.UseNumber()
	}
	var doc map[string]any
	if err := d.Decode(&doc); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return doc
}

var matchTests = []struct {
	doc    string
	filter string
	want   bool
}{
	// Okta and Entra ID filters.
	{"bjensen", `userName eq "bjensen"`, true},
	{"bjensen", `userName eq "BJENSEN"`, true},
	{"bjensen", `userName eq "bjensen@example.com"`, false},
	{"bjensen", `externalId eq "abc"`, true},
	{"bjensen", `externalId eq "ABC"`, false},
	{"upper", `externalId eq "ABC"`, true},
	{"bjensen", `id eq "2819c223-7F76-453a-919d-413861904646"`, false},
	{"bjensen", `emails[type eq "work"].value eq "bjensen@example.com"`, true},
	{"bjensen", `emails[type eq "home"].value eq "bjensen@example.com"`, false},
	{"bjensen", `emails[type eq "work" and value co "@example.com"]`, true},
	{"bjensen", `emails[type eq "home" and value co "@example.com"]`, false},
	{"bjensen", `meta.lastModified gt "2011-05-13T04:42:34Z"`, false},
	{"bjensen", `meta.lastModified ge "2011-05-13T04:42:34Z"`, true},
	{"bjensen", `meta.lastModified gt "2011-05-13T04:42:33Z"`, true},
	{"bjensen", `meta.lastModified lt "2011-05-13T04:42:34.001Z"`, true},
	{"bjensen", `meta.lastModified le "2011-05-13T04:42:33.999Z"`, false},
	{"bjensen", `meta.lastModified eq "2011-05-13T04:42:34.000Z"`, true},
	{"bjensen", `meta.lastModified eq "2011-05-13T06:42:34+02:00"`, true},
	{"bjensen", `meta.lastModified eq "2011-05-13T04:42:34"`, true},
	{"bjensen", `meta.lastModified eq "2011-05-13t04:42:34z"`, true},
	{"upper", `meta.lastModified gt "2011-05-13T04:42:34Z"`, true},
	{"bjensen", `active eq true`, true},
	{"bjensen", `active eq false`, false},
	{"bjensen", `active ne false`, true},
	{"bjensen", `active eq "true"`, true},
	{"bjensen", `active eq "TRUE"`, true},
	{"entra", `active eq false`, true},
	{"entra", `active eq true`, false},
	{"upper", `active eq false`, true},
	{"entra", `emails[primary eq true]`, true},
	{"entra", `emails[type eq "work"].value eq "E@CONTOSO.COM"`, true},
	{"groupA", `displayName eq "Group A"`, true},
	{"groupA", `displayName eq "group a"`, true},
	{"groupA", `displayName eq "Group B"`, false},
	{"groupA", `members[value eq "id1"]`, true},
	{"groupA", `members[value eq "id3"]`, false},
	{"groupA", `members.value eq "id2"`, true},
	{"groupA", `members eq "id2"`, true},
	{"groupA", `members[value eq "id1" and type eq "User"]`, false},
	{"groupA", `members[value eq "id2" and type eq "User"]`, true},
	{"groupA", `members[value eq "id1"] or members[value eq "id9"]`, true},
	{"groupA", `members[value eq "id1"] and members[value eq "id2"]`, true},
	{"groupA", `members.$ref sw "https://example.com/"`, true},
	{"groupA", `members pr`, true},
	{"groupEmpty", `members pr`, false},
	{"groupEmpty", `members[value eq "id1"]`, false},
	{"groupEmpty", `not(members[value eq "id1"])`, true},
	{"groupA", `externalId eq "G-1"`, false},
	{"entra", `externalId eq 12345`, true},
	{"entra", `externalId eq "12345"`, true},
	{"entra", `externalId eq 1234`, false},
	{"entra", `externalId sw 123`, true},
	{"bjensen", `userName eq 5`, false},

	// co, sw, ew and ordering of strings.
	{"bjensen", `name.familyName co "ens"`, true},
	{"bjensen", `name.familyName sw "jen"`, true},
	{"bjensen", `name.familyName ew "SEN"`, true},
	{"bjensen", `name.familyName ew "jen"`, false},
	{"bjensen", `userName co "x"`, false},
	{"bjensen", `userName co ""`, true},
	{"bjensen", `title co ""`, false},
	{"bjensen", `userName gt "a"`, true},
	{"bjensen", `userName lt "a"`, false},
	{"bjensen", `userName gt "BJ"`, true},
	{"bjensen", `userName le "BJENSEN"`, true},
	{"bjensen", `userName lt "BJENSEN"`, false},
	{"bjensen", `userName ge "bjensen0"`, false},

	// Case-insensitive keys in the document.
	{"upper", `userName eq "bjensen"`, true},
	{"upper", `emails.value eq "x@y.com"`, true},
	{"upper", `emails[type eq "work"]`, true},
	{"upper", `employeeNumber eq "42"`, true},

	// URN prefixes and extensions.
	{"bjensen", `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen"`, true},
	{"bjensen", `urn:ietf:params:scim:schemas:core:2.0:User:id eq "2819c223-7f76-453a-919d-413861904646"`, true},
	{"bjensen", `urn:ietf:params:scim:schemas:core:2.0:User:meta.resourceType eq "User"`, true},
	{"bjensen", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, true},
	{"bjensen", `URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:EMPLOYEENUMBER eq "701984"`, true},
	{"bjensen", `employeeNumber eq "701984"`, true},
	{"bjensen", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
	{"bjensen", `manager.displayName co "smith"`, true},
	{"bjensen", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr`, true},
	{"bjensen", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division pr`, false},
	{"bjensen", `schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, true},

	// Multi-valued attributes: any value.
	{"bjensen", `emails.value eq "babs@jensen.org"`, true},
	{"bjensen", `emails eq "babs@jensen.org"`, true},
	{"bjensen", `emails co "jensen.org"`, true},
	{"bjensen", `emails.type eq "home"`, true},
	{"bjensen", `emails.type eq "other"`, false},
	{"bjensen", `emails.value ne "babs@jensen.org"`, true},
	{"bjensen", `not(emails.value eq "babs@jensen.org")`, false},
	{"upper", `emails.value ne "x@y.com"`, false},
	{"upper", `emails.value ne "other"`, true},
	{"bjensen", `emails[type ne "work"]`, true},
	{"upper", `emails[type ne "work"]`, false},
	{"bjensen", `emails[not(type eq "work")]`, true},
	{"bjensen", `emails[(type eq "work" or type eq "home") and not(value ew ".org")]`, true},
	{"bjensen", `emails[type eq "home" and not(value ew ".org")]`, false},
	{"bjensen", `emails[type eq "work" and value co "example" and primary eq true]`, true},
	{"bjensen", `emails[type eq "home" and primary eq true]`, false},
	{"bjensen", `emails[primary pr]`, true},
	{"bjensen", `emails[type eq "work"].primary eq true`, true},
	{"bjensen", `emails[type eq "home"].primary pr`, false},
	{"bjensen", `not(emails[type eq "work"])`, false},
	{"empty", `not(emails[type eq "work"])`, true},

	// Absent, null and empty values.
	{"bjensen", `title ne "x"`, true},
	{"bjensen", `not(title eq "x")`, true},
	{"bjensen", `title eq "x"`, false},
	{"bjensen", `title pr`, false},
	{"bjensen", `title eq null`, true},
	{"bjensen", `title ne null`, false},
	{"bjensen", `userName eq null`, false},
	{"bjensen", `userName ne null`, true},
	{"bjensen", `nickName pr`, true},
	{"empty", `title pr`, false},
	{"empty", `title ne "x"`, true},
	{"empty", `nickName pr`, false},
	{"empty", `nickName eq null`, true},
	{"empty", `nickName ne ""`, false},
	{"empty", `nickName eq ""`, true},
	{"empty", `emails pr`, false},
	{"empty", `emails.value ne "x"`, true},
	{"empty", `emails eq null`, true},
	{"empty", `name pr`, false},
	{"empty", `name.givenName pr`, false},
	{"empty", `phoneNumbers pr`, false},
	{"empty", `phoneNumbers.value pr`, false},
	{"empty", `phoneNumbers[value pr]`, false},
	{"empty", `phoneNumbers[not(value pr)]`, true},
	{"bjensen", `name pr`, true},
	{"bjensen", `addresses pr`, false},
	{"bjensen", `emails pr`, true},
	{"bjensen", `meta pr`, true},

	// Numbers, binary, case-exact and multi-valued simple attributes.
	{"bjensen", `level eq 3`, true},
	{"bjensen", `level eq 3.0`, true},
	{"bjensen", `level eq 3e0`, true},
	{"bjensen", `level ne 3`, false},
	{"bjensen", `level gt 2`, true},
	{"bjensen", `level ge 3`, true},
	{"bjensen", `level lt 3`, false},
	{"bjensen", `level le 3`, true},
	{"bjensen", `level lt 123456789012345678901234567890`, true},
	{"bjensen", `level gt -123456789012345678901234567890`, true},
	{"bjensen", `level eq 123456789012345678901234567890`, false},
	{"bjensen", `score gt 4`, true},
	{"bjensen", `score eq 4.5`, true},
	{"bjensen", `score lt 4.5e0`, false},
	{"bjensen", `score lt 4.500001`, true},
	{"bjensen", `photo eq "aGVsbG8="`, true},
	{"bjensen", `photo eq "AGVSBG8="`, false},
	{"bjensen", `photo sw "aGV"`, true},
	{"bjensen", `x509Certificates.value sw "MIID"`, true},
	{"bjensen", `code eq "AbC"`, true},
	{"bjensen", `code eq "abc"`, false},
	{"bjensen", `code sw "Ab"`, true},
	{"bjensen", `code gt "AB"`, true},
	{"bjensen", `code lt "a"`, true},
	{"bjensen", `tags eq "blue"`, true},
	{"bjensen", `tags eq "red"`, false},
	{"bjensen", `tags ne "blue"`, true},
	{"bjensen", `tags[value eq "GREEN"]`, true},
	{"bjensen", `tags[value sw "bl" and value ew "ue"]`, true},
	{"bjensen", `tags[value sw "bl" and value ew "en"]`, false},
	{"bjensen", `tags pr`, true},
	{"bjensen", `hired gt "2015-03-01T08:00:00Z"`, true},
	{"bjensen", `hired lt "2015-03-01T08:00:01Z"`, true},
	{"bjensen", `hired eq "2015-03-01T08:00:00.5Z"`, true},
	{"bjensen", `hired eq "2015-03-01T08:00:00Z"`, false},
	{"bjensen", `badges[value gt 15]`, true},
	{"bjensen", `badges[value gt 15 and kind eq "gold"]`, false},
	{"bjensen", `badges[value gt 15 and kind eq "SILVER"]`, true},
	{"bjensen", `badges.value ge 20`, true},
	{"bjensen", `badges eq 10`, true},
	{"bjensen", `badges eq 10.5`, false},

	// Filters that Validate rejects match nothing, not even negated.
	{"bjensen", `level eq "3"`, false},
	{"bjensen", `not(level eq "3")`, false},
	{"bjensen", `userName eq 5.5`, false},
	{"bjensen", `userName ne 5.5`, false},
	{"bjensen", `fooBar ne "x"`, false},
	{"bjensen", `not(fooBar eq "x")`, false},
	{"bjensen", `active gt true`, false},

	// Values of the wrong type compare false and never panic.
	{"weird", `userName eq "5"`, false},
	{"weird", `userName ne "5"`, false},
	{"weird", `userName pr`, true},
	{"weird", `active eq true`, false},
	{"weird", `active ne true`, false},
	{"weird", `title eq "b"`, true},
	{"weird", `emails eq "plain@x.com"`, false},
	{"weird", `emails.value eq "7"`, false},
	{"weird", `emails pr`, true},
	{"weird", `emails[not(type eq "x")]`, true},
	{"weird", `emails[value pr]`, true},
	{"weird", `name.givenName pr`, false},
	{"weird", `name pr`, true},
	{"weird", `meta.lastModified gt "2000-01-01T00:00:00Z"`, false},
	{"weird", `employeeNumber pr`, false},
	{"weird", `level gt 1`, false},
	{"weird", `tags eq "x"`, true},
	{"weird", `tags ne "x"`, false},
	{"weird", `tags[value eq "x"]`, true},
	{"weird", `badges[value eq 5]`, true},
	{"weird", `badges.value eq 5`, true},
}

func TestMatch(t *testing.T) {
	for _, useNumber := range []bool{false, true} {
		for _, tt := range matchTests {
			e, err := ParseFilter(tt.filter)
			if err != nil {
				t.Errorf("ParseFilter(%q): %v", tt.filter, err)
				continue
			}
			r := users
			if strings.HasPrefix(tt.doc, "group") {
				r = groups
			}
			doc := decodeDoc(t, tt.doc, useNumber)
			if got := r.Match(e, doc); got != tt.want {
				t.Errorf("Match(%s, %s) with UseNumber %v = %v, want %v (Validate: %v)", tt.filter, tt.doc, useNumber, got, tt.want, r.Validate(e))
			}
			checkMatchProperties(t, r, e, doc)
		}
	}
}

// checkMatchProperties checks what must hold for any filter and document.
func checkMatchProperties(t *testing.T, r Resolver, e filter.Expression, doc map[string]any) {
	t.Helper()
	m := r.Match(e, doc)
	if r.Validate(e) != nil {
		if m {
			t.Errorf("Match(%s) = true for a filter Validate rejects", Format(e))
		}
		return
	}
	if r.Match(&filter.NotExpression{Expression: e}, doc) == m {
		t.Errorf("Match(not(%s)) = Match(%[1]s) = %v", Format(e), m)
	}
	back, err := parseFilter(Format(e), roundTripLimits)
	if err == nil && r.Match(back, doc) != m {
		t.Errorf("Match(%s) = %v, but not after a round trip through Format", Format(e), m)
	}
	n, err := r.Normalize(e)
	if err != nil {
		t.Errorf("Normalize(%s): %v", Format(e), err)
	} else if r.Match(n, doc) != m {
		t.Errorf("Match(%s) = %v, but Match(Normalize(e)) = %v", Format(e), m, !m)
	}
	// A value path matches when MatchElement accepts one of its elements.
	if vp, ok := e.(*filter.ValuePath); ok {
		res, _ := r.Attribute(vp.AttributePath)
		if isComplex(res.Attribute) {
			some := false
			for _, el := range list(topValue(res, doc)) {
				if m, ok := el.(map[string]any); ok && r.MatchElement(vp.AttributePath, vp.ValueFilter, m) {
					some = true
				}
			}
			if some != m {
				t.Errorf("Match(%s) = %v, but MatchElement on its elements gives %v", Format(e), m, some)
			}
		}
	}
}

func TestMatchExactNumbers(t *testing.T) {
	doc := decodeDoc(t, "bjensen", true) // json.Number keeps 9007199254740993
	tests := []struct {
		filter string
		want   bool
	}{
		{`big eq 9007199254740993`, true},
		{`big eq 9007199254740992`, false},
		{`big gt 9007199254740992`, true},
		{`big eq 9007199254740993.0`, false}, // a decimal rounds to float64 (…992)
		{`big gt 9007199254740992.0`, true},
	}
	for _, tt := range tests {
		e, err := ParseFilter(tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := users.Match(e, doc); got != tt.want {
			t.Errorf("Match(%s) = %v, want %v", tt.filter, got, tt.want)
		}
	}
	// float64 documents lose the last digit before the filter sees it.
	if users.Match(mustParse(t, `big eq 9007199254740993`), decodeDoc(t, "bjensen", false)) {
		t.Errorf("float64 9007199254740992 matched integer 9007199254740993")
	}
}

func mustParse(t testing.TB, s string) filter.Expression {
	t.Helper()
	e, err := ParseFilter(s)
	if err != nil {
		t.Fatalf("ParseFilter(%q): %v", s, err)
	}
	return e
}

// Ensure documents built in Go, not decoded from JSON, match too.
func TestMatchGoValues(t *testing.T) {
	doc := map[string]any{
		"userName": "bjensen",
		"active":   true,
		"emails":   []map[string]any{{"value": "a@example.com", "type": "work"}, nil},
		"meta":     map[string]any{"lastModified": time.Date(2011, 5, 13, 4, 42, 34, 0, time.UTC)},
		testExtID: map[string]any{
			"tags":  []string{"x", "y"},
			"level": int64(7),
			"score": float32(0.5),
			"big":   int(1 << 60),
		},
	}
	tests := []struct {
		filter string
		want   bool
	}{
		{`emails[type eq "work"].value eq "a@example.com"`, true},
		{`emails.value co "@example"`, true},
		{`meta.lastModified eq "2011-05-13T04:42:34Z"`, true},
		{`meta.lastModified lt "2011-05-13T04:42:35Z"`, true},
		{`tags eq "y"`, true},
		{`tags pr`, true},
		{`level eq 7`, true},
		{`score eq 0.5`, true},
		{`big eq 1152921504606846976`, true},
		{`big eq 1152921504606846977`, false},
		{`active eq true`, true},
	}
	for _, tt := range tests {
		if got := users.Match(mustParse(t, tt.filter), doc); got != tt.want {
			t.Errorf("Match(%s) = %v, want %v", tt.filter, got, tt.want)
		}
	}
	if users.Match(mustParse(t, `userName pr`), nil) {
		t.Errorf("Match on a nil document = true")
	}
	if !users.Match(mustParse(t, `userName ne "x"`), nil) {
		t.Errorf("Match(userName ne \"x\") on a nil document = false")
	}
}

// Ensure hand-built ASTs that the parser never produces are rejected, not panicked on.
func TestMatchMalformedAST(t *testing.T) {
	doc := decodeDoc(t, "bjensen", false)
	var nilAttr *filter.AttributeExpression
	var nilLogic *filter.LogicalExpression
	tests := []filter.Expression{
		nil,
		nilAttr,
		nilLogic,
		(*filter.NotExpression)(nil),
		(*filter.ValuePath)(nil),
		&filter.NotExpression{},
		&filter.LogicalExpression{Left: pr("userName"), Operator: filter.AND},
		&filter.LogicalExpression{Left: pr("userName"), Right: pr("userName"), Operator: "xor"},
		&filter.ValuePath{AttributePath: attr("emails")},
		&filter.ValuePath{AttributePath: attr("emails"), ValueFilter: vp("emails", pr("value"))},
		&filter.AttributeExpression{AttributePath: attr("userName"), Operator: "like", CompareValue: "x"},
		&filter.AttributeExpression{AttributePath: attr("level"), Operator: filter.EQ, CompareValue: json.Number("x1")},
		&filter.AttributeExpression{AttributePath: attr("level"), Operator: filter.EQ, CompareValue: []int{1}},
	}
	for _, e := range tests {
		if users.Validate(e) == nil {
			t.Errorf("Validate(%#v) = nil, want an error", e)
		}
		if users.Match(e, doc) {
			t.Errorf("Match(%#v) = true", e)
		}
		_ = Format(e)
	}
	if !users.Match(&filter.LogicalExpression{Left: pr("userName"), Right: pr("userName"), Operator: "AND"}, doc) {
		t.Errorf("upper-case AND in a hand-built AST did not match")
	}
}

func TestMatchElement(t *testing.T) {
	work := map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true}
	member := map[string]any{"value": "id1", "display": "One"}
	tests := []struct {
		r      Resolver
		attr   string
		filter string
		elem   map[string]any
		want   bool
	}{
		{users, "emails", `type eq "work"`, work, true},
		{users, "emails", `type eq "home"`, work, false},
		{users, "Emails", `TYPE eq "WORK" and primary eq "True"`, work, true},
		{users, "emails", `value ew "@EXAMPLE.COM"`, work, true},
		{users, "emails", `not(display pr)`, work, true},
		{users, "emails", `foo eq "x"`, work, false},
		{users, "emails", `not(foo eq "x")`, work, false},
		{users, "emails", `emails[type eq "work"]`, work, false},
		{users, "emails", `type eq "work"`, nil, false},
		{users, "emails", `type ne "work"`, nil, true},
		{users, "userName", `value eq "x"`, work, false},
		{users, "name.givenName", `value eq "x"`, work, false},
		{users, "tags", `value eq "x"`, work, false},
		{users, "manager", `value eq "m1"`, map[string]any{"value": "m1"}, true},
		{groups, "members", `value eq "id1"`, member, true},
		{groups, "members", `value eq "ID1"`, member, true},
		{groups, "members", `value eq "id2"`, member, false},
		{groups, "members", `value eq "id1" or value eq "id2"`, member, true},
		{groups, "members", `display sw "O" and not(type pr)`, member, true},
	}
	for _, tt := range tests {
		e := mustParse(t, tt.filter)
		p, err := ParsePath(tt.attr)
		if err != nil {
			t.Fatal(err)
		}
		if got := tt.r.MatchElement(p.AttributePath, e, tt.elem); got != tt.want {
			t.Errorf("MatchElement(%s, %s, %v) = %v, want %v", tt.attr, tt.filter, tt.elem, got, tt.want)
		}
		// ElementMatcher agrees, or refuses what matches nothing.
		m, err := tt.r.ElementMatcher(p.AttributePath, e)
		switch {
		case err != nil && tt.want:
			t.Errorf("ElementMatcher(%s, %s): %v, but MatchElement matches %v", tt.attr, tt.filter, err, tt.elem)
		case err == nil && m(tt.elem) != tt.want:
			t.Errorf("ElementMatcher(%s, %s)(%v) = %v, want %v", tt.attr, tt.filter, tt.elem, !tt.want, tt.want)
		}
	}
}

var validateTests = []struct {
	r      Resolver
	filter string
	want   string // error substring, "" if valid
}{
	{users, `userName eq "x"`, ""},
	{users, `USERNAME eq "x"`, ""},
	{users, `name.givenName eq "x"`, ""},
	{users, `name[givenName eq "x"]`, ""},
	{users, `emails[type eq "work" and value co "x"]`, ""},
	{users, `emails.value eq "x"`, ""},
	{users, `emails eq "x"`, ""},
	{users, `emails pr`, ""},
	{users, `name pr`, ""},
	{users, `tags[value eq "x"]`, ""},
	{users, `schemas eq "x"`, ""},
	{users, `id eq "x" and externalId pr`, ""},
	{users, `meta.version eq "x" and meta.location pr and meta.resourceType eq "User"`, ""},
	{users, `meta.created lt "2011-05-13T04:42:34Z"`, ""},
	{users, `active eq "True"`, ""},
	{users, `active eq null`, ""},
	{users, `x509Certificates.value pr`, ""},
	{users, `x509Certificates.value eq "x"`, ""},
	{users, `urn:ietf:params:scim:schemas:core:2.0:User:id eq "x"`, ""},
	{users, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`, ""},
	{users, `level ge 1.5`, ""},
	{groups, `members.$ref pr`, ""},
	{groups, `members[value eq "x"] and displayName sw "A"`, ""},

	{users, `fooBar eq "x"`, `invalid filter: unknown attribute "fooBar"`},
	{users, `fooBar[x eq "y"]`, `unknown attribute "fooBar"`},
	{users, `emails[foo eq "x"]`, `unknown attribute "foo" in the value filter of "emails"`},
	{users, `emails[value.x eq "1"]`, `unknown attribute "value.x" in the value filter of "emails"`},
	{users, `emails[urn:ietf:params:scim:schemas:core:2.0:User:type eq "1"]`, `in the value filter of "emails"`},
	{users, `tags[foo eq "x"]`, `unknown attribute "foo"`},
	{users, `name.foo pr`, `unknown attribute "name.foo"`},
	{users, `userName.x pr`, `unknown attribute "userName.x"`},
	{users, `urn:unknown:User:userName eq "x"`, `unknown attribute "urn:unknown:User:userName"`},
	{users, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName eq "x"`, `unknown attribute`},
	{users, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:id eq "x"`, `unknown attribute`},
	{groups, `userName eq "x"`, `unknown attribute "userName"`},
	{groups, `employeeNumber eq "x"`, `unknown attribute "employeeNumber"`},
	{users, `active gt true`, `operator "gt" is not allowed on boolean attribute "active"`},
	{users, `emails.primary le false`, `operator "le" is not allowed on boolean attribute "emails.primary"`},
	{users, `x509Certificates.value gt "a"`, `operator "gt" is not allowed on binary attribute`},
	{users, `meta.lastModified co "2011"`, `operator "co" is not allowed on dateTime attribute "meta.lastModified"`},
	{users, `active co "t"`, `operator "co" is not allowed on boolean`},
	{users, `level sw 1`, `operator "sw" is not allowed on integer`},
	{users, `userName eq 5.5`, `attribute "userName" needs a string value`},
	{users, `userName eq 1e3`, `needs a string value`},
	{users, `externalId eq 12345`, ""},
	{users, `externalId eq 123456789012345678901234567890`, ""},
	{users, `userName eq true`, `needs a string value`},
	{users, `active eq "yes"`, `attribute "active" needs true or false`},
	{users, `active eq 1`, `needs true or false`},
	{users, `level eq "3"`, `attribute "level" needs a number`},
	{users, `meta.lastModified gt "yesterday"`, `needs a date and time`},
	{users, `meta.lastModified gt 5`, `needs a date and time`},
	{users, `userName co null`, `operator "co" needs a value, not null`},
	{users, `level gt null`, `needs a value, not null`},
	{users, `name eq "x"`, `"name" is a complex attribute; compare one of its sub-attributes`},
	{users, `manager eq "x"`, ""}, // manager has a value sub-attribute
	{users, `userName[value eq "x"]`, `value filter on "userName", which is neither multi-valued nor complex`},
	{users, `emails[type eq "work"] and emails[value eq 1.5]`, `attribute "emails.value" needs a string value`},
	{users, `emails[type gt "a"]`, ""},
	{users, `emails[primary gt true]`, `not allowed on boolean attribute "emails.primary"`},
}

func TestValidate(t *testing.T) {
	for _, tt := range validateTests {
		err := tt.r.Validate(mustParse(t, tt.filter))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Validate(%s) = %v, want nil", tt.filter, err)
		case tt.want != "" && err == nil:
			t.Errorf("Validate(%s) = nil, want error containing %q", tt.filter, tt.want)
		case tt.want != "" && !strings.Contains(err.Error(), tt.want):
			t.Errorf("Validate(%s) = %q, want it to contain %q", tt.filter, err, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		r    Resolver
		in   string
		want filter.Expression
	}{
		{users, `emails eq "x"`, eq("emails.value", "x")},
		{users, `emails.value EQ "x"`, eq("emails.value", "x")},
		{users, `Emails CO "x"`, cmpx(attr("Emails.value"), filter.CO, "x")},
		{users, `emails pr`, pr("emails")},
		{users, `active eq "True"`, eq("active", true)},
		{users, `emails[primary eq "FALSE"]`, vp("emails", eq("primary", false))},
		{users, `externalId eq 12345`, eq("externalId", "12345")},
		{users, `externalId eq 123456789012345678901234567890`, eq("externalId", "123456789012345678901234567890")},
		{users, `level eq 3`, eq("level", 3)},
		{users, `title eq null`, eq("title", nil)},
		{users, `meta.lastModified gt "2011-05-13T04:42:34"`,
			cmpx(attr("meta.lastModified"), filter.GT, time.Date(2011, 5, 13, 4, 42, 34, 0, time.UTC))},
		{groups, `members eq "id1" or not(displayName sw "A")`,
			&filter.LogicalExpression{Left: eq("members.value", "id1"), Right: not(cmpx(attr("displayName"), filter.SW, "A")), Operator: filter.OR}},
		{users, `emails[type eq "work"].value eq "x"`, vp("emails", and(eq("type", "work"), eq("value", "x")))},
	}
	for _, tt := range tests {
		got, err := tt.r.Normalize(mustParse(t, tt.in))
		if err != nil {
			t.Errorf("Normalize(%s): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Normalize(%s) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
	if _, err := users.Normalize(mustParse(t, `fooBar eq "x"`)); err == nil {
		t.Errorf("Normalize(fooBar eq \"x\") = nil error")
	}
	upper := &filter.LogicalExpression{Left: pr("userName"), Right: pr("title"), Operator: "OR"}
	got, err := users.Normalize(upper)
	if err != nil || got.(*filter.LogicalExpression).Operator != filter.OR {
		t.Errorf("Normalize(OR) = %v, %v; want lower-case or", got, err)
	}
}

func TestValidatePath(t *testing.T) {
	tests := []struct {
		r    Resolver
		path string
		want string
	}{
		{groups, `members`, ""},
		{groups, `members[value eq "u1"]`, ""},
		{groups, `members[value eq "u1" or value eq "u2"]`, ""},
		{groups, `members[value eq "u1"].display`, ""},
		{groups, `displayName`, ""},
		{users, `emails[type eq "work"].value`, ""},
		{users, `name.givenName`, ""},
		{users, `NAME.GIVENNAME`, ""},
		{users, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`, ""},
		{users, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`, ""},
		{users, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, ""},
		{users, `urn:ietf:params:scim:schemas:core:2.0:User`, ""},
		{users, `foo`, `invalid path: unknown attribute "foo"`},
		{users, `urn:example:other:2.0:User`, `unknown attribute`},
		{users, `emails[type eq "work"].bogus`, `unknown attribute "emails.bogus"`},
		{users, `emails[bogus eq "work"]`, `unknown attribute "bogus" in the value filter of "emails"`},
		{users, `tags[value eq "x"].value`, `unknown attribute "tags.value"`},
		{users, `userName[value eq "x"]`, `neither multi-valued nor complex`},
		{groups, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`, `unknown attribute`},
	}
	for _, tt := range tests {
		p, err := ParsePath(tt.path)
		if err != nil {
			t.Fatalf("ParsePath(%q): %v", tt.path, err)
		}
		err = tt.r.ValidatePath(p)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("ValidatePath(%s) = %v, want nil", tt.path, err)
		case tt.want != "" && err == nil:
			t.Errorf("ValidatePath(%s) = nil, want error containing %q", tt.path, tt.want)
		case tt.want != "" && !strings.Contains(err.Error(), tt.want):
			t.Errorf("ValidatePath(%s) = %q, want it to contain %q", tt.path, err, tt.want)
		}
	}
	if err := users.ValidatePath(filter.Path{AttributePath: attr("name"), SubAttribute: ptr("givenName")}); err == nil {
		t.Errorf("ValidatePath with SubAttribute but no value filter = nil")
	}
}

func TestAttribute(t *testing.T) {
	tests := []struct {
		r         Resolver
		path      string
		schemaID  string
		extension bool
		leafName  string
		leafType  string
		caseExact bool
	}{
		{users, "userName", coreUser, false, "userName", "string", false},
		{users, "USERNAME", coreUser, false, "userName", "string", false},
		{users, "externalId", coreUser, false, "externalId", "string", true},
		{users, "id", coreUser, false, "id", "string", true},
		{users, "meta.lastModified", coreUser, false, "lastModified", "dateTime", false},
		{users, "emails.VALUE", coreUser, false, "value", "string", false},
		{users, "active", coreUser, false, "active", "boolean", false},
		{users, "employeeNumber", enterprise, true, "employeeNumber", "string", false},
		{users, enterprise + ":manager.value", enterprise, true, "value", "string", false},
		{users, "urn:example:my_ext:2.0:User:level", testExtID, true, "level", "integer", false},
		{groups, "members.value", "urn:ietf:params:scim:schemas:core:2.0:Group", false, "value", "string", false},
		{groups, "displayName", "urn:ietf:params:scim:schemas:core:2.0:Group", false, "displayName", "string", false},
	}
	for _, tt := range tests {
		p, err := ParsePath(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := tt.r.Attribute(p.AttributePath)
		if !ok {
			t.Errorf("Attribute(%s) not found", tt.path)
			continue
		}
		leaf := got.Leaf()
		if got.Schema != tt.schemaID || got.Extension != tt.extension || leaf.Name() != tt.leafName ||
			leaf.AttributeType() != tt.leafType || leaf.CaseExact() != tt.caseExact {
			t.Errorf("Attribute(%s) = {%s %v %s %s %v}, want {%s %v %s %s %v}", tt.path,
				got.Schema, got.Extension, leaf.Name(), leaf.AttributeType(), leaf.CaseExact(),
				tt.schemaID, tt.extension, tt.leafName, tt.leafType, tt.caseExact)
		}
	}
	if _, ok := users.Attribute(attr("nope")); ok {
		t.Errorf("Attribute(nope) found")
	}
	p, _ := ParsePath(enterprise)
	if s, ok := users.Schema(p.AttributePath); !ok || s.ID != enterprise {
		t.Errorf("Schema(%s) = %q, %v", enterprise, s.ID, ok)
	}
	if _, ok := users.Schema(attr("userName")); ok {
		t.Errorf("Schema(userName) found")
	}
}

// Ensure every error message is free of Go type names and control bytes, so
// that it can go to a SCIM client as is.
func TestErrorMessagesAreClientSafe(t *testing.T) {
	var inputs []string
	for _, tt := range parseErrorTests {
		inputs = append(inputs, tt.in)
	}
	for _, in := range inputs {
		_, err := ParseFilter(in)
		if err == nil {
			continue
		}
		msg := err.Error()
		for _, bad := range []string{"filter.", "*", "%!", "interface", "\x00"} {
			if strings.Contains(msg, bad) {
				t.Errorf("ParseFilter(%q) error %q contains %q", in, msg, bad)
			}
		}
		if !bytes.Equal([]byte(msg), []byte(strings.ToValidUTF8(msg, "?"))) {
			t.Errorf("ParseFilter(%q) error is not valid UTF-8: %q", in, msg)
		}
	}
}
