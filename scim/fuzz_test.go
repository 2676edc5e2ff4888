package scim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

var ifMatchCases = []struct {
	header  string
	version int64
	want    bool
}{
	{`W/"3"`, 3, true},
	{`"3"`, 3, true},
	{`*`, 9, true},
	{`W/"2", W/"3"`, 3, true},
	{` W/"3" `, 3, true},
	{`W/"4"`, 3, false},
	{`W/3`, 3, false},
	{`W/"3`, 3, false},
	{`"33"`, 3, false},
	{``, 3, false},
	{`W/""`, 0, false},
}

// Ensure If-Match and If-None-Match parsing compares weakly and only whole tags.
func TestMatchesETag(t *testing.T) {
	for _, tt := range ifMatchCases {
		if got := matchesETag(tt.header, tt.version); got != tt.want {
			t.Errorf("matchesETag(%q, %d) = %v, want %v", tt.header, tt.version, got, tt.want)
		}
	}
}

func FuzzMatchesETag(f *testing.F) {
	for _, tt := range ifMatchCases {
		f.Add(tt.header, tt.version)
	}
	f.Fuzz(func(t *testing.T, header string, version int64) {
		got := matchesETag(header, version)
		if got && !strings.Contains(header, "*") && !strings.Contains(header, `"`+strconv.FormatInt(version, 10)+`"`) {
			t.Errorf("matchesETag(%q, %d) accepted a header without the version", header, version)
		}
		if !matchesETag(etag(version), version) || !matchesETag(header+","+etag(version), version) {
			t.Errorf("the version's own tag does not match")
		}
	})
}

var bearerCases = []struct {
	header, token string
	ok            bool
}{
	{"Bearer abc", "abc", true},
	{"bearer abc", "abc", true},
	{"BEARER   abc  ", "abc", true},
	{"Bearer", "", false},
	{"Bearer ", "", false},
	{"Basic abc", "", false},
	{"abc", "", false},
	{"", "", false},
}

func TestBearer(t *testing.T) {
	for _, tt := range bearerCases {
		tok, ok := bearer(tt.header)
		if tok != tt.token || ok != tt.ok {
			t.Errorf("bearer(%q) = %q, %v; want %q, %v", tt.header, tok, ok, tt.token, tt.ok)
		}
	}
}

func FuzzBearer(f *testing.F) {
	for _, tt := range bearerCases {
		f.Add(tt.header)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := bearer(h)
		if ok && (tok == "" || strings.ContainsAny(tok[:1], " \t") || !strings.Contains(h, tok)) {
			t.Errorf("bearer(%q) = %q", h, tok)
		}
	})
}

// FuzzPatchUser applies arbitrary PATCH operations to a user document: it never panics, and
// whatever it accepts is a valid user (it passes the schema the library checks POSTs with).
func FuzzPatchUser(f *testing.F) {
	seeds := []string{
		`{"op":"replace","path":"title","value":"x"}`,
		`{"op":"Replace","path":"active","value":"False"}`,
		`{"op":"add","path":"emails[type eq \"work\"].value","value":"w@example.com"}`,
		`{"op":"remove","path":"emails[type eq \"home\"]"}`,
		`{"op":"remove","path":"emails","value":[{"value":"b@home.example"}]}`,
		`{"op":"replace","value":{"name.givenName":"B","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"1"}}`,
		`{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":[{"$ref":null,"value":"m"}]}`,
		`{"op":"replace","path":"emails[type eq \"work\" and primary eq true].display","value":"W"}`,
		`{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}`,
		`{"op":"replace","path":"name","value":{"givenName":null}}`,
		`{"op":"add","path":"roles","value":"[{\"value\":\"admin\",\"primary\":\"True\"}]"}`,
		`{"op":"replace","path":"emails[type eq \"work\"].value","value":null}`,
		`{"op":"add","path":"emails","value":null}`,
		`{"op":"replace","value":{"emails.value":null,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":null}}`,
		`{"op":"add","path":"emails[type eq \"home\"].value","value":""}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, opJSON string) {
		ops, perr := parsePatch([]byte(`{"schemas":["` + patchOpURN + `"],"Operations":[` + opJSON + `]}`))
		if perr != nil {
			checkClientError(t, perr)
			return
		}
		doc := map[string]any{}
		_ = json.Unmarshal([]byte(`{"userName":"bjensen","active":true,"title":"T","emails":[
			{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Tours"}}`), &doc)
		dp := docPatcher{rs: usersSchema, res: resolverFor(usersSchema), doc: doc, id: "id-1"}
		for _, op := range ops {
			if err := dp.apply(op); err != nil {
				checkClientError(t, err)
				return
			}
		}
		ext, _ := doc["externalId"].(string)
		delete(doc, "externalId")
		if _, err := validateDoc(usersSchema, doc, ext); err != nil {
			checkClientError(t, err)
		}
	})
}

func checkClientError(t *testing.T, e *Error) {
	t.Helper()
	if e.Status != http.StatusBadRequest && e.Status != http.StatusConflict {
		t.Errorf("status %d for a bad PATCH: %v", e.Status, e)
	}
	if e.Detail == "" {
		t.Errorf("error without a detail: %v", e)
	}
}
