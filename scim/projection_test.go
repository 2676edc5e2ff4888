package scim

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// emailsOf returns the emails of a resource as "type=value" strings, and "-" for an element
// without a type.
func emailsOf(res map[string]any) []string {
	var out []string
	list, _ := res["emails"].([]any)
	for _, el := range list {
		m := el.(map[string]any)
		typ, _ := m["type"].(string)
		if typ == "" {
			typ = "-"
		}
		v, _ := m["value"].(string)
		out = append(out, typ+"="+v)
	}
	return out
}

// Ensure attributes takes a value filter on a multi-valued attribute, as Microsoft's SCIM
// reference server and test collection use it: only the matching elements are returned.
func TestAttributesValueFilter(t *testing.T) {
	e := newEnv(t)
	emails := []map[string]any{
		{"value": "ann@work.example", "type": "work", "primary": true},
		{"value": "ann@home.example", "type": "home"},
		{"value": "a,nn@other.example", "type": "other"},
	}
	id := e.mustCreate("/Users", user("ann", "emails", emails, "title", "Engineer"))
	e.mustCreate("/Users", user("bob", "emails", []map[string]any{{"value": "bob@home.example", "type": "home"}}))

	cases := []struct {
		attributes string
		emails     []string
		keys       []string // the keys of the first email, when set
		title      bool
	}{
		{`emails[type eq "work"]`, []string{"work=ann@work.example"}, nil, false},
		{`EMAILS[TYPE eq "WORK"]`, []string{"work=ann@work.example"}, nil, false},
		{`urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "home"]`, []string{"home=ann@home.example"}, nil, false},
		{`emails[type eq "work" or type eq "home"]`, []string{"work=ann@work.example", "home=ann@home.example"}, nil, false},
		{`emails[type eq "work"],emails[type eq "home"]`, []string{"work=ann@work.example", "home=ann@home.example"}, nil, false},
		{`emails[value eq "a,nn@other.example"],title`, []string{"other=a,nn@other.example"}, nil, true},
		{`emails[type eq "work"].value`, []string{"-=ann@work.example"}, []string{"value"}, false},
		// Named also without a filter, the attribute comes whole.
		{`emails[type eq "work"],emails`, []string{"work=ann@work.example", "home=ann@home.example", "other=a,nn@other.example"}, nil, false},
		{`emails[type eq "work"].value,emails.value`, []string{"-=ann@work.example", "-=ann@home.example", "-=a,nn@other.example"}, []string{"value"}, false},
		{`emails[type eq "pager"]`, nil, nil, false},
	}
	for _, c := range cases {
		r := e.do("GET", "/Users/"+id+"?attributes="+url.QueryEscape(c.attributes), nil)
		if r.status != http.StatusOK {
			t.Errorf("attributes=%s: %d %s", c.attributes, r.status, r.raw)
			continue
		}
		if got := emailsOf(r.body); !slices.Equal(got, c.emails) {
			t.Errorf("attributes=%s: emails %v, want %v", c.attributes, got, c.emails)
		}
		if _, ok := r.body["emails"]; ok && len(c.emails) == 0 {
			t.Errorf("attributes=%s: no email matches, but emails is there: %s", c.attributes, r.raw)
		}
		if c.keys != nil {
			first := r.body["emails"].([]any)[0].(map[string]any)
			var keys []string
			for k := range first {
				keys = append(keys, k)
			}
			if !slices.Equal(keys, c.keys) {
				t.Errorf("attributes=%s: first email has %v, want %v", c.attributes, keys, c.keys)
			}
		}
		if _, ok := r.body["title"]; ok != c.title {
			t.Errorf("attributes=%s: title returned %v, want %v", c.attributes, ok, c.title)
		}
		if r.body["id"] != id {
			t.Errorf("attributes=%s: id is always returned: %s", c.attributes, r.raw)
		}
		if _, ok := r.body["userName"]; ok {
			t.Errorf("attributes=%s: userName was not asked for: %s", c.attributes, r.raw)
		}
	}

	// In a listing, each resource keeps its matching elements; those with none lose the
	// attribute.
	r := e.do("GET", "/Users?attributes="+url.QueryEscape(`userName,emails[type eq "home"]`), nil)
	if r.status != http.StatusOK {
		t.Fatalf("listing: %d %s", r.status, r.raw)
	}
	got := map[string][]string{}
	for _, res := range r.body["Resources"].([]any) {
		m := res.(map[string]any)
		got[m["userName"].(string)] = emailsOf(m)
	}
	if !slices.Equal(got["ann"], []string{"home=ann@home.example"}) || !slices.Equal(got["bob"], []string{"home=bob@home.example"}) {
		t.Errorf("listing with attributes=emails[type eq \"home\"]: %v", got)
	}
	r = e.do("POST", "/Users/.search", map[string]any{"schemas": []string{searchURN},
		"filter": `userName eq "ann"`, "attributes": []string{"userName", `emails[type eq "work"]`}})
	if r.status != http.StatusOK || len(r.body["Resources"].([]any)) != 1 ||
		!slices.Equal(emailsOf(r.body["Resources"].([]any)[0].(map[string]any)), []string{"work=ann@work.example"}) {
		t.Errorf(".search with a value filter in attributes: %d %s", r.status, r.raw)
	}
	// A search body's list is a list: each element is one entry, commas and all.
	r = e.do("POST", "/Users/.search", map[string]any{"schemas": []string{searchURN},
		"filter": `userName eq "ann"`, "attributes": []string{`emails[value eq "a,nn@other.example"]`}})
	if r.status != http.StatusOK || len(r.body["Resources"].([]any)) != 1 ||
		!slices.Equal(emailsOf(r.body["Resources"].([]any)[0].(map[string]any)), []string{"other=a,nn@other.example"}) {
		t.Errorf(".search with a comma inside a value filter: %d %s", r.status, r.raw)
	}
	r = e.do("POST", "/Users/.search", map[string]any{"schemas": []string{searchURN},
		"attributes": []string{`emails[value eq "a`, `w"]`}})
	if r.status != http.StatusBadRequest {
		t.Errorf(".search whose elements only make a filter when joined: %d %s, want 400", r.status, r.raw)
	}
}

