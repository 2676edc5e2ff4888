package conformance

import (
	"fmt"
	"net/http"
	"strings"
)

// users creates n users and returns their ids.
func (e *env) users(n int) []string {
	e.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = str(e.createUser(newUser(nil)), "id")
	}
	return ids
}

func memberValues(ids ...string) []any {
	out := []any{}
	for _, id := range ids {
		out = append(out, map[string]any{"value": id})
	}
	return out
}

// Ensure groups can be created, read, listed and deleted, and that the
// displayName is kept verbatim.
func testGroupCRUD(e *env) {
	u := e.users(1)
	name := unique("Conformance Team  Data") // spaces and capitals: stored as sent
	body := map[string]any{"schemas": []any{urnGroup}, "displayName": name, "members": memberValues(u...)}
	r := e.do(http.MethodPost, "/Groups", body)
	if r.Status == http.StatusCreated && str(r.JSON, "id") != "" {
		e.cleanupDelete(groupPath(str(r.JSON, "id")))
	}
	e.mustStatus(r, http.StatusCreated)
	e.checkSCIMContentType(r)
	g := e.object(r)
	id := str(g, "id")
	if id == "" {
		e.t.Fatalf("want an id\n%s", r)
	}
	if r.Header.Get("Location") == "" {
		e.t.Errorf("want a Location header (RFC 7644 §3.3)\n%s", r)
	}
	if !hasString(g["schemas"], urnGroup) {
		e.t.Errorf("want schemas to hold %q\n%s", urnGroup, r)
	}
	if got := str(g, "displayName"); got != name {
		e.t.Errorf("want displayName %q exactly as sent, got %q\n%s", name, got, r)
	}
	e.checkMeta(r, g, "Group", "Groups/"+id)

	got := e.get(groupPath(id))
	if str(got, "displayName") != name {
		e.t.Errorf("GET: want displayName %q, got %s", name, brief(got))
	}
	e.wantMembers(id, "POST with one member", u...)

	l := e.list(filterPath("/Groups", fmt.Sprintf("displayName eq %q", name)))
	if l.total != 1 || len(l.ids()) != 1 || l.ids()[0] != id {
		e.t.Errorf("filter displayName eq: want only the group %s\n%s", id, l.resp)
	}

	d := e.do(http.MethodDelete, groupPath(id), nil)
	e.mustStatus(d, http.StatusNoContent)
	e.wantError(e.do(http.MethodGet, groupPath(id), nil), http.StatusNotFound, "")
	if str(e.get(userPath(u[0])), "id") != u[0] {
		e.t.Errorf("deleting a group must not delete its members")
	}
}

// Ensure excludedAttributes=members leaves members out of a group listing and
// a group read, as Entra ID asks (RFC 7644 §3.4.2.5).
func testGroupFilterExcludingMembers(e *env) {
	u := e.users(2)
	name := unique("Conformance Excluded")
	id := str(e.createGroup(name, u...), "id")
	l := e.list(filterPath("/Groups", fmt.Sprintf("displayName eq %q", name), "excludedAttributes", "members"))
	if len(l.items) != 1 || str(l.items[0], "id") != id {
		e.t.Fatalf("want the group %s\n%s", id, l.resp)
	}
	if present(l.items[0], "members") {
		e.t.Errorf("excludedAttributes=members: want no members\n%s", l.resp)
	}
	if str(l.items[0], "displayName") != name {
		e.t.Errorf("excludedAttributes=members: want displayName kept\n%s", l.resp)
	}
	r := e.do(http.MethodGet, query(groupPath(id), "excludedAttributes", "members"), nil)
	e.mustStatus(r, http.StatusOK)
	if present(r.JSON, "members") || str(r.JSON, "id") != id {
		e.t.Errorf("GET with excludedAttributes=members: want the group without members\n%s", r)
	}
	e.wantMembers(id, "a GET without excludedAttributes", u...)
}

// Ensure PATCH add members adds them; the answer is 204, or 200 with the group.
func testGroupAddMember(e *env) {
	u := e.users(2)
	id := str(e.createGroup(unique("Conformance Add")), "id")
	e.mustPatch(groupPath(id), map[string]any{"op": "add", "path": "members", "value": memberValues(u[0])})
	e.wantMembers(id, "add members [u0]", u[0])
	e.mustPatch(groupPath(id), map[string]any{"op": "add", "path": "members", "value": memberValues(u[1])})
	e.wantMembers(id, "add members [u1]", u...)
}

