package conformance

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Ensure POST /Users answers 201 with Location, id, schemas and meta
// (RFC 7644 §3.3, RFC 7643 §3.1).
func testUserCreate(e *env) {
	body := newUser(map[string]any{
		"name":        map[string]any{"givenName": "Barbara", "familyName": "Jensen"},
		"displayName": "Babs Jensen",
		"emails":      []any{map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true}},
	})
	r := e.do(http.MethodPost, "/Users", body)
	if r.Status == http.StatusCreated && str(r.JSON, "id") != "" {
		e.cleanupDelete(userPath(str(r.JSON, "id")))
	}
	e.mustStatus(r, http.StatusCreated)
	e.checkSCIMContentType(r)
	m := e.object(r)
	id := str(m, "id")
	if id == "" {
		e.t.Fatalf("want a non-empty string id\n%s", r)
	}
	if !hasString(m["schemas"], urnUser) {
		e.t.Errorf("want schemas to hold %q\n%s", urnUser, r)
	}
	if got := str(m, "userName"); got != body["userName"] {
		e.t.Errorf("want userName %q as sent, got %q\n%s", body["userName"], got, r)
	}
	if got := str(m, "name", "familyName"); got != "Jensen" {
		e.t.Errorf("want name.familyName %q, got %q\n%s", "Jensen", got, r)
	}
	e.checkMeta(r, m, "User", "Users/"+id)
	loc := r.Header.Get("Location")
	if loc == "" {
		e.t.Errorf("want a Location header (RFC 7644 §3.3)\n%s", r)
	} else if ml := str(m, "meta", "location"); ml != "" && ml != loc {
		e.t.Errorf("want the Location header %q to equal meta.location %q (RFC 7644 §3.1)\n%s", loc, ml, r)
	}
}

// checkMeta checks meta.resourceType, created, lastModified, location (ending
// in suffix) and, when the target supports ETags, version.
func (e *env) checkMeta(r *response, m map[string]any, resourceType, suffix string) {
	e.t.Helper()
	if got := str(m, "meta", "resourceType"); got != resourceType {
		e.t.Errorf("want meta.resourceType %q, got %q\n%s", resourceType, got, r)
	}
	for _, k := range []string{"created", "lastModified"} {
		s := str(m, "meta", k)
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			e.t.Errorf("want meta.%s as an RFC 3339 date-time, got %q\n%s", k, s, r)
		}
	}
	if loc := str(m, "meta", "location"); !strings.HasSuffix(loc, suffix) {
		e.t.Errorf("want meta.location ending in %q, got %q\n%s", suffix, loc, r)
	}
	if str(m, "meta", "version") == "" {
		if e.supported("etag") {
			e.t.Errorf("the ServiceProviderConfig says etag is supported: want meta.version (RFC 7644 §3.14)\n%s", r)
		} else {
			e.t.Logf("no meta.version (etag is not supported, so it is optional)")
		}
	}
}

// Ensure GET /Users/{id} returns the user.
func testUserGet(e *env) {
	u := e.createUser(newUser(map[string]any{"displayName": "Get Me"}))
	id := str(u, "id")
	r := e.do(http.MethodGet, userPath(id), nil)
	e.mustStatus(r, http.StatusOK)
	e.checkSCIMContentType(r)
	m := e.object(r)
	if str(m, "id") != id || str(m, "userName") != u["userName"] || str(m, "displayName") != "Get Me" {
		e.t.Errorf("want id %q, userName %q, displayName %q\n%s", id, u["userName"], "Get Me", r)
	}
	if !hasString(m["schemas"], urnUser) {
		e.t.Errorf("want schemas to hold %q\n%s", urnUser, r)
	}
	e.checkMeta(r, m, "User", "Users/"+id)
}

// Ensure an unknown id is 404 with a complete Error body.
func testUserGetUnknown(e *env) {
	for _, p := range []string{userPath("conformance-missing-" + randomHex(8)), groupPath("conformance-missing-" + randomHex(8))} {
		r := e.do(http.MethodGet, p, nil)
		if e.wantError(r, http.StatusNotFound, "") && str(r.JSON, "detail") == "" {
			e.t.Errorf("want a detail message in the Error body\n%s", r)
		}
	}
}