// Ensure a user PATCH from an Entra connection answers 204 with the new ETag (and makes the
// change), 200 with the user when attributes asks for a body; the same from a generic
// connection; and 200 with the user to an Okta connection.
func TestPatchUserAnswerByConnectionKind(t *testing.T) {
	e := newEnv(t)
	deactivate := map[string]any{"schemas": []string{patchOpURN},
		"Operations": []map[string]any{{"op": "Replace", "path": "active", "value": false}}}

	r := e.doAs(e.other, "POST", "/Users", user("entra.user@example.com"))
	if r.status != http.StatusCreated {
		t.Fatalf("create as entra: %d %s", r.status, r.raw)
	}
	id := r.body["id"].(string)
	r = e.doAs(e.other, "PATCH", "/Users/"+id, deactivate)
	if r.status != http.StatusNoContent || len(r.raw) != 0 {
		t.Fatalf("PATCH as entra: %d %q, want 204 and no body", r.status, r.raw)
	}
	if got := r.header.Get("ETag"); got != `W/"2"` {
		t.Errorf("PATCH as entra: ETag %q, want W/\"2\"", got)
	}
	r = e.doAs(e.other, "GET", "/Users/"+id, nil)
	if r.body["active"] != false {
		t.Errorf("after the 204 PATCH the user is %s", r.raw)
	}
	r = e.doAs(e.other, "PATCH", "/Users/"+id+"?attributes=active", map[string]any{"schemas": []string{patchOpURN},
		"Operations": []map[string]any{{"op": "replace", "path": "active", "value": true}}})
	if r.status != http.StatusOK || r.body["active"] != true || r.body["id"] != id {
		t.Errorf("PATCH as entra with attributes: %d %s, want 200 with the user", r.status, r.raw)
	}

	// A PATCH that changes nothing writes nothing and answers the version as it is.
	r = e.doAs(e.other, "PATCH", "/Users/"+id, map[string]any{"schemas": []string{patchOpURN},
		"Operations": []map[string]any{{"op": "replace", "path": "active", "value": true}}})
	if r.status != http.StatusNoContent || r.header.Get("ETag") != `W/"3"` {
		t.Errorf("a PATCH as entra that changes nothing: %d ETag %q, want 204 W/\"3\"", r.status, r.header.Get("ETag"))
	}
	r = e.doAs(e.other, "PATCH", "/Users/"+id+"?excludedAttributes=emails", deactivate)
	if r.status != http.StatusOK || r.body["active"] != false {
		t.Errorf("PATCH as entra with excludedAttributes: %d %s, want 200 with the user", r.status, r.raw)
	}

	r = e.doAs(e.generic, "POST", "/Users", user("generic.user@example.com"))
	if r.status != http.StatusCreated {
		t.Fatalf("create as generic: %d %s", r.status, r.raw)
	}
	gid := r.body["id"].(string)
	if r = e.doAs(e.generic, "PATCH", "/Users/"+gid, deactivate); r.status != http.StatusNoContent || len(r.raw) != 0 || r.header.Get("ETag") != `W/"2"` {
		t.Errorf("PATCH as generic: %d %q ETag %q, want 204, no body, W/\"2\"", r.status, r.raw, r.header.Get("ETag"))
	}
	if r = e.doAs(e.generic, "PATCH", "/Users/"+gid+"?attributes=active", deactivate); r.status != http.StatusOK || r.body["active"] != false {
		t.Errorf("PATCH as generic with attributes: %d %s, want 200 with the user", r.status, r.raw)
	}

	oid := e.mustCreate("/Users", user("okta.user@example.com"))
	r = e.do("PATCH", "/Users/"+oid, deactivate)
	if r.status != http.StatusOK || r.body["active"] != false || r.body["userName"] != "okta.user@example.com" {
		t.Errorf("PATCH as okta: %d %s, want 200 with the user", r.status, r.raw)
	}
}