// Ensure remove with members[value eq "id"] removes only that member.
func testGroupRemoveByFilter(e *env) {
	u := e.users(3)
	id := str(e.createGroup(unique("Conformance RemoveFilter"), u...), "id")
	e.mustPatch(groupPath(id), map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", u[1])})
	e.wantMembers(id, fmt.Sprintf("remove members[value eq %q]", u[1]), u[0], u[2])
}

// Ensure remove with path "members" and a value list removes only the
// listed members, never the whole group (Entra ID's form, SPEC §8.4).
func testGroupRemoveByValue(e *env) {
	u := e.users(3)
	id := str(e.createGroup(unique("Conformance RemoveValue"), u...), "id")
	e.mustPatch(groupPath(id), map[string]any{"op": "remove", "path": "members", "value": memberValues(u[0], u[2])})
	e.wantMembers(id, `remove path "members" with value [u0, u2]`, u[1])
}

// Ensure remove of "members" without a filter or value removes them all
// (RFC 7644 §3.5.2.2).
func testGroupRemoveAll(e *env) {
	u := e.users(2)
	id := str(e.createGroup(unique("Conformance RemoveAll"), u...), "id")
	e.mustPatch(groupPath(id), map[string]any{"op": "remove", "path": "members"})
	e.wantMembers(id, `remove path "members" without a value`)
}

// Ensure replace members with a list sets exactly that list (Okta's full
// push).
func testGroupReplaceMembers(e *env) {
	u := e.users(3)
	id := str(e.createGroup(unique("Conformance Replace"), u[0], u[1]), "id")
	e.mustPatch(groupPath(id), map[string]any{"op": "replace", "path": "members", "value": memberValues(u[1], u[2])})
	e.wantMembers(id, "replace members [u1, u2] on [u0, u1]", u[1], u[2])
}

// Ensure replace members [] empties the group.
func testGroupReplaceMembersEmpty(e *env) {
	u := e.users(2)
	id := str(e.createGroup(unique("Conformance Empty"), u...), "id")
	e.mustPatch(groupPath(id), map[string]any{"op": "replace", "path": "members", "value": []any{}})
	e.wantMembers(id, "replace members []")
}

// Ensure adding an existing member and removing a non-member succeed and
// change nothing.
func testGroupNoOps(e *env) {
	u := e.users(2)
	id := str(e.createGroup(unique("Conformance NoOp"), u[0]), "id")
	e.mustPatch(groupPath(id), map[string]any{"op": "add", "path": "members", "value": memberValues(u[0])})
	e.wantMembers(id, "re-adding an existing member", u[0])
	e.mustPatch(groupPath(id), map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", u[1])})
	e.wantMembers(id, "removing a non-member by filter", u[0])
	e.mustPatch(groupPath(id), map[string]any{"op": "remove", "path": "members", "value": memberValues(u[1])})
	e.wantMembers(id, "removing a non-member by value", u[0])
}

// Ensure an unknown member id among known ones does not lose the known ones
// (Okta does not retry a 400, SPEC §8.4).
func testGroupUnknownMember(e *env) {
	u := e.users(2)
	id := str(e.createGroup(unique("Conformance Unknown")), "id")
	ghost := "conformance-no-such-user-" + randomHex(6)
	r := e.patch(groupPath(id), map[string]any{"op": "add", "path": "members", "value": memberValues(u[0], ghost, u[1])})
	e.t.Logf("add members [u0, unknown, u1] answered %d", r.Status)
	got := e.memberIDs(id)
	for _, want := range u {
		if !containsString(got, want) {
			e.t.Errorf("after adding [u0, unknown id, u1], the known member %s is missing: one unknown id must not lose the rest (members now %v)\n%s", want, got, r)
		}
	}
	if r.Status/100 == 2 {
		e.checkPatchResponse(r)
	}
}

func containsString(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// Ensure replace displayName renames a group, keeping its members.
func testGroupRename(e *env) {
	u := e.users(1)
	id := str(e.createGroup(unique("Conformance Before"), u...), "id")
	name := unique("Conformance After Rename")
	e.mustPatch(groupPath(id), map[string]any{"op": "replace", "path": "displayName", "value": name})
	if got := str(e.get(groupPath(id)), "displayName"); got != name {
		e.t.Errorf("after replace displayName: want %q, got %q", name, got)
	}
	e.wantMembers(id, "a rename", u...)
	l := e.list(filterPath("/Groups", fmt.Sprintf("displayName eq %q", strings.ToUpper(name))))
	if l.total != 1 {
		e.t.Errorf("displayName is caseExact false (RFC 7643 §4.2): the upper-cased name must find the group\n%s", l.resp)
	}
}

// Ensure PUT /Groups/{id} replaces the group (RFC 7644 §3.5.1): the name as sent and exactly
// the members listed; a PUT without members leaves none; an id in the body is no change.
func testGroupReplace(e *env) {
	u := e.users(3)
	id := str(e.createGroup(unique("Conformance PutBefore"), u[0], u[1]), "id")
	name := unique("Conformance PutAfter")
	r := e.do(http.MethodPut, groupPath(id), map[string]any{
		"schemas": []any{urnGroup}, "id": id, "displayName": name, "members": memberValues(u[1], u[2]),
	})
	e.mustStatus(r, http.StatusOK)
	e.checkSCIMContentType(r)
	if m := e.object(r); str(m, "id") != id || str(m, "displayName") != name {
		e.t.Errorf("PUT: want the group %s named %q\n%s", id, name, r)
	}
	e.wantMembers(id, "PUT with members [u1, u2] on [u0, u1]", u[1], u[2])
	e.mustStatus(e.do(http.MethodPut, groupPath(id), map[string]any{"schemas": []any{urnGroup}, "displayName": name}), http.StatusOK)
	e.wantMembers(id, "PUT without members")
	if g := e.get(groupPath(id)); str(g, "displayName") != name {
		e.t.Errorf("GET after PUT: want displayName %q, got %s", name, brief(g))
	}
}