// Ensure PUT replaces the whole resource: attributes missing from the body
// are gone afterwards (RFC 7644 §3.5.1; Okta updates with GET then PUT).
func testUserReplace(e *env) {
	u := e.createUser(newUser(map[string]any{
		"name":        map[string]any{"givenName": "Old", "familyName": "Name"},
		"displayName": "Before Put",
		"title":       "Engineer",
		"nickName":    "Nick",
		"emails":      []any{map[string]any{"value": "old@example.com", "type": "work"}},
	}))
	id := str(u, "id")
	put := map[string]any{
		"schemas":     []any{urnUser},
		"id":          id,
		"userName":    u["userName"],
		"name":        map[string]any{"givenName": "New"},
		"displayName": "After Put",
		"active":      true,
	}
	r := e.do(http.MethodPut, userPath(id), put)
	e.mustStatus(r, http.StatusOK)
	e.checkSCIMContentType(r)
	check := func(m map[string]any, r fmt.Stringer, where string) {
		if str(m, "displayName") != "After Put" || str(m, "name", "givenName") != "New" {
			e.t.Errorf("%s: want displayName %q and name.givenName %q from the PUT\n%s", where, "After Put", "New", r)
		}
		var kept []string
		for _, k := range [][]string{{"title"}, {"nickName"}, {"emails"}, {"name", "familyName"}} {
			if present(m, k...) {
				kept = append(kept, strings.Join(k, "."))
			}
		}
		if len(kept) > 0 {
			e.t.Errorf("%s: %s not in the PUT body, so must be gone (PUT replaces, it does not merge)\n%s", where, strings.Join(kept, ", "), r)
		}
	}
	check(e.object(r), r, "PUT response")
	g := e.do(http.MethodGet, userPath(id), nil)
	e.mustStatus(g, http.StatusOK)
	check(e.object(g), g, "GET after PUT")
}

// Ensure PATCH add, replace and remove with paths change a user.
func testUserPatch(e *env) {
	u := e.createUser(newUser(map[string]any{
		"displayName": "Before Patch",
		"title":       "Engineer",
		"name":        map[string]any{"givenName": "Old", "familyName": "Family"},
	}))
	id := str(u, "id")
	r := e.mustPatch(userPath(id),
		map[string]any{"op": "replace", "path": "displayName", "value": "After Patch"},
		map[string]any{"op": "add", "path": "nickName", "value": "Patchy"},
		map[string]any{"op": "remove", "path": "title"},
		map[string]any{"op": "replace", "path": "name.givenName", "value": "New"},
	)
	if r.Status == http.StatusOK && str(r.JSON, "displayName") != "After Patch" {
		e.t.Errorf("the PATCH response must be the updated resource\n%s", r)
	}
	m := e.get(userPath(id))
	if str(m, "displayName") != "After Patch" || str(m, "nickName") != "Patchy" ||
		str(m, "name", "givenName") != "New" || str(m, "name", "familyName") != "Family" || present(m, "title") {
		e.t.Errorf("after PATCH (replace displayName, add nickName, remove title, replace name.givenName): want displayName %q, nickName %q, name {givenName %q, familyName %q}, no title; got %s",
			"After Patch", "Patchy", "New", "Family", brief(m))
	}
}

// Ensure DELETE answers 204 and the user is gone afterwards.
func testUserDelete(e *env) {
	u := e.createUser(newUser(nil))
	p := userPath(str(u, "id"))
	r := e.do(http.MethodDelete, p, nil)
	e.mustStatus(r, http.StatusNoContent)
	if len(strings.TrimSpace(string(r.Body))) > 0 {
		e.t.Errorf("204 No Content must have an empty body\n%s", r)
	}
	e.wantError(e.do(http.MethodGet, p, nil), http.StatusNotFound, "")
	e.wantError(e.do(http.MethodDelete, p, nil), http.StatusNotFound, "")
	l := e.list(filterPath("/Users", fmt.Sprintf("userName eq %q", u["userName"])))
	if l.total != 0 {
		e.t.Errorf("a deleted user is still listed\n%s", l.resp)
	}
}

