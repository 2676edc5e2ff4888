package expr

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scim2/filter-parser/v2"
)

// attr builds an attribute path without URI from "name" or "name.sub".
func attr(s string) filter.AttributePath {
	name, sub, ok := strings.Cut(s, ".")
	p := filter.AttributePath{AttributeName: name}
	if ok {
		p.SubAttribute = &sub
	}
	return p
}

// uattr builds an attribute path with a URI prefix.
func uattr(uri, s string) filter.AttributePath {
	p := attr(s)
	p.URIPrefix = &uri
	return p
}

func cmpx(p filter.AttributePath, op filter.CompareOperator, v any) *filter.AttributeExpression {
	return &filter.AttributeExpression{AttributePath: p, Operator: op, CompareValue: v}
}

func eq(name string, v any) *filter.AttributeExpression { return cmpx(attr(name), filter.EQ, v) }

func pr(name string) *filter.AttributeExpression {
	return &filter.AttributeExpression{AttributePath: attr(name), Operator: filter.PR}
}

func and(l, r filter.Expression) *filter.LogicalExpression {
	return &filter.LogicalExpression{Left: l, Right: r, Operator: filter.AND}
}

func or(l, r filter.Expression) *filter.LogicalExpression {
	return &filter.LogicalExpression{Left: l, Right: r, Operator: filter.OR}
}

func not(e filter.Expression) *filter.NotExpression { return &filter.NotExpression{Expression: e} }

func vp(name string, e filter.Expression) *filter.ValuePath {
	return &filter.ValuePath{AttributePath: attr(name), ValueFilter: e}
}

