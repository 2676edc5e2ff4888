package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/rollcall/rollcall/storage"
)

// Ensure PATCH applies RFC 7644 semantics and every dialect Okta and Entra send (SPEC §8).
func TestPatchUser(t *testing.T) {
	e := newEnv(t)
	base := func(name string) map[string]any {
		return user(name,
			"name", map[string]any{"givenName": "Barbara", "familyName": "Jensen"},
			"title", "Tour Guide",
			"emails", []map[string]any{
				{"value": "b@work.example", "type": "work", "primary": true},
				{"value": "b@home.example", "type": "home"},
			},
			enterpriseURN, map[string]any{"department": "Tours", "employeeNumber": "701984"},
		)
	}
	tests := []struct {
		name string
		ops  []map[string]any
		want map[string]any // paths (dotted; "ext:" for the enterprise extension) to values; nil means absent
	}{
		{"Entra capitalised ops and string booleans", []map[string]any{
			{"op": "Replace", "path": "active", "value": "False"},
		}, map[string]any{"active": false}},
		{"Okta path-less active", []map[string]any{
			op("replace", "", map[string]any{"active": false}),
		}, map[string]any{"active": false}},
		{"path-less dotted and URN keys", []map[string]any{
			op("replace", "", map[string]any{
				"name.givenName":                  "Babs",
				enterpriseURN + ":employeeNumber": "E1",
				enterpriseURN + ":manager":        map[string]any{"value": "m-1"},
			}),
		}, map[string]any{"name.givenName": "Babs", "name.familyName": "Jensen", "ext:employeeNumber": "E1", "ext:manager.value": "m-1", "ext:department": "Tours"}},
		{"path-less keys with value filters apply as paths", []map[string]any{
			op("Replace", "", map[string]any{
				`emails[type eq "work"].value`:  "new@work.example",
				`emails[type eq "other"].value`: "b@other.example",
				"name.givenName":                "Babs",
			}),
		}, map[string]any{"emails.work": "new@work.example", "emails.other": "b@other.example", "emails.home": "b@home.example", "name.givenName": "Babs"}},
		{"path-less extension container", []map[string]any{
			op("add", "", map[string]any{strings.ToLower(enterpriseURN): map[string]any{"costCenter": "CC1"}}),
		}, map[string]any{"ext:costCenter": "CC1", "ext:department": "Tours"}},
		{"attribute names in any case", []map[string]any{
			op("replace", "NAME.GIVENNAME", "B"), op("replace", "", map[string]any{"Title": "Boss"}),
		}, map[string]any{"name.givenName": "B", "title": "Boss"}},
		{"manager as a bare id", []map[string]any{
			{"op": "Add", "path": enterpriseURN + ":manager", "value": "mgr-1"},
		}, map[string]any{"ext:manager.value": "mgr-1"}},
		{"a URN joined with a dot", []map[string]any{
			{"op": "replace", "path": enterpriseURN + ".manager", "value": "mgr-3"},
			{"op": "replace", "path": strings.ToUpper(enterpriseURN) + ".department", "value": "Dots"},
			{"op": "replace", "path": userURN + ".title", "value": "Dotted"},
		}, map[string]any{"ext:manager.value": "mgr-3", "ext:department": "Dots", "title": "Dotted"}},
		{"removing the last sub-attribute removes the attribute", []map[string]any{
			{"op": "add", "path": enterpriseURN + ":manager", "value": "mgr-4"},
			op("remove", enterpriseURN+":manager.value", nil),
			op("remove", "name.givenName", nil), op("remove", "name.familyName", nil),
		}, map[string]any{"ext:manager": nil, "name": nil, "ext:department": "Tours"}},
		{"manager as a legacy list", []map[string]any{
			{"op": "Add", "path": enterpriseURN + ":manager", "value": []map[string]any{{"$ref": nil, "value": "mgr-2"}}},
		}, map[string]any{"ext:manager.value": "mgr-2"}},
		{"extension attribute by URN path", []map[string]any{
			op("replace", enterpriseURN+":department", "Eng"), op("remove", enterpriseURN+":employeeNumber", nil),
		}, map[string]any{"ext:department": "Eng", "ext:employeeNumber": nil}},
		{"remove the whole extension", []map[string]any{op("remove", enterpriseURN, nil)}, map[string]any{"ext:department": nil}},
		{"replace work email value", []map[string]any{
			op("replace", `emails[type eq "work"].value`, "new@work.example"),
		}, map[string]any{"emails.work": "new@work.example", "emails.home": "b@home.example"}},
		{"legacy single value as a list", []map[string]any{
			op("replace", "title", []map[string]any{{"$ref": nil, "value": "Director"}}),
		}, map[string]any{"title": "Director"}},
		{"add an email keeps the others", []map[string]any{
			op("add", "emails", []map[string]any{{"value": "b@other.example", "type": "other"}}),
		}, map[string]any{"emails.other": "b@other.example", "emails.work": "b@work.example", "emails.count": 3}},
		{"re-adding an email is a no-op", []map[string]any{
			op("add", "emails", []map[string]any{{"value": "b@home.example", "type": "home"}}),
		}, map[string]any{"emails.count": 2}},
		{"a new primary clears the old", []map[string]any{
			op("replace", `emails[type eq "home"].primary`, true),
		}, map[string]any{"emails.primary": "b@home.example"}},
		{"remove by value filter", []map[string]any{op("remove", `emails[type eq "home"]`, nil)}, map[string]any{"emails.count": 1, "emails.home": nil}},
		{"remove listed values (Entra legacy)", []map[string]any{
			op("remove", "emails", []map[string]any{{"value": "b@home.example"}}),
		}, map[string]any{"emails.count": 1, "emails.work": "b@work.example"}},
		{"remove a sub-attribute of matches", []map[string]any{op("remove", `emails[type eq "work"].primary`, nil)}, map[string]any{"emails.primary": nil}},
		{"replace the whole multi-valued attribute", []map[string]any{
			op("replace", "emails", []map[string]any{{"value": "only@example.com", "type": "work"}}),
		}, map[string]any{"emails.count": 1, "emails.work": "only@example.com"}},
		{"three-term value filter", []map[string]any{
			op("replace", `emails[type eq "work" and primary eq true and value co "@work"].display`, "Work"),
		}, map[string]any{"emails.display": "Work"}},
		{"complex replace merges sub-attributes", []map[string]any{
			op("replace", "name", map[string]any{"middleName": "J"}),
		}, map[string]any{"name.givenName": "Barbara", "name.middleName": "J"}},
		{"ops apply in order", []map[string]any{
			op("replace", "title", "A"), op("remove", "title", nil), op("add", "title", "C"),
		}, map[string]any{"title": "C"}},
		{"explicit nulls remove", []map[string]any{op("replace", "", map[string]any{"title": nil})}, map[string]any{"title": nil}},
		{"null at a path unassigns (Entra's null update)", []map[string]any{
			{"op": "replace", "path": "title", "value": nil},
			{"op": "Add", "path": "name.givenName", "value": nil},
			{"op": "replace", "path": `emails[type eq "work"].value`, "value": nil},
			{"op": "replace", "path": enterpriseURN + ":department", "value": nil},
			{"op": "replace", "path": `phoneNumbers[type eq "mobile"].value`, "value": nil},
		}, map[string]any{"title": nil, "name.givenName": nil, "name.familyName": "Jensen", "emails.count": 1,
			"emails.home": "b@home.example", "ext:department": nil, "ext:employeeNumber": "701984", "phoneNumbers": nil}},
		{"null in a path-less value's filtered key unassigns", []map[string]any{
			op("replace", "", map[string]any{`emails[type eq "home"].value`: nil, "title": "T"}),
		}, map[string]any{"emails.count": 1, "emails.home": nil, "emails.work": "b@work.example", "title": "T"}},
		{"an add of null to a multi-valued attribute adds nothing", []map[string]any{
			{"op": "add", "path": "emails", "value": nil},
		}, map[string]any{"emails.count": 2}},
		{"a replace of null empties a multi-valued attribute", []map[string]any{
			{"op": "replace", "path": "emails", "value": nil},
		}, map[string]any{"emails": nil}},
		{"an email whose value is cleared is dropped", []map[string]any{
			op("replace", `emails[type eq "work"].value`, ""),
		}, map[string]any{"emails.count": 1, "emails.home": "b@home.example", "emails.primary": nil}},
		{"a path-less null on every email's value unassigns the emails", []map[string]any{
			op("replace", "", map[string]any{"emails.value": nil}),
		}, map[string]any{"emails": nil}},
		{"an add of null adds no value, in every form", []map[string]any{
			op("add", "", map[string]any{"emails": nil}),
			{"op": "add", "path": `emails[type eq "work"]`, "value": nil},
		}, map[string]any{"emails.count": 2, "emails.work": "b@work.example"}},
		{"an add of null to a sub-attribute unassigns it", []map[string]any{
			{"op": "add", "path": `emails[type eq "home"].value`, "value": nil},
		}, map[string]any{"emails.count": 1, "emails.home": nil}},
		{"a path-less null unassigns the extension", []map[string]any{
			op("replace", "", map[string]any{strings.ToUpper(enterpriseURN): nil}),
		}, map[string]any{"ext:department": nil, "ext:employeeNumber": nil, "name.givenName": "Barbara"}},
		{"replacing a whole email with one without a value drops it", []map[string]any{
			{"op": "replace", "path": `emails[type eq "work"]`, "value": map[string]any{"type": "work", "value": nil}},
		}, map[string]any{"emails.count": 1, "emails.work": nil, "emails.home": "b@home.example"}},
		{"a filtered add makes no email without a value, nor takes the primary flag", []map[string]any{
			op("add", `emails[type eq "other"].primary`, true),
		}, map[string]any{"emails.count": 2, "emails.primary": "b@work.example"}},
		{"a null sub-attribute of a complex value unassigns it alone", []map[string]any{
			{"op": "replace", "path": "name", "value": map[string]any{"givenName": nil}},
		}, map[string]any{"name.givenName": nil, "name.familyName": "Jensen"}},
		{"null and given sub-attributes merge", []map[string]any{
			op("replace", "", map[string]any{"name": map[string]any{"GivenName": nil, "familyName": "X"}}),
		}, map[string]any{"name.givenName": nil, "name.familyName": "X"}},
		{"Entra's one-element list merges as an object does", []map[string]any{
			op("replace", "name", []map[string]any{{"givenName": nil, "middleName": "J"}}),
		}, map[string]any{"name.givenName": nil, "name.familyName": "Jensen", "name.middleName": "J"}},
		{"a replaced list keeps no email without a value", []map[string]any{
			op("replace", "emails", []map[string]any{{"type": "work", "primary": true}, {"value": "n@home.example", "type": "home"}}),
		}, map[string]any{"emails.count": 1, "emails.primary": nil, "emails.home": "n@home.example"}},
		{"an added email without a value is not added, nor takes the primary flag", []map[string]any{
			op("add", "emails", []map[string]any{{"type": "other", "primary": true}}),
		}, map[string]any{"emails.count": 2, "emails.primary": "b@work.example"}},
		{"replacing a whole email with nulls only drops it", []map[string]any{
			op("replace", `emails[type eq "work"]`, map[string]any{"value": ""}),
		}, map[string]any{"emails.count": 1, "emails.work": nil}},
		{"adding an email that is there moves the primary flag to it", []map[string]any{
			op("add", "emails", []map[string]any{{"value": "b@home.example", "primary": true}}),
		}, map[string]any{"emails.count": 2, "emails.primary": "b@home.example", "emails.home": "b@home.example"}},
		{"a whole-element replace keeps what its filter fixes, and repeats as a no-op", []map[string]any{
			op("replace", `emails[type eq "other"]`, map[string]any{"value": "o@example.com"}),
			op("replace", `emails[type eq "other"]`, map[string]any{"value": "o@example.com"}),
			op("replace", `emails[type eq "work"]`, map[string]any{"value": "w2@example.com"}),
		}, map[string]any{"emails.count": 3, "emails.other": "o@example.com", "emails.work": "w2@example.com"}},
		{"a path-less URN key joined with a dot", []map[string]any{
			op("replace", "", map[string]any{enterpriseURN + ".manager": "m5"}),
		}, map[string]any{"ext:manager.value": "m5"}},
		{"a dotted key inside the extension container", []map[string]any{
			op("replace", "", map[string]any{enterpriseURN: map[string]any{"manager.value": "m6", "department": "Z"}}),
		}, map[string]any{"ext:manager.value": "m6", "ext:department": "Z"}},
		{"replacing a work email with an empty one creates none", []map[string]any{
			op("replace", `emails[type eq "other"].value`, ""),
		}, map[string]any{"emails.count": 2, "emails.other": nil}},
		{"unknown path-less keys are ignored", []map[string]any{
			op("replace", "", map[string]any{"favoriteColor": "blue", "urn:example:custom:2.0:User:x": "y", "title": "T"}),
		}, map[string]any{"title": "T"}},
		{"Okta repeats the id", []map[string]any{op("replace", "", map[string]any{"id": "$ID", "title": "T2"})}, map[string]any{"title": "T2"}},
		{"rename by the owning connection", []map[string]any{op("replace", "userName", "renamed@example.com")}, map[string]any{"userName": "renamed@example.com"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := e.mustCreate("/Users", base("patch"+strings.Repeat("x", i)))
			raw, _ := json.Marshal(patch(tt.ops...))
			r := e.do("PATCH", "/Users/"+id, strings.ReplaceAll(string(raw), "$ID", id))
			if r.status != http.StatusOK {
				t.Fatalf("PATCH = %d %s", r.status, r.raw)
			}
			got := e.do("GET", "/Users/"+id, nil)
			if !reflect.DeepEqual(r.body, got.body) {
				t.Errorf("PATCH answered %s\nbut GET gives %s", r.raw, got.raw)
			}
			for path, want := range tt.want {
				if v := pick(got.body, path); !reflect.DeepEqual(v, want) {
					t.Errorf("%s = %#v, want %#v\n%s", path, v, want, got.raw)
				}
			}
		})
	}
}