// Ensure a second user with the same userName is 409 uniqueness.
func testUserUnique(e *env) {
	u := e.createUser(newUser(nil))
	dup := newUser(map[string]any{"userName": str(u, "userName")})
	r := e.do(http.MethodPost, "/Users", dup)
	if r.Status == http.StatusCreated {
		e.cleanupDelete(userPath(str(r.JSON, "id")))
	}
	e.wantError(r, http.StatusConflict, "uniqueness")
}

// Ensure userName uniqueness ignores case (RFC 7643 §4.1.1: caseExact false).
func testUserUniqueIgnoresCase(e *env) {
	u := e.createUser(newUser(nil))
	dup := newUser(map[string]any{"userName": strings.ToUpper(str(u, "userName"))})
	r := e.do(http.MethodPost, "/Users", dup)
	if r.Status == http.StatusCreated {
		e.cleanupDelete(userPath(str(r.JSON, "id")))
	}
	e.wantError(r, http.StatusConflict, "uniqueness")
}

// Ensure a password is accepted and never returned (RFC 7643 §4.1.1:
// returned "never").
func testUserPasswordNeverReturned(e *env) {
	body := newUser(map[string]any{"password": "t1me-" + randomHex(6)})
	r := e.do(http.MethodPost, "/Users", body)
	if r.Status == http.StatusCreated && str(r.JSON, "id") != "" {
		e.cleanupDelete(userPath(str(r.JSON, "id")))
	}
	e.mustStatus(r, http.StatusCreated)
	id := str(r.JSON, "id")
	check := func(r *response) {
		if strings.Contains(string(r.Body), body["password"].(string)) {
			e.t.Errorf("the password sent at creation is echoed back\n%s", r)
		} else if _, ok := lookup(r.JSON, "password"); ok {
			e.t.Errorf("want no password attribute (returned: never)\n%s", r)
		}
	}
	check(r)
	check(e.do(http.MethodGet, userPath(id), nil))
	l := e.list(filterPath("/Users", fmt.Sprintf("userName eq %q", body["userName"])))
	check(l.resp)
}

// Ensure "active": "True" as a string is accepted (Entra ID sends string
// booleans) and stored as a boolean.
func testUserActiveString(e *env) {
	u := e.createUser(newUser(map[string]any{"active": "True"}))
	m := e.get(userPath(str(u, "id")))
	if v, _ := lookup(m, "active"); v != true {
		e.t.Errorf(`POST with "active": "True": want active true (a JSON boolean) on GET, got %s`, brief(v))
	}
}

// Ensure unknown attributes, unknown schema URIs, read-only id and meta and
// explicit nulls in a POST body are ignored, not rejected, and not stored.
func testUserIgnoresUnknown(e *env) {
	body := newUser(map[string]any{
		"schemas":                   []any{urnUser, "urn:example:conformance:unknown:2.0:User"},
		"id":                        "conformance-client-chosen-id",
		"meta":                      map[string]any{"resourceType": "User", "created": "2001-01-01T00:00:00Z", "version": `W/"client"`},
		"conformanceUnknownAttr":    "ignored",
		"title":                     nil,
		"addresses":                 nil,
		"urn:example:conformance:x": map[string]any{"y": "z"},
	})
	r := e.do(http.MethodPost, "/Users", body)
	if r.Status == http.StatusCreated && str(r.JSON, "id") != "" {
		e.cleanupDelete(userPath(str(r.JSON, "id")))
	}
	e.mustStatus(r, http.StatusCreated)
	m := e.object(r)
	if str(m, "id") == "conformance-client-chosen-id" {
		e.t.Errorf("id is assigned by the service provider; the id in the body must be ignored (RFC 7643 §3.1)\n%s", r)
	}
	if str(m, "meta", "created") == "2001-01-01T00:00:00Z" {
		e.t.Errorf("meta is read-only; the meta in the body must be ignored\n%s", r)
	}
	g := e.get(userPath(str(m, "id")))
	if present(g, "conformanceUnknownAttr") || present(g, "title") || present(g, "addresses") {
		e.t.Errorf("unknown attributes and nulls must not be stored, got %s", brief(g))
	}
}