// attributesSeeds are attributes lists of the tests above, and malformed ones.
var attributesSeeds = []string{
	`emails[type eq "work"]`, `EMAILS[TYPE eq "WORK"]`, `emails[type eq "work"].value`,
	`urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "home"]`,
	`emails[type eq "work" or type eq "home"],title`, `emails[value eq "a,b"],emails`,
	`emails[type eq "work"`, `emails[colour eq "red"]`, `userName[value eq "x"]`,
	`name.givenName,meta.created`, `emails[value eq "a\"],b"]`, `,,]`, `[`,
}

// FuzzAttributes: any attributes list either is refused with a SCIM error, or projects a
// resource without panicking, keeping its id, and keeps only elements a filter allows.
func FuzzAttributes(f *testing.F) {
	for _, s := range attributesSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// No entry holds a separator of the list: split again, each stays whole.
		for _, part := range splitAttributeList(s) {
			if again := splitAttributeList(part); len(again) > 1 {
				t.Fatalf("splitAttributeList(%q) gave %q, which splits again into %q", s, part, again)
			}
		}
		p, err := parseProjection(usersSchema, s, "")
		if err != nil {
			if err.Status != http.StatusBadRequest || err.ScimType != typeInvalidValue {
				t.Fatalf("attributes=%q: %d %q", s, err.Status, err.ScimType)
			}
			return
		}
		emails := map[string]map[string]any{
			"a@x": {"value": "a@x", "type": "work", "primary": true},
			"b@x": {"value": "b@x", "type": "home"},
		}
		res := map[string]any{
			"id": "u1", "schemas": []any{userURN}, "userName": "ann",
			"name":   map[string]any{"givenName": "Ann", "familyName": "Lee"},
			"emails": []any{emails["a@x"], emails["b@x"], "stray"},
			"meta":   meta{ResourceType: "User", Version: `W/"1"`},
		}
		p.apply(res)
		if res["id"] != "u1" {
			t.Fatalf("attributes=%q lost the id: %v", s, res)
		}
		keep := p.elements["emails"]
		list, _ := res["emails"].([]any)
		for _, el := range list {
			m, ok := el.(map[string]any)
			if keep == nil {
				continue
			}
			// Filters judge the element as stored, before its sub-attributes are projected:
			// some stored element that m is a projection of must pass one.
			allowed := func(o map[string]any) bool {
				for k, v := range m {
					if o[k] != v {
						return false
					}
				}
				return slices.ContainsFunc(keep, func(f func(map[string]any) bool) bool { return f(o) })
			}
			if !ok || (!allowed(emails["a@x"]) && !allowed(emails["b@x"])) {
				t.Fatalf("attributes=%q kept %v, which no filter allows", s, el)
			}
		}
	})
}