const (
	coreUser   = "urn:ietf:params:scim:schemas:core:2.0:User"
	enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

var parseTests = []struct {
	in   string
	want filter.Expression
}{
	// RFC 7644 §3.4.2.2 examples.
	{`userName eq "bjensen"`, eq("userName", "bjensen")},
	{`name.familyName co "O'Malley"`, cmpx(attr("name.familyName"), filter.CO, "O'Malley")},
	{`userName sw "J"`, cmpx(attr("userName"), filter.SW, "J")},
	{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, cmpx(uattr(coreUser, "userName"), filter.SW, "J")},
	{`title pr`, pr("title")},
	{`meta.lastModified gt "2011-05-13T04:42:34Z"`, cmpx(attr("meta.lastModified"), filter.GT, "2011-05-13T04:42:34Z")},
	{`meta.lastModified ge "2011-05-13T04:42:34Z"`, cmpx(attr("meta.lastModified"), filter.GE, "2011-05-13T04:42:34Z")},
	{`meta.lastModified lt "2011-05-13T04:42:34Z"`, cmpx(attr("meta.lastModified"), filter.LT, "2011-05-13T04:42:34Z")},
	{`meta.lastModified le "2011-05-13T04:42:34Z"`, cmpx(attr("meta.lastModified"), filter.LE, "2011-05-13T04:42:34Z")},
	{`title pr and userType eq "Employee"`, and(pr("title"), eq("userType", "Employee"))},
	{`title pr or userType eq "Intern"`, or(pr("title"), eq("userType", "Intern"))},
	{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, eq("schemas", enterprise)},
	{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
		and(eq("userType", "Employee"), or(cmpx(attr("emails"), filter.CO, "example.com"), cmpx(attr("emails.value"), filter.CO, "example.org")))},
	{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
		and(cmpx(attr("userType"), filter.NE, "Employee"), not(or(cmpx(attr("emails"), filter.CO, "example.com"), cmpx(attr("emails.value"), filter.CO, "example.org"))))},
	{`userType eq "Employee" and (emails.type eq "work")`, and(eq("userType", "Employee"), eq("emails.type", "work"))},
	{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
		and(eq("userType", "Employee"), vp("emails", and(eq("type", "work"), cmpx(attr("value"), filter.CO, "@example.com"))))},
	{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
		or(vp("emails", and(eq("type", "work"), cmpx(attr("value"), filter.CO, "@example.com"))),
			vp("ims", and(eq("type", "xmpp"), cmpx(attr("value"), filter.CO, "@foo.com"))))},

	// Precedence: not > and > or, left-associative.
	{`a pr or b pr and c pr`, or(pr("a"), and(pr("b"), pr("c")))},
	{`a pr and b pr or c pr`, or(and(pr("a"), pr("b")), pr("c"))},
	{`a pr and b pr and c pr`, and(and(pr("a"), pr("b")), pr("c"))},
	{`a pr or b pr or c pr`, or(or(pr("a"), pr("b")), pr("c"))},
	{`a pr and (b pr and c pr)`, and(pr("a"), and(pr("b"), pr("c")))},
	{`(a pr or b pr) and c pr`, and(or(pr("a"), pr("b")), pr("c"))},
	{`not(a pr) and b pr`, and(not(pr("a")), pr("b"))},
	{`not(a pr or b pr)`, not(or(pr("a"), pr("b")))},
	{`not(not(a pr))`, not(not(pr("a")))},
	{`((a pr))`, pr("a")},

	// Case-insensitive keywords and operators; names kept as written.
	{`userName EQ "x" AND title Pr OR NOT (x Pr)`, or(and(eq("userName", "x"), pr("title")), not(pr("x")))},
	{`UserName Eq "X"`, eq("UserName", "X")},
	{`Emails[Type eQ "work"]`, vp("Emails", eq("Type", "work"))},

	// White space.
	{"  userName   eq\t\"x\"   and\ttitle pr  ", and(eq("userName", "x"), pr("title"))},
	{`( userName eq "x" )`, eq("userName", "x")},
	{`emails[ type eq "work" ]`, vp("emails", eq("type", "work"))},
	{`not  ( a pr )`, not(pr("a"))},
	{"a pr\nand\r\nb pr", and(pr("a"), pr("b"))},
	{`(a pr)and(b pr)`, and(pr("a"), pr("b"))},
	{`(a eq "x")or b pr`, or(eq("a", "x"), pr("b"))},
	{`emails[type eq "work"]and(b eq 1)`, and(vp("emails", eq("type", "work")), eq("b", 1))},
	{`emails[primary eq true]`, vp("emails", eq("primary", true))},
	{`(a eq null)`, eq("a", nil)},

	// Names.
	{`members.$ref eq "x"`, eq("members.$ref", "x")},
	{`members[$ref eq "x"]`, vp("members", eq("$ref", "x"))},
	{`my-attr_1 eq "x"`, eq("my-attr_1", "x")},
	{`not pr`, pr("not")},
	{`not eq "x"`, eq("not", "x")},
	{`and pr`, pr("and")},
	{`a pr and and pr`, and(pr("a"), pr("and"))},
	{`or pr or not(or pr)`, or(pr("or"), not(pr("or")))},

	// URN prefixes.
	{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`, cmpx(uattr(enterprise, "manager.value"), filter.EQ, "x")},
	{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1"`, cmpx(uattr(enterprise, "employeeNumber"), filter.EQ, "1")},
	{`urn:example:my_ext:2.0:User:attr eq "1"`, cmpx(uattr("urn:example:my_ext:2.0:User", "attr"), filter.EQ, "1")},
	{`urn:example:a%2Fb~c:User:attr pr`, &filter.AttributeExpression{AttributePath: uattr("urn:example:a%2Fb~c:User", "attr"), Operator: filter.PR}},
	{`URN:IETF:params:scim:schemas:core:2.0:User:NAME.GIVENNAME pr`, &filter.AttributeExpression{AttributePath: uattr("URN:IETF:params:scim:schemas:core:2.0:User", "NAME.GIVENNAME"), Operator: filter.PR}},
	{`urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]`, &filter.ValuePath{AttributePath: uattr(coreUser, "emails"), ValueFilter: eq("type", "work")}},

	// Value paths with full filters inside.
	{`emails[type eq "work" and value co "x" and primary eq true]`,
		vp("emails", and(and(eq("type", "work"), cmpx(attr("value"), filter.CO, "x")), eq("primary", true)))},
	{`emails[(type eq "work" or type eq "home") and not(value ew ".org")]`,
		vp("emails", and(or(eq("type", "work"), eq("type", "home")), not(cmpx(attr("value"), filter.EW, ".org"))))},
	{`emails[not(type eq "work")]`, vp("emails", not(eq("type", "work")))},
	{`members[value eq "2819c223"]`, vp("members", eq("value", "2819c223"))},
	{`members[value eq "a"] and members[value eq "b"]`, and(vp("members", eq("value", "a")), vp("members", eq("value", "b")))},

	// attr[filter].sub op value, as Microsoft's SCIM Validator sends it.
	{`emails[type eq "work"].value eq "x"`, vp("emails", and(eq("type", "work"), eq("value", "x")))},
	{`emails[type eq "work"].value pr`, vp("emails", and(eq("type", "work"), pr("value")))},
	{`emails[type eq "work" or type eq "home"].value co "x"`,
		vp("emails", and(or(eq("type", "work"), eq("type", "home")), cmpx(attr("value"), filter.CO, "x")))},
	{`emails[type eq "work"].value eq "x" and userName pr`, and(vp("emails", and(eq("type", "work"), eq("value", "x"))), pr("userName"))},
	{`addresses[type eq "work"].postalCode EQ "91608"`, vp("addresses", and(eq("type", "work"), eq("postalCode", "91608")))},

	// Strings.
	{`a eq "a\"b\\c\/d\b\f\n\r\t"`, eq("a", "a\"b\\c/d\b\f\n\r\t")},
	{`displayName eq "Bob \"B\" Smith"`, eq("displayName", `Bob "B" Smith`)},
	{`a eq "caf\u00e9"`, eq("a", "café")},
	{`a eq "caf\u00E9"`, eq("a", "café")},
	{`a eq "\ud83d\ude00 \uD83D\uDE00"`, eq("a", "😀 😀")},
	{`a eq "café 😀"`, eq("a", "café 😀")},
	{`a eq "\u0000"`, eq("a", "\x00")},
	{`a eq ""`, eq("a", "")},
	{`a eq "x)]"`, eq("a", "x)]")},

	// Literals.
	{`a eq true`, eq("a", true)},
	{`a eq TRUE`, eq("a", true)},
	{`a eq False`, eq("a", false)},
	{`a eq null`, eq("a", nil)},
	{`a eq NULL`, eq("a", nil)},
	{`a eq 1`, eq("a", 1)},
	{`a eq -5`, eq("a", -5)},
	{`a eq 0`, eq("a", 0)},
	{`a eq -0`, eq("a", 0)},
	{`a eq 1.5`, eq("a", 1.5)},
	{`a eq 1e3`, eq("a", 1000.0)},
	{`a eq 1E-2`, eq("a", 0.01)},
	{`a eq 1.0`, eq("a", 1.0)},
	{`a eq 9007199254740993`, eq("a", 9007199254740993)},
	{`a eq 9223372036854775807`, eq("a", 9223372036854775807)},
	{`a eq 9223372036854775808`, eq("a", json.Number("9223372036854775808"))},
	{`a eq -123456789012345678901234567890`, eq("a", json.Number("-123456789012345678901234567890"))},

	// Unquoted values, as Microsoft's SCIM reference collection sends them.
	{`externalId eq jyoung`, eq("externalId", "jyoung")},
	{`userName sw O`, cmpx(attr("userName"), filter.SW, "O")},
	{`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, cmpx(attr("meta.Created"), filter.GT, "2015-10-10T14:38:21.8617979-07:00")},
	{`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`,
		and(eq("name.FamilyName", "Employee"), or(cmpx(attr("emails.Value"), filter.CO, "example.com"), cmpx(attr("emails.Value"), filter.CO, "example.org")))},
	{`userName eq bjensen@example.com`, eq("userName", "bjensen@example.com")},
	{`userName eq bjensen@example.com and title pr`, and(eq("userName", "bjensen@example.com"), pr("title"))},
	{`x eq 0123`, eq("x", "0123")},
	{`x eq +1`, eq("x", "+1")},
	{`x eq 1.`, eq("x", "1.")},
	{`x eq 1and`, eq("x", "1and")},
	{`x eq truthy`, eq("x", "truthy")},
	{`x eq and`, eq("x", "and")},
	{`(x eq abc)`, eq("x", "abc")},
	{`emails[value eq abc]`, vp("emails", eq("value", "abc"))},
	{`emails[type eq work].value eq x`, vp("emails", and(eq("type", "work"), eq("value", "x")))},
}

func TestParseFilter(t *testing.T) {
	for _, tt := range parseTests {
		got, err := ParseFilter(tt.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseFilter(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

var parseErrorTests = []struct {
	in   string
	want string // substring of the error message
}{
	{``, "at offset 0: empty filter"},
	{"  \t", "empty filter"},
	{`userName`, `invalid filter at offset 8: expected a comparison operator after "userName"`},
	{`userName "x"`, `expected a comparison operator after "userName"`},
	{`userName xx "a"`, `invalid filter at offset 9: unknown operator "xx"`},
	{`userName equals "a"`, `unknown operator "equals"`},
	{`userName eq"x"`, `expected a comparison operator after "userName"`},
	{`userName eq`, `missing value after "eq"`},
	{`userName eq `, `missing value after "eq"`},
	{`(userName eq)`, `missing value after "eq"`},
	{`emails[value eq]`, `missing value after "eq"`},
	{`(a pr`, `missing ")"`},
	{`((a pr)`, `missing ")"`},
	{`a pr)`, `unbalanced ")"`},
	{`(a pr))`, `unbalanced ")"`},
	{`emails[type eq "x"`, `missing "]"`},
	{`emails[type eq "x")`, `expected "]"`},
	{`(emails[type eq "x")]`, `expected "]"`},
	{`a pr]`, `unbalanced "]"`},
	{`(a pr]`, `expected ")"`},
	{`()`, `expected an attribute name, found ")"`},
	{`emails[]`, `expected an attribute name, found "]"`},
	{`a pr b pr`, `unexpected "b"; expected "and", "or" or the end of the filter`},
	{`a eq "x" "y"`, `unexpected "\"y\""`},
	{`a eq "x"y`, `at offset 8: expected white space after the comparison value, found "y"`},
	{`(a pr b pr)`, `expected ")", "and" or "or", found "b"`},
	{`a pr and`, `expected an attribute name, found end of input`},
	{`a pr or`, `expected an attribute name, found end of input`},
	{`a pr andb pr`, `unexpected "andb"`},
	{`not(a pr`, `missing ")"`},
	{`not a pr`, `unknown operator "a"`},
	{`emails[x[y eq 1]]`, `value filters cannot be nested`},
	{`emails[type eq "work" and x[y eq 1]]`, `value filters cannot be nested`},
	{`name.givenName[x pr]`, `a value filter must follow an attribute, not a sub-attribute`},
	{`title pr "x"`, `operator "pr" takes no value`},
	{`title pr x`, `unexpected "x"`},
	{`title pr 5`, `operator "pr" takes no value`},
	{`title pr null`, `operator "pr" takes no value`},
	{`emails[type pr "x"]`, `operator "pr" takes no value`},
	{`userName eq "abc`, `at offset 12: unterminated string`},
	{`userName eq "abc\`, `unterminated string`},
	{`a eq "\x"`, `invalid escape "\\x"`},
	{`a eq "\u12"`, `invalid \u escape`},
	{`a eq "\u12g4"`, `invalid \u escape`},
	{`a eq "\ud800"`, `invalid surrogate pair`},
	{`a eq "\ud800\u0041"`, `invalid surrogate pair`},
	{`a eq "\udc00\ud800"`, `invalid surrogate pair`},
	{"a eq \"\t\"", `control character in string`},
	// Found by FuzzParseFilter: raw control characters in an unquoted value.
	{"unue eq se\x1a\x1all", `at offset 10: control character in value`},
	{"a eq x\x00", `control character in value`},
	{"a eq \"\xff\"", `at offset 6: invalid UTF-8`},
	{"\xc3 pr", `at offset 0: invalid UTF-8`},
	{`1abc eq 1`, `invalid attribute name "1abc"`},
	{`_a eq 1`, `invalid attribute name "_a"`},
	{`a@b eq 1`, `invalid attribute name "a@b"`},
	{`:userName eq 1`, `empty schema URI`},
	{`urn:x: eq 1`, `invalid attribute name ""`},
	{`a.b.c eq 1`, `invalid sub-attribute name "b.c"`},
	{`a. eq 1`, `invalid sub-attribute name ""`},
	{`emails[type eq "work"].value`, `expected a comparison operator after "value"`},
	{`emails[type eq "work"].`, `expected a sub-attribute name after "].", found end of input`},
	{`emails[type eq "work"].1 eq 1`, `expected a sub-attribute name`},
	{`emails[type eq "work"].value.x eq 1`, `expected a sub-attribute name`},
	{`emails[type eq "work"] eq "x"`, `unexpected "eq"`},
	{`emails [type eq "work"]`, `expected a comparison operator after "emails", found "[type"`},
	{`a eq 1e999`, `number 1e999 out of range`},
	{`a eq -1e999`, `out of range`},
	{`a eq "x" and (b pr or (c pr)`, `missing ")"`},

	// An unquoted word holding a quotation mark is a mistyped string.
	{`userName eq 'alice'`, `invalid filter at offset 12: a string value must be in double quotes, as JSON writes it; found "'alice'"`},
	{`userName eq 'alice smith'`, `found "'alice"`},
	{`userName eq “alice”`, `found "“alice”"`},
	{`x eq 1"a"`, `found "1\"a\""`},
	{`x eq a"b`, `found "a\"b"`},
	{`(x eq a'b)`, `at offset 6: a string value must be in double quotes`},
	{`emails[value eq 'abc']`, `at offset 16: a string value must be in double quotes`},
	{`x eq '` + strings.Repeat("y", 30), `found "'yyyyyyyyyyyyyyyyyyyyyyy"`},

	// White space separates a value from a following "and" or "or".
	{`userName eq "alice"and active eq true`, `at offset 19: expected white space after the comparison value, found "and"`},
	{`a eq "x"or b pr`, `expected white space after the comparison value, found "or"`},
	{`emails[type eq "x"and value pr]`, `expected white space after the comparison value, found "and"`},
	{`emails[type eq "work"].value eq "x"or b pr`, `expected white space after the comparison value, found "or"`},
	{`a eq "x"(b pr)`, `expected white space after the comparison value, found "(b"`},
}

func TestParseFilterErrors(t *testing.T) {
	for _, tt := range parseErrorTests {
		got, err := ParseFilter(tt.in)
		if err == nil {
			t.Errorf("ParseFilter(%q) = %s, want error containing %q", tt.in, Format(got), tt.want)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseFilter(%q) error %T, want *SyntaxError", tt.in, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseFilter(%q) error %q, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestParseFilterLimits(t *testing.T) {
	nest := func(n int) string {
		return strings.Repeat("(", n) + "a pr" + strings.Repeat(")", n)
	}
	terms := func(n int) string {
		return strings.TrimSuffix(strings.Repeat("a pr or ", n), " or ")
	}
	long := `a eq "` + strings.Repeat("x", MaxFilterLength) + `"`
	tests := []struct {
		in      string
		tooMany bool
	}{
		{nest(MaxDepth), false},
		{nest(MaxDepth + 1), true},
		{strings.Repeat("not(", MaxDepth) + "a pr" + strings.Repeat(")", MaxDepth), false},
		{strings.Repeat("not(", MaxDepth+1) + "a pr" + strings.Repeat(")", MaxDepth+1), true},
		{"emails[" + nest(MaxDepth-1) + "]", false},
		{"emails[" + nest(MaxDepth) + "]", true},
		{terms(MaxTerms), false},
		{terms(MaxTerms + 1), true},
		// The rewritten attr[f].sub op v form counts its extra comparison.
		{terms(MaxTerms-2) + ` or emails[type eq "x"].value pr`, false},
		{terms(MaxTerms-1) + ` or emails[type eq "x"].value pr`, true},
		{long[:MaxFilterLength-1] + `"`, false},
		{long, true},
	}
	for _, tt := range tests {
		_, err := ParseFilter(tt.in)
		if got := errors.Is(err, ErrTooComplex); got != tt.tooMany {
			t.Errorf("ParseFilter(%.40q…) error %v, want ErrTooComplex: %v", tt.in, err, tt.tooMany)
		}
		if !tt.tooMany && err != nil {
			t.Errorf("ParseFilter(%.40q…): %v", tt.in, err)
		}
	}
	if _, err := ParsePath("members[" + nest(MaxDepth) + "]"); !errors.Is(err, ErrTooComplex) {
		t.Errorf("ParsePath with deep nesting: error %v, want ErrTooComplex", err)
	}
}

var pathTests = []struct {
	in   string
	want filter.Path
}{
	{`members`, filter.Path{AttributePath: attr("members")}},
	{`members[value eq "u1"]`, filter.Path{AttributePath: attr("members"), ValueExpression: eq("value", "u1")}},
	{`members[value eq "u1" or value eq "u2"]`, filter.Path{AttributePath: attr("members"), ValueExpression: or(eq("value", "u1"), eq("value", "u2"))}},
	{`Members[Value EQ "u1"]`, filter.Path{AttributePath: attr("Members"), ValueExpression: eq("Value", "u1")}},
	{`emails[type eq "work"].value`, filter.Path{AttributePath: attr("emails"), ValueExpression: eq("type", "work"), SubAttribute: ptr("value")}},
	{`emails[type eq "work" and primary eq true].display`, filter.Path{AttributePath: attr("emails"), ValueExpression: and(eq("type", "work"), eq("primary", true)), SubAttribute: ptr("display")}},
	{`name.givenName`, filter.Path{AttributePath: attr("name.givenName")}},
	{`NAME.GIVENNAME`, filter.Path{AttributePath: attr("NAME.GIVENNAME")}},
	{`members.$ref`, filter.Path{AttributePath: attr("members.$ref")}},
	{` displayName `, filter.Path{AttributePath: attr("displayName")}},
	{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`, filter.Path{AttributePath: uattr(enterprise, "employeeNumber")}},
	{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, filter.Path{AttributePath: uattr(enterprise, "manager.value")}},
	{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`, filter.Path{AttributePath: uattr("urn:ietf:params:scim:schemas:extension:enterprise:2.0", "User")}},
	{`urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value`, filter.Path{AttributePath: uattr(coreUser, "emails"), ValueExpression: eq("type", "work"), SubAttribute: ptr("value")}},
	{`emails[type eq work]`, filter.Path{AttributePath: attr("emails"), ValueExpression: eq("type", "work")}},
}

func ptr(s string) *string { return &s }

func TestParsePath(t *testing.T) {
	for _, tt := range pathTests {
		got, err := ParsePath(tt.in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParsePath(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

var pathErrorTests = []struct {
	in   string
	want string
}{
	{``, `invalid path at offset 0: empty path`},
	{`userName eq "x"`, `invalid path at offset 9: unexpected "eq" after path`},
	{`title pr`, `unexpected "pr" after path`},
	{`members[value eq "u1"`, `missing "]"`},
	{`members[value eq "u1"]]`, `unexpected "]" after path`},
	{`members[value eq "u1"].`, `expected a sub-attribute name`},
	{`emails[type eq "work"].value.display`, `expected a sub-attribute name`},
	{`emails[type eq "work"]x`, `unexpected "x" after path`},
	{`name.givenName[x pr]`, `a value filter must follow an attribute`},
	{`members[x[y pr]]`, `value filters cannot be nested`},
	{`members[]`, `expected an attribute name`},
	{`(members)`, `expected an attribute name, found "(members)"`},
	{`a.b.c`, `invalid sub-attribute name "b.c"`},
	{`urn:x:`, `invalid attribute name ""`},
	{`emails[type eq 'work']`, `invalid path at offset 15: a string value must be in double quotes, as JSON writes it; found "'work'"`},
	{`members[value eq "u1"or value eq "u2"]`, `expected white space after the comparison value, found "or"`},
}

func TestParsePathErrors(t *testing.T) {
	for _, tt := range pathErrorTests {
		got, err := ParsePath(tt.in)
		if err == nil {
			t.Errorf("ParsePath(%q) = %s, want error containing %q", tt.in, FormatPath(got), tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParsePath(%q) error %q, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in   filter.Expression
		want string
	}{
		{and(pr("a"), and(pr("b"), pr("c"))), `a pr and (b pr and c pr)`},
		{and(and(pr("a"), pr("b")), pr("c")), `a pr and b pr and c pr`},
		{or(pr("a"), or(pr("b"), pr("c"))), `a pr or (b pr or c pr)`},
		{and(or(pr("a"), pr("b")), pr("c")), `(a pr or b pr) and c pr`},
		{or(and(pr("a"), pr("b")), pr("c")), `a pr and b pr or c pr`},
		{not(or(pr("a"), pr("b"))), `not(a pr or b pr)`},
		{vp("emails", and(eq("type", "work"), eq("value", "x"))), `emails[type eq "work" and value eq "x"]`},
		{eq("a", "q\"\\\x01\n\t/é"), `a eq "q\"\\\u0001\n\t/é"`},
		{eq("a", 1.0), `a eq 1.0`},
		{eq("a", 1e21), `a eq 1e+21`},
		{eq("a", 0.5), `a eq 0.5`},
		{eq("a", 7), `a eq 7`},
		{eq("a", json.Number("123456789012345678901234567890")), `a eq 123456789012345678901234567890`},
		{eq("a", nil), `a eq null`},
		{eq("a", false), `a eq false`},
		{&filter.AttributeExpression{AttributePath: uattr(enterprise, "manager.value"), Operator: "EQ", CompareValue: "x"}, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`},
	}
	for _, tt := range tests {
		if got := Format(tt.in); got != tt.want {
			t.Errorf("Format = %s, want %s", got, tt.want)
		}
		back, err := ParseFilter(tt.want)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.want, err)
			continue
		}
		if diff := cmp.Diff(normalize(tt.in), back); diff != "" {
			t.Errorf("ParseFilter(Format(e)) mismatch (-want +got):\n%s", diff)
		}
	}
}

// normalize lower-cases operators, as the parser does.
func normalize(e filter.Expression) filter.Expression {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		c := *e
		c.Operator = filter.CompareOperator(strings.ToLower(string(c.Operator)))
		return &c
	case *filter.LogicalExpression:
		return &filter.LogicalExpression{Left: normalize(e.Left), Right: normalize(e.Right), Operator: e.Operator}
	case *filter.NotExpression:
		return not(normalize(e.Expression))
	case *filter.ValuePath:
		return &filter.ValuePath{AttributePath: e.AttributePath, ValueFilter: normalize(e.ValueFilter)}
	}
	return e
}

func TestFormatRoundTrip(t *testing.T) {
	for _, tt := range parseTests {
		checkRoundTrip(t, tt.in)
	}
	for _, tt := range pathTests {
		p, err := ParsePath(tt.in)
		if err != nil {
			continue
		}
		s := FormatPath(p)
		back, err := ParsePath(s)
		if err != nil {
			t.Errorf("ParsePath(FormatPath(ParsePath(%q)) = %q): %v", tt.in, s, err)
			continue
		}
		if diff := cmp.Diff(p, back); diff != "" {
			t.Errorf("ParsePath(%q) round trip mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

// roundTripLimits lets the printed form of a filter grow: quoting bare
// values and rewriting attr[f].sub op v make it longer or one level deeper.
var roundTripLimits = limits{length: 4 * MaxFilterLength, depth: MaxDepth + 1, terms: MaxTerms}

// checkRoundTrip checks that, if s parses, its printed form parses to the same AST.
func checkRoundTrip(t *testing.T, s string) {
	t.Helper()
	e, err := ParseFilter(s)
	if err != nil {
		return
	}
	printed := Format(e)
	back, err := parseFilter(printed, roundTripLimits)
	if err != nil {
		t.Fatalf("ParseFilter(%q) = %s, which does not parse: %v", s, printed, err)
	}
	if diff := cmp.Diff(e, back); diff != "" {
		t.Fatalf("ParseFilter(%q) = %s, which parses differently (-want +got):\n%s", s, printed, diff)
	}
}