// Ensure attribute names are matched ignoring case (RFC 7643 §2.1), in a
// POST body and in a PATCH path.
func testUserAttributeNamesIgnoreCase(e *env) {
	name := unique("conformance.case")
	u := e.createUser(map[string]any{
		"schemas":     []any{urnUser},
		"UserName":    name,
		"DisplayName": "Mixed Case",
		"Active":      true,
	})
	id := str(u, "id")
	m := e.get(userPath(id))
	if str(m, "userName") != name || str(m, "displayName") != "Mixed Case" {
		e.t.Errorf(`POST with "UserName" and "DisplayName": want userName %q and displayName %q, got %s`, name, "Mixed Case", brief(m))
	}
	e.mustPatch(userPath(id), map[string]any{"op": "Replace", "path": "DisplayName", "value": "Patched Case"})
	if got := str(e.get(userPath(id)), "displayName"); got != "Patched Case" {
		e.t.Errorf(`PATCH {"op":"Replace","path":"DisplayName"}: want displayName %q, got %q`, "Patched Case", got)
	}
}

// Ensure a POST sent as application/json is accepted and answered as
// application/scim+json (RFC 7644 §3.8).
func testUserApplicationJSON(e *env) {
	body := newUser(nil)
	r := e.do(http.MethodPost, "/Users", body, "Content-Type", "application/json")
	if r.Status == http.StatusCreated && str(r.JSON, "id") != "" {
		e.cleanupDelete(userPath(str(r.JSON, "id")))
	}
	e.mustStatus(r, http.StatusCreated)
	if str(r.JSON, "userName") != body["userName"] {
		e.t.Errorf("want the created user in the body\n%s", r)
	}
	e.checkSCIMContentType(r)
}

// Ensure a user needs a userName, on POST and on PUT (RFC 7643 §4.1.1: userName is required),
// and that a refused PUT changes nothing.
func testUserRequiresUserName(e *env) {
	body := newUser(map[string]any{"displayName": "No User Name"})
	delete(body, "userName")
	r := e.do(http.MethodPost, "/Users", body)
	if r.Status == http.StatusCreated && str(r.JSON, "id") != "" {
		e.cleanupDelete(userPath(str(r.JSON, "id")))
	}
	e.wantError(r, http.StatusBadRequest, "")
	u := e.createUser(newUser(map[string]any{"displayName": "Keep Me"}))
	id := str(u, "id")
	put := map[string]any{"schemas": []any{urnUser}, "displayName": "Lost My Name", "active": true}
	e.wantError(e.do(http.MethodPut, userPath(id), put), http.StatusBadRequest, "")
	if g := e.get(userPath(id)); str(g, "userName") != u["userName"] || str(g, "displayName") != "Keep Me" {
		e.t.Errorf("a refused PUT must change nothing, got %s", brief(g))
	}
}

// Ensure PUT ignores attributes it does not know, as POST does: a misspelled attribute is not
// stored, and the attribute it failed to name is gone (PUT replaces).
func testUserReplaceIgnoresUnknown(e *env) {
	u := e.createUser(newUser(map[string]any{"title": "Engineer"}))
	id := str(u, "id")
	put := map[string]any{
		"schemas": []any{urnUser}, "userName": u["userName"], "active": true,
		"titel": "Manager", "conformanceUnknownAttr": "ignored",
	}
	r := e.do(http.MethodPut, userPath(id), put)
	e.mustStatus(r, http.StatusOK)
	g := e.get(userPath(id))
	for _, k := range []string{"title", "titel", "conformanceUnknownAttr"} {
		if present(g, k) {
			e.t.Errorf("after a PUT naming %q: want no %s, got %s", "titel", k, brief(g))
		}
	}
}