// pick reads a value for TestPatchUser: "a.b" descends, "ext:x" reads the enterprise
// extension, "emails.<type>" is the value of the email of that type, "emails.count" how many,
// "emails.primary" the primary one's value, "emails.display" the first display.
func pick(doc map[string]any, path string) any {
	if rest, ok := strings.CutPrefix(path, "ext:"); ok {
		ext, _ := doc[enterpriseURN].(map[string]any)
		return pick(ext, rest)
	}
	if rest, ok := strings.CutPrefix(path, "emails."); ok {
		list, _ := doc["emails"].([]any)
		switch rest {
		case "count":
			return len(list)
		case "primary", "display":
			for _, el := range list {
				m := el.(map[string]any)
				if rest == "primary" && m["primary"] == true {
					return m["value"]
				}
				if rest == "display" && m["display"] != nil {
					return m["display"]
				}
			}
			return nil
		}
		for _, el := range list {
			if m := el.(map[string]any); m["type"] == rest {
				return m["value"]
			}
		}
		return nil
	}
	head, tail, nested := strings.Cut(path, ".")
	if !nested {
		if doc == nil {
			return nil
		}
		return doc[head]
	}
	sub, _ := doc[head].(map[string]any)
	return pick(sub, tail)
}

// Ensure Entra's PATCH of a work email creates it on a user that has none (SPEC §8.5).
func TestPatchUser_CreatesWorkEmail(t *testing.T) {
	e := newEnv(t)
	for i, name := range []string{"Replace", "Add"} {
		id := e.mustCreate("/Users", user("noemail"+strings.Repeat("x", i)))
		r := e.do("PATCH", "/Users/"+id, patch(map[string]any{"op": name, "path": `emails[type eq "work"].value`, "value": "w@example.com"}))
		if r.status != http.StatusOK || pick(r.body, "emails.work") != "w@example.com" {
			t.Errorf("%s on a user without emails: %d %s", name, r.status, r.raw)
		}
		// The email is indexed: the lookup Entra does next finds it.
		l := e.do("GET", `/Users?filter=emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22W@EXAMPLE.COM%22`, nil)
		if l.body["totalResults"] != float64(1) {
			t.Errorf("filter by the new work email: %s", l.raw)
		}
		e.do("DELETE", "/Users/"+id, nil)
	}
}

