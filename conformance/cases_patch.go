package conformance

import (
	"net/http"
)

// Ensure the operations of one PATCH apply in order (RFC 7644 §3.5.2).
func testPatchOpsInOrder(e *env) {
	u := e.createUser(newUser(map[string]any{"displayName": "Start"}))
	p := userPath(str(u, "id"))
	e.mustPatch(p,
		map[string]any{"op": "replace", "path": "displayName", "value": "First"},
		map[string]any{"op": "replace", "path": "displayName", "value": "Second"},
		map[string]any{"op": "add", "path": "title", "value": "Temporary"},
		map[string]any{"op": "remove", "path": "title"},
		map[string]any{"op": "remove", "path": "nickName"},
		map[string]any{"op": "add", "path": "nickName", "value": "Last"},
	)
	m := e.get(p)
	if str(m, "displayName") != "Second" || present(m, "title") || str(m, "nickName") != "Last" {
		e.t.Errorf("ops [replace displayName First, replace displayName Second, add title, remove title, remove nickName, add nickName Last] in order: want displayName %q, no title, nickName %q; got %s",
			"Second", "Last", brief(m))
	}
}

// Ensure a PATCH whose later operation fails changes nothing (RFC 7644
// §3.5.2: "the entire set of operations" is atomic).
func testPatchAtomic(e *env) {
	taken := e.createUser(newUser(nil))
	u := e.createUser(newUser(map[string]any{"displayName": "Unchanged"}))
	p := userPath(str(u, "id"))

	// A failure found only when applying: the second op makes userName collide.
	r := e.patch(p,
		map[string]any{"op": "replace", "path": "displayName", "value": "Changed"},
		map[string]any{"op": "replace", "path": "userName", "value": str(taken, "userName")},
	)
	e.wantError(r, http.StatusConflict, "uniqueness")
	// A failure in the last op's path.
	r = e.patch(p,
		map[string]any{"op": "replace", "path": "displayName", "value": "Changed"},
		map[string]any{"op": "add", "path": "nickName", "value": "Changed"},
		map[string]any{"op": "replace", "path": `emails[type eq "work"`, "value": "x@example.com"},
	)
	e.wantError(r, http.StatusBadRequest, "invalidPath")

	m := e.get(p)
	if str(m, "displayName") != "Unchanged" || present(m, "nickName") || str(m, "userName") != str(u, "userName") {
		e.t.Errorf("after two PATCHes whose last op failed: want the user unchanged (displayName %q, no nickName, userName %q), got %s",
			"Unchanged", str(u, "userName"), brief(m))
	}
}

// Ensure an add or replace of null unassigns what its path names (RFC 7643 §2.5), as Entra's
// null update sends to clear attributes, and that a null on a value filter that matches nothing
// changes nothing.
func testPatchNullUnassigns(e *env) {
	u := e.createUser(newUser(map[string]any{"displayName": "Nulled", "title": "Gone", "nickName": "Kept"}))
	p := userPath(str(u, "id"))
	e.mustPatch(p,
		map[string]any{"op": "replace", "path": "displayName", "value": nil},
		map[string]any{"op": "Add", "path": "title", "value": nil},
		map[string]any{"op": "replace", "path": `phoneNumbers[type eq "mobile"].value`, "value": nil},
	)
	m := e.get(p)
	if present(m, "displayName") || present(m, "title") || str(m, "nickName") != "Kept" || present(m, "phoneNumbers") {
		e.t.Errorf("after replace displayName null, add title null and replace phoneNumbers[type eq \"mobile\"].value null: want no displayName, no title, no phoneNumbers and nickName %q; got %s",
			"Kept", brief(m))
	}
}

// Ensure a malformed path is 400 invalidPath.
func testPatchInvalidPath(e *env) {
	u := e.createUser(newUser(nil))
	p := userPath(str(u, "id"))
	for _, path := range []string{`emails[type eq "work"`, `name..givenName`, `emails[type eq "work"]]`} {
		e.wantError(e.patch(p, map[string]any{"op": "replace", "path": path, "value": "x"}), http.StatusBadRequest, "invalidPath")
	}
}

// Ensure a PATCH body without the PatchOp schema, or without operations, is 400.
func testPatchBadSchemas(e *env) {
	u := e.createUser(newUser(map[string]any{"displayName": "Untouched"}))
	p := userPath(str(u, "id"))
	ops := []any{map[string]any{"op": "replace", "path": "displayName", "value": "Touched"}}
	for _, body := range []map[string]any{
		{"schemas": []any{urnUser}, "Operations": ops},
		{"Operations": ops},
		{"schemas": []any{urnPatchOp}, "Operations": []any{}},
	} {
		e.wantError(e.do(http.MethodPatch, p, body), http.StatusBadRequest, "")
	}
	if got := str(e.get(p), "displayName"); got != "Untouched" {
		e.t.Errorf("rejected PATCHes changed displayName to %q", got)
	}
}

// Ensure an unknown op is 400.
func testPatchUnknownOp(e *env) {
	u := e.createUser(newUser(map[string]any{"displayName": "Untouched"}))
	p := userPath(str(u, "id"))
	e.wantError(e.patch(p, map[string]any{"op": "update", "path": "displayName", "value": "Touched"}), http.StatusBadRequest, "")
	if got := str(e.get(p), "displayName"); got != "Untouched" {
		e.t.Errorf(`a PATCH with op "update" changed displayName to %q`, got)
	}
}

// Ensure remove without a path is 400 noTarget (RFC 7644 §3.5.2.2).
func testPatchRemoveWithoutPath(e *env) {
	u := e.createUser(newUser(nil))
	e.wantError(e.patch(userPath(str(u, "id")), map[string]any{"op": "remove"}), http.StatusBadRequest, "noTarget")
	g := e.createGroup(unique("Conformance NoTarget"), str(u, "id"))
	e.wantError(e.patch(groupPath(str(g, "id")), map[string]any{"op": "remove"}), http.StatusBadRequest, "noTarget")
	e.wantMembers(str(g, "id"), "a rejected remove without path", str(u, "id"))
}

// Ensure malformed JSON is 400 invalidSyntax on POST, PUT and PATCH.
func testMalformedJSON(e *env) {
	u := e.createUser(newUser(nil))
	p := userPath(str(u, "id"))
	bad := `{"schemas": ["` + urnUser + `"], "userName": "conformance-broken",`
	e.wantError(e.do(http.MethodPost, "/Users", bad), http.StatusBadRequest, "invalidSyntax")
	e.wantError(e.do(http.MethodPut, p, bad), http.StatusBadRequest, "invalidSyntax")
	e.wantError(e.do(http.MethodPatch, p, `{"schemas": ["`+urnPatchOp+`"], "Operations": [{"op": "replace",`), http.StatusBadRequest, "invalidSyntax")
	e.wantError(e.do(http.MethodPost, "/Groups", `[1, 2`), http.StatusBadRequest, "invalidSyntax")
}