// Ensure a user PUT answers with the projection asked for, as every other write does, and
// that a malformed one is refused before anything is written.
func TestPutUserProjection(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate("/Users", user("put.projection", "title", "Before"))
	body := user("put.projection", "title", "T", "emails", []map[string]any{{"value": "b@example.com"}})
	r := e.do("PUT", "/Users/"+id+"?excludedAttributes=emails,title", body)
	if r.status != http.StatusOK || r.body["emails"] != nil || r.body["title"] != nil || r.body["userName"] != "put.projection" ||
		r.header.Get("ETag") != `W/"2"` {
		t.Errorf("PUT with excludedAttributes: %d %s", r.status, r.raw)
	}
	r = e.do("PUT", "/Users/"+id+"?attributes=userName", body)
	if r.status != http.StatusOK || len(r.body) != 3 || r.body["id"] != id || r.body["userName"] != "put.projection" {
		t.Errorf("PUT with attributes=userName: %d %s", r.status, r.raw)
	}
	r = e.do("PUT", "/Users/"+id+"?attributes=(title)", user("put.projection", "title", "After"))
	if r.status != http.StatusBadRequest || r.body["scimType"] != typeInvalidValue {
		t.Errorf("PUT with a malformed attributes list: %d %s", r.status, r.raw)
	}
	if r := e.do("GET", "/Users/"+id, nil); r.body["title"] != "T" || r.header.Get("ETag") != `W/"3"` {
		t.Errorf("after a refused PUT the user is %s (ETag %s)", r.raw, r.header.Get("ETag"))
	}
}

// Ensure client text quoted in an error is cut short at a character boundary.
func TestClip(t *testing.T) {
	for _, s := range []string{"short", strings.Repeat("é", 100), strings.Repeat("x", 119) + "日本語"} {
		got := clip(s)
		if !utf8.ValidString(got) || len(got) > 120+len("…") || (len(s) <= 120 && got != s) {
			t.Errorf("clip(%q) = %q", s, got)
		}
	}
}

// Ensure a conditional GET answers 304 only for a representation its version covers: a user
// without its groups, a group without its members. Both change without a write of the
// resource that shows them (a user is added to a group; a member is renamed), so with them
// the answer is always whole.
func TestConditionalGet(t *testing.T) {
	e := newEnv(t)
	uid := e.mustCreate("/Users", user("conditional", "displayName", "Before"))
	inm := []string{"If-None-Match", `W/"1"`}
	if r := e.do("GET", "/Users/"+uid+"?excludedAttributes=groups", nil, inm...); r.status != http.StatusNotModified || len(r.raw) != 0 || r.header.Get("ETag") != `W/"1"` {
		t.Errorf("user without groups, tag current: %d %q ETag %q, want 304", r.status, r.raw, r.header.Get("ETag"))
	}
	if r := e.do("GET", "/Users/"+uid+"?excludedAttributes=groups", nil, "If-None-Match", `W/"7"`); r.status != http.StatusOK {
		t.Errorf("user, tag not current: %d, want 200", r.status)
	}
	gid := e.mustCreate("/Groups", group("Conditional", uid))
	r := e.do("GET", "/Users/"+uid, nil, inm...)
	groups, _ := r.body["groups"].([]any)
	if r.status != http.StatusOK || len(groups) != 1 || r.header.Get("ETag") != `W/"1"` {
		t.Errorf("user with its groups after joining one, same version: %d %s, want 200 with the group", r.status, r.raw)
	}

	if r := e.do("GET", "/Groups/"+gid+"?excludedAttributes=members", nil, inm...); r.status != http.StatusNotModified {
		t.Errorf("group without members, tag current: %d %s, want 304", r.status, r.raw)
	}
	e.do("PATCH", "/Users/"+uid, patch(op("replace", "displayName", "After")))
	r = e.do("GET", "/Groups/"+gid, nil, inm...)
	members, _ := r.body["members"].([]any)
	if r.status != http.StatusOK || len(members) != 1 || members[0].(map[string]any)["display"] != "After" {
		t.Errorf("group with members after a member's rename, same version: %d %s, want 200 with the new name", r.status, r.raw)
	}
	// On a write, If-None-Match naming another version lets it through (a matching one is
	// 412: see TestBadInput).
	if r := e.do("PATCH", "/Groups/"+gid, patch(op("replace", "displayName", "Renamed")), "If-None-Match", `W/"7"`); r.status != http.StatusNoContent {
		t.Errorf("group PATCH with If-None-Match of another version: %d %s, want 204", r.status, r.raw)
	}
}