// Ensure a PATCH that changes nothing writes nothing: no new version, no audit event.
func TestPatch_NoChangeNoWrite(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate("/Users", user("same", "title", "T"))
	gid := e.mustCreate("/Groups", group("Okta Group"))
	n := e.auditCount()
	r := e.do("PATCH", "/Users/"+id, patch(op("replace", "title", "T")))
	if v := r.body["meta"].(map[string]any)["version"]; r.status != 200 || v != `W/"1"` {
		t.Errorf("no-op user PATCH: %d version %v", r.status, v)
	}
	if got := e.auditCount(); got != n {
		t.Errorf("a no-op user PATCH wrote %d audit events", got-n)
	}
	// An element without a value, stored as sent by PUT, is left as it is by a PATCH that
	// does not touch it.
	r = e.do("PUT", "/Users/"+id, user("same", "title", "T", "emails", []map[string]any{{"type": "work", "primary": true}, {"value": "h@example.com", "type": "home"}}))
	if r.status != http.StatusOK || r.header.Get("ETag") != `W/"2"` {
		t.Fatalf("PUT: %d %s", r.status, r.raw)
	}
	n = e.auditCount()
	for _, o := range []map[string]any{
		op("replace", "title", "T"),
		op("remove", `emails[type eq "work"].display`, nil),
		{"op": "replace", "path": `emails[type eq "work"].value`, "value": nil},
		op("replace", "", map[string]any{"emails.display": nil}),
	} {
		r = e.do("PATCH", "/Users/"+id, patch(o))
		if v := r.body["meta"].(map[string]any)["version"]; r.status != 200 || v != `W/"2"` || pick(r.body, "emails.count") != 2 {
			t.Errorf("no-op user PATCH %v after a PUT of an email without a value: %d %s", o, r.status, r.raw)
		}
	}
	r = e.do("PATCH", "/Groups/"+gid, patch(op("replace", "", map[string]any{"id": gid, "displayName": "Okta Group"})))
	if r.status != http.StatusNoContent || r.header.Get("ETag") != `W/"1"` {
		t.Errorf("Okta's repeated rename: %d ETag %s", r.status, r.header.Get("ETag"))
	}
	if got := e.auditCount(); got != n {
		t.Errorf("no-op PATCHes wrote %d audit events", got-n)
	}
	// active cannot be unassigned: removing it changes nothing, and writes nothing.
	r = e.do("PATCH", "/Users/"+id, patch(op("remove", "active", nil)))
	if v := r.body["meta"].(map[string]any)["version"]; r.status != 200 || v != `W/"2"` || r.body["active"] != true {
		t.Errorf("remove active: %d %s", r.status, r.raw)
	}
	// An element an operation leaves with no field at all is dropped, as POST drops {}.
	r = e.do("PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "path": "emails.primary", "value": nil}, op("remove", "emails.type", nil)))
	if list, _ := r.body["emails"].([]any); r.status != 200 || len(list) != 1 || pick(r.body, "emails.primary") != nil {
		t.Errorf("an email left with no field: %d %s", r.status, r.raw)
	}
}

// Ensure group PATCH handles members in every form IdPs send, as set operations.
func TestPatchGroup_Members(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 6 {
		ids = append(ids, e.mustCreate("/Users", user("m"+strings.Repeat("x", i))))
	}
	gid := e.mustCreate("/Groups", group("Team", ids[0], ids[1]))
	steps := []struct {
		name string
		ops  []map[string]any
		want []string
	}{
		{"Entra add with $ref null", []map[string]any{{"op": "Add", "path": "members", "value": []map[string]any{{"$ref": nil, "value": ids[2]}}}}, ids[:3]},
		{"re-add is a no-op", []map[string]any{op("add", "members", []map[string]any{{"value": ids[0]}})}, ids[:3]},
		{"remove by filter", []map[string]any{op("remove", `members[value eq "`+ids[0]+`"]`, nil)}, ids[1:3]},
		{"remove a non-member is a no-op", []map[string]any{op("remove", `members[value eq "`+ids[5]+`"]`, nil)}, ids[1:3]},
		{"Entra legacy remove with value list", []map[string]any{{"op": "Remove", "path": "members", "value": []map[string]any{{"value": ids[1]}}}}, ids[2:3]},
		{"filtered remove plus add, in order", []map[string]any{
			op("remove", `members[value eq "`+ids[2]+`" or value eq "`+ids[3]+`"]`, nil),
			op("add", "members", []map[string]any{{"value": ids[3]}, {"value": ids[4]}}),
		}, ids[3:5]},
		{"unknown ids do not lose the others", []map[string]any{op("add", "members", []map[string]any{{"value": "ghost"}, {"value": ids[5]}})}, ids[3:6]},
		{"replace sets exactly", []map[string]any{op("replace", "members", []map[string]any{{"value": ids[0]}, {"value": ids[5]}})}, []string{ids[0], ids[5]}},
		{"path-less add with members", []map[string]any{op("add", "", map[string]any{"members": []map[string]any{{"value": ids[1]}}})}, []string{ids[0], ids[1], ids[5]}},
		{"path-less add with members qualified by the schema URN", []map[string]any{op("add", "", map[string]any{
			groupURN + ":members": []map[string]any{{"value": ids[2]}}})}, []string{ids[0], ids[1], ids[2], ids[5]}},
		{"path-less replace with URN-qualified members", []map[string]any{op("replace", "", map[string]any{
			strings.ToUpper(groupURN) + ":Members": []map[string]any{{"value": ids[1]}, {"value": ids[5]}}})}, []string{ids[1], ids[5]}},
		{"an add of null adds none", []map[string]any{{"op": "add", "path": "members", "value": nil}}, []string{ids[1], ids[5]}},
		{"a replace of a filtered member with null removes it", []map[string]any{
			{"op": "replace", "path": `members[value eq "` + ids[1] + `"]`, "value": nil}}, []string{ids[5]}},
		{"a replace of null empties", []map[string]any{
			op("add", "members", []map[string]any{{"value": ids[1]}}), {"op": "replace", "path": "members", "value": nil}}, nil},
		{"a path-less add of members null adds none", []map[string]any{
			op("add", "members", []map[string]any{{"value": ids[2]}}), op("add", "", map[string]any{"members": nil, "displayName": "Team"})}, ids[2:3]},
		{"a path-less add of null on a filtered members key adds none", []map[string]any{
			op("add", "", map[string]any{`members[value eq "` + ids[2] + `"]`: nil})}, ids[2:3]},
		{"a path-less replace of null on a filtered members key removes them, as at the path", []map[string]any{
			op("add", "members", []map[string]any{{"value": ids[3]}}),
			op("replace", "", map[string]any{`members[value eq "` + ids[2] + `"]`: nil})}, ids[3:4]},
		{"a path-less replace of members null empties", []map[string]any{op("replace", "", map[string]any{"members": nil})}, nil},
		{"replace with [] empties", []map[string]any{op("add", "members", []map[string]any{{"value": ids[1]}}), op("replace", "members", []any{})}, nil},
		{"add then remove all", []map[string]any{op("add", "members", []map[string]any{{"value": ids[2]}}), op("remove", "members", nil)}, nil},
	}
	for _, s := range steps {
		r := e.do("PATCH", "/Groups/"+gid, patch(s.ops...))
		if r.status != http.StatusNoContent {
			t.Fatalf("%s: PATCH = %d %s", s.name, r.status, r.raw)
		}
		if got, want := e.members(gid), sorted(s.want); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: members = %v, want %v", s.name, got, want)
		}
	}
	// A rename through SCIM keeps the group (and so its mapping): same id, new names.
	r := e.do("PATCH", "/Groups/"+gid+"?attributes=displayName", patch(op("replace", "displayName", "Data Team")))
	if r.status != http.StatusOK || r.body["displayName"] != "Data Team" || r.body["members"] != nil {
		t.Errorf("rename with attributes: %d %s", r.status, r.raw)
	}
	g, err := e.store.GroupByName(t.Context(), e.scope, "data_team")
	if err != nil || g.ID != gid || g.DisplayName != "Data Team" {
		t.Errorf("after the rename the IdP group is %+v, %v", g, err)
	}
}

func (e *env) members(gid string) []string {
	e.t.Helper()
	var out []string
	err := e.store.Members(e.t.Context(), e.scope, gid, func(m storage.Member) error {
		out = append(out, m.ID)
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return sorted(out)
}

func sorted(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	out := append([]string(nil), ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// Ensure a path-less value holding an attribute and a filtered path into it applies the same
// way every time: the plain keys first, then the filtered ones.
func TestPatchPathlessOrder(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate("/Users", user("order"))
	for i := range 20 {
		r := e.do("PATCH", "/Users/"+id, patch(op("replace", "", map[string]any{
			"emails":                       []map[string]any{{"value": "a@example.com", "type": "work"}},
			`emails[type eq "work"].value`: "b@example.com",
		})))
		ms, _ := r.body["emails"].([]any)
		if r.status != http.StatusOK || len(ms) != 1 || ms[0].(map[string]any)["value"] != "b@example.com" {
			t.Fatalf("try %d: %d %s", i, r.status, r.raw)
		}
	}
}

// Ensure a path-less value that names one attribute twice, in two of its forms, is refused
// and changes nothing: which form won would depend on the order a map is walked in.
func TestPatchPathlessNamedTwice(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate("/Users", user("twice", "name", map[string]any{"givenName": "Before"}))
	uid := e.mustCreate("/Users", user("member"))
	gid := e.mustCreate("/Groups", group("Twice"))
	for _, tc := range []struct {
		path  string
		value map[string]any
	}{
		{"/Users/" + id, map[string]any{"name": map[string]any{"givenName": "A"}, "name.givenName": "B"}},
		{"/Users/" + id, map[string]any{"name.givenName": "A", "NAME.GIVENNAME": "B"}},
		{"/Users/" + id, map[string]any{"displayName": "A", userURN + ":displayName": "B"}},
		{"/Users/" + id, map[string]any{enterpriseURN: map[string]any{"department": "A"}, enterpriseURN + ":department": "B"}},
		{"/Users/" + id, map[string]any{"emails": []map[string]any{{"value": "a@example.com"}}, "emails.type": "home"}},
		{"/Groups/" + gid, map[string]any{"members": []map[string]any{{"value": uid}}, groupURN + ":members": []any{}}},
		{"/Groups/" + gid, map[string]any{"displayName": "A", groupURN + ":displayName": "B"}},
	} {
		r := e.do("PATCH", tc.path, patch(op("replace", "", tc.value)))
		if r.status != http.StatusBadRequest || r.body["scimType"] != typeInvalidValue {
			t.Errorf("%v: %d %s, want 400 invalidValue", tc.value, r.status, r.raw)
		}
	}
	r := e.do("GET", "/Users/"+id, nil)
	if name, _ := r.body["name"].(map[string]any); name["givenName"] != "Before" || r.body["displayName"] != nil || r.body["emails"] != nil {
		t.Errorf("a refused PATCH changed the user: %s", r.raw)
	}
	if got := e.members(gid); got != nil {
		t.Errorf("a refused PATCH changed the members: %v", got)
	}
	// One form per attribute is fine, whatever the mix of forms.
	r = e.do("PATCH", "/Users/"+id, patch(op("replace", "", map[string]any{
		"name.givenName": "G", "name.familyName": "F", enterpriseURN + ":department": "D", userURN + ":title": "T"})))
	ext, _ := r.body[enterpriseURN].(map[string]any)
	if r.status != http.StatusOK || r.body["title"] != "T" || ext["department"] != "D" { // okta: 200 with the user
		t.Fatalf("one form each: %d %s", r.status, r.raw)
	}
}

// Ensure the bound on a multi-valued attribute holds for what a PATCH's operations add up
// to, not only for each operation's value: a user read back must be one a client can PUT.
func TestPatchUserValueBound(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate("/Users", user("bounded"))
	emails := func(from, n int) []map[string]any {
		var out []map[string]any
		for i := range n {
			out = append(out, map[string]any{"value": fmt.Sprintf("e%d@example.com", from+i)})
		}
		return out
	}
	r := e.do("PATCH", "/Users/"+id, patch(op("add", "emails", emails(0, maxElements)), op("add", "emails", emails(maxElements, 1))))
	if r.status != http.StatusBadRequest || r.body["scimType"] != typeInvalidValue {
		t.Errorf("a PATCH adding up to %d emails: %d %s", maxElements+1, r.status, r.raw)
	}
	if r := e.do("GET", "/Users/"+id, nil); r.body["emails"] != nil {
		t.Errorf("a refused PATCH added emails: %s", r.raw)
	}
	r = e.do("PATCH", "/Users/"+id, patch(op("add", "emails", emails(0, maxElements))))
	if r.status != http.StatusOK {
		t.Fatalf("a PATCH to exactly %d emails: %d %s", maxElements, r.status, r.raw)
	}
	got := e.do("GET", "/Users/"+id, nil)
	delete(got.body, "meta")
	if r := e.do("PUT", "/Users/"+id, got.body); r.status != http.StatusOK {
		t.Errorf("PUT of the user as read: %d %s", r.status, r.raw)
	}

	// A user stored with more values than the bound, as PATCH could leave one before it
	// checked, can still be patched (deactivated above all); only growing further is refused.
	err := e.store.Tx(t.Context(), func(tx storage.Tx) error {
		u, err := tx.LockUser(t.Context(), e.scope, id)
		if err != nil {
			return err
		}
		var doc map[string]any
		if err := json.Unmarshal(u.Doc, &doc); err != nil {
			return err
		}
		doc["emails"] = append(doc["emails"].([]any), map[string]any{"value": "over@example.com"})
		u.Doc, _ = json.Marshal(doc)
		return tx.UpdateUserRow(t.Context(), u)
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do("PATCH", "/Users/"+id, patch(op("replace", "", map[string]any{"active": false}))); r.status != http.StatusOK || r.body["active"] != false {
		t.Errorf("deactivating a user stored with %d emails: %d %s", maxElements+1, r.status, r.raw)
	}
	if r := e.do("PATCH", "/Users/"+id, patch(op("add", "emails", emails(500, 1)))); r.status != http.StatusBadRequest {
		t.Errorf("adding to a user stored with %d emails: %d %s", maxElements+1, r.status, r.raw)
	}
}

// Ensure a push naming many unknown members logs a bounded line: how many, and a few of
// them cut short, while its audit event keeps them all.
func TestPatchGroup_UnknownMembersLogBounded(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	gid := e.mustCreate("/Groups", group("Pushed"))
	unknown := make([]map[string]any, 2000, 2001)
	for i := range unknown {
		unknown[i] = map[string]any{"value": fmt.Sprintf("ghost-%04d-%s", i, strings.Repeat("x", 200))}
	}
	unknown = append(unknown, map[string]any{"value": e.mustCreate("/Users", user("known"))})
	if r := e.do("PATCH", "/Groups/"+gid, patch(op("add", "members", unknown))); r.status != http.StatusNoContent {
		t.Fatalf("PATCH: %d %s", r.status, r.raw)
	}
	var line map[string]any
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "unknown members") {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	sample, _ := line["unknown"].([]any)
	if line["unknown_count"] != float64(2000) || len(sample) != 10 || len(fmt.Sprint(sample[0])) > 70 {
		t.Errorf("log line: %d bytes, count %v, %d ids shown (first %q)", len(logs.String()), line["unknown_count"], len(sample), sample)
	}
	if logs.Len() > 4096 {
		t.Errorf("the log holds %d bytes for one push", logs.Len())
	}
	var missing int
	_ = e.store.AuditEvents(t.Context(), e.tenant, storage.AuditQuery{TargetID: gid}, func(ev storage.AuditEvent) error {
		var d struct {
			Members memberChange `json:"members"`
		}
		if json.Unmarshal(ev.Detail, &d) == nil {
			missing += len(d.Members.Missing)
		}
		return nil
	})
	if missing != 2000 {
		t.Errorf("the audit events name %d unknown members, want 2000", missing)
	}
}
