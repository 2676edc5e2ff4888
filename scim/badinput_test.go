package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/rollcall/rollcall/storage"
)

// Ensure every kind of malformed request gets the SCIM error body with the right status and
// scimType, names the problem, and changes nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes = 64 << 10 })
	uid := e.mustCreate("/Users", user("bjensen", "emails", []map[string]any{{"value": "b@example.com", "type": "work"}}))
	gid := e.mustCreate("/Groups", group("Admins", uid))
	e.mustCreate("/Groups", group("Data Engineers"))
	before := e.snapshot(uid, gid)
	audits := e.successCount()

	big := `{"schemas":["` + userURN + `"],"userName":"x","title":"` + strings.Repeat("a", 70<<10) + `"}`
	q := url.QueryEscape
	long := strings.Repeat("é", storage.MaxIndexedBytes/2) + "x" // one byte over
	tests := []struct {
		name           string
		method, path   string
		body           any
		headers        []string
		status         int
		scimType       string
		detailContains string
	}{
		{"POST malformed JSON", "POST", "/Users", `{"userName": "x"`, nil, 400, typeInvalidSyntax, "not valid JSON (it ends too soon)"},
		{"POST invalid JSON", "POST", "/Users", `{"userName": x}`, nil, 400, typeInvalidSyntax, "not valid JSON (at byte 14)"},
		{"POST empty body", "POST", "/Users", ` `, nil, 400, typeInvalidSyntax, "empty"},
		{"POST body not an object", "POST", "/Users", `["x"]`, nil, 400, typeInvalidSyntax, "is a JSON array; it must be a JSON object"},
		{"POST body null", "POST", "/Users", `null`, nil, 400, typeInvalidSyntax, "must be a JSON object"},
		{"POST trailing garbage", "POST", "/Users", `{"userName":"x"} {}`, nil, 400, typeInvalidSyntax, "more after its JSON value"},
		{"POST a stray bracket after the body", "POST", "/Users", `{"schemas":["` + userURN + `"],"userName":"trail"}]`, nil, 400, typeInvalidSyntax, "more after its JSON value"},
		{"PATCH a stray brace after the body", "PATCH", "/Users/" + uid, `{"schemas":["` + patchOpURN + `"],"Operations":[{"op":"replace","path":"title","value":"x"}]}}`, nil, 400, typeInvalidSyntax, "more after its JSON value"},
		{"POST missing schemas", "POST", "/Users", `{"userName":"x"}`, nil, 400, typeInvalidSyntax, ""},
		{"POST missing userName", "POST", "/Users", user(""), nil, 400, typeInvalidValue, "userName"},
		{"POST blank userName", "POST", "/Users", user("   "), nil, 400, typeInvalidValue, "userName"},
		{"POST userName wrong type", "POST", "/Users", user("x", "userName", []int{1}), nil, 400, typeInvalidValue, "userName"},
		{"POST active not a boolean", "POST", "/Users", user("x", "active", "maybe"), nil, 400, typeInvalidValue, "active"},
		{"POST extension not an object", "POST", "/Users", user("x", enterpriseURN, "eng"), nil, 400, typeInvalidValue, enterpriseURN},
		{"POST single-valued given a list", "POST", "/Users", user("x", "title", []any{"a", "b"}), nil, 400, typeInvalidValue, "title"},
		{"POST two primary emails", "POST", "/Users", user("x", "emails", []map[string]any{{"value": "a@example.com", "primary": true}, {"value": "b@example.com", "primary": true}}), nil, 400, typeInvalidValue, "emails"},
		{"PUT two primary phone numbers", "PUT", "/Users/" + uid, user("bjensen", "phoneNumbers", []map[string]any{{"value": "1", "primary": true}, {"value": "2", "primary": true}}), nil, 400, typeInvalidValue, "phoneNumbers"},
		{"POST too many emails", "POST", "/Users", user("x", "emails", make([]map[string]any, 101)), nil, 400, typeInvalidValue, "emails"},
		{"POST duplicate userName", "POST", "/Users", user("BJENSEN"), nil, 409, typeUniqueness, "userName"},
		{"POST group blank name", "POST", "/Groups", group("  "), nil, 400, typeInvalidValue, "displayName"},
		{"POST group name clash after normalization", "POST", "/Groups", group("data_engineers"), nil, 409, typeUniqueness, "data_engineers"},
		{"POST over the body limit", "POST", "/Users", big, nil, 413, "", "limit"},
		{"PUT over the body limit", "PUT", "/Users/" + uid, big, nil, 413, "", "limit"},
		{"PATCH over the body limit", "PATCH", "/Users/" + uid, big, nil, 413, "", "limit"},
		{"PUT malformed JSON", "PUT", "/Users/" + uid, `{`, nil, 400, typeInvalidSyntax, ""},
		{"PUT unknown id", "PUT", "/Users/nope", user("x"), nil, 404, "", "nope"},
		{"PUT stale If-Match", "PUT", "/Users/" + uid, user("bjensen"), []string{"If-Match", `W/"99"`}, 412, "", "If-Match"},
		{"DELETE stale If-Match", "DELETE", "/Users/" + uid, nil, []string{"If-Match", `W/"99"`}, 412, "", "If-Match"},
		{"PUT If-None-Match *", "PUT", "/Users/" + uid, user("bjensen"), []string{"If-None-Match", "*"}, 412, "", "If-None-Match"},
		{"PATCH If-None-Match the current version", "PATCH", "/Users/" + uid, patch(op("replace", "title", "x")), []string{"If-None-Match", `"1"`}, 412, "", "If-None-Match"},
		{"DELETE If-None-Match a list with the current version", "DELETE", "/Users/" + uid, nil, []string{"If-None-Match", `W/"7", W/"1"`}, 412, "", "If-None-Match"},
		{"DELETE unknown group", "DELETE", "/Groups/nope", nil, nil, 404, "", "nope"},
		{"PATCH malformed JSON", "PATCH", "/Users/" + uid, `{"schemas":`, nil, 400, typeInvalidSyntax, "PatchOp"},
		{"PATCH body an array", "PATCH", "/Users/" + uid, `[{"op": "add"}]`, nil, 400, typeInvalidSyntax, "is a JSON array; it must be a PatchOp JSON object"},
		{"PATCH wrong schemas", "PATCH", "/Users/" + uid, map[string]any{"schemas": []string{userURN}, "Operations": []any{op("add", "title", "x")}}, nil, 400, typeInvalidValue, "schemas"},
		{"PATCH no operations", "PATCH", "/Users/" + uid, patch(), nil, 400, typeInvalidValue, "Operations"},
		{"PATCH operation not an object", "PATCH", "/Users/" + uid, map[string]any{"schemas": []string{patchOpURN}, "Operations": []any{"add"}}, nil, 400, typeInvalidSyntax, "Operation 1"},
		{"PATCH unknown op", "PATCH", "/Users/" + uid, patch(op("update", "title", "x")), nil, 400, typeInvalidValue, "update"},
		{"PATCH path not a string", "PATCH", "/Users/" + uid, patch(map[string]any{"op": "add", "path": 3, "value": "x"}), nil, 400, typeInvalidPath, "path"},
		{"PATCH unparsable path", "PATCH", "/Users/" + uid, patch(op("replace", `emails[type eq "work"`, "x")), nil, 400, typeInvalidPath, "offset"},
		{"PATCH unknown attribute", "PATCH", "/Users/" + uid, patch(op("replace", "favoriteColor", "blue")), nil, 400, typeInvalidPath, "favoriteColor"},
		{"PATCH unknown sub-attribute", "PATCH", "/Users/" + uid, patch(op("replace", `emails[type eq "work"].colour`, "x")), nil, 400, typeInvalidPath, "colour"},
		{"PATCH filter on a single-valued attribute", "PATCH", "/Users/" + uid, patch(op("replace", `title[value eq "x"]`, "y")), nil, 400, typeInvalidPath, "multi-valued"},
		{"PATCH read-only id", "PATCH", "/Users/" + uid, patch(op("replace", "id", "other")), nil, 400, typeMutability, "id"},
		{"PATCH read-only meta", "PATCH", "/Users/" + uid, patch(op("replace", "meta.created", "2020-01-01T00:00:00Z")), nil, 400, typeMutability, "meta"},
		{"PATCH read-only groups", "PATCH", "/Users/" + uid, patch(op("add", "groups", []map[string]any{{"value": gid}})), nil, 400, typeMutability, "groups"},
		{"PATCH id of another resource", "PATCH", "/Users/" + uid, patch(op("replace", "", map[string]any{"id": "someone-else"})), nil, 400, typeMutability, "id"},
		{"PATCH remove without path", "PATCH", "/Users/" + uid, patch(op("remove", "", nil)), nil, 400, typeNoTarget, "path"},
		{"PATCH add without value", "PATCH", "/Users/" + uid, patch(op("add", "title", nil)), nil, 400, typeInvalidValue, "value"},
		{"PATCH path-less key an unparsable path", "PATCH", "/Users/" + uid, patch(op("replace", "", map[string]any{`emails[type eq "work"`: "x"})), nil, 400, typeInvalidPath, "path-less"},
		{"PATCH path-less key a filter on no attribute", "PATCH", "/Users/" + uid, patch(op("replace", "", map[string]any{`favorites[type eq "work"].value`: "x"})), nil, 400, typeInvalidPath, "favorites"},
		{"PATCH path-less key a filter on members", "PATCH", "/Groups/" + gid, patch(op("add", "", map[string]any{`members[value eq "` + uid + `"]`: map[string]any{"value": uid}})), nil, 400, typeInvalidPath, "members"},
		{"PATCH path-less value not an object", "PATCH", "/Users/" + uid, patch(op("replace", "", "x")), nil, 400, typeInvalidValue, "object"},
		{"PATCH wrong value type", "PATCH", "/Users/" + uid, patch(op("replace", "active", "maybe")), nil, 400, typeInvalidValue, "active"},
		{"PATCH removes required userName", "PATCH", "/Users/" + uid, patch(op("remove", "userName", nil)), nil, 400, typeInvalidValue, ""},
		{"PATCH sets required userName to null", "PATCH", "/Users/" + uid, patch(map[string]any{"op": "replace", "path": "userName", "value": nil}), nil, 400, typeInvalidValue, ""},
		{"PATCH null without a path", "PATCH", "/Users/" + uid, patch(map[string]any{"op": "replace", "value": nil}), nil, 400, typeInvalidValue, "object"},
		{"PATCH path-less null extension and one of its attributes", "PATCH", "/Users/" + uid, patch(op("replace", "", map[string]any{enterpriseURN: nil, enterpriseURN + ":department": "New"})), nil, 400, typeInvalidValue, "twice"},
		{"PATCH two primary emails in one value", "PATCH", "/Users/" + uid, patch(op("add", "emails", []map[string]any{{"value": "p@example.com", "primary": true}, {"value": "q@example.com", "primary": true}})), nil, 400, typeInvalidValue, "primary"},
		{"PATCH add null to read-only groups", "PATCH", "/Users/" + uid, patch(map[string]any{"op": "add", "path": "groups", "value": nil}), nil, 400, typeMutability, "groups"},
		{"PATCH filtered replace with no target", "PATCH", "/Users/" + uid, patch(op("replace", `emails[value co "zzz"].type`, "home")), nil, 400, typeNoTarget, "emails"},
		{"PATCH atomic: a later op fails", "PATCH", "/Users/" + uid, patch(op("replace", "title", "changed"), op("replace", "nope", "x")), nil, 400, typeInvalidPath, "nope"},
		{"PATCH rename to a taken userName", "PATCH", "/Users/" + uid, patch(op("replace", "title", "changed"), op("replace", "userName", "BJensen2")), nil, 409, typeUniqueness, "userName"},
		{"PATCH member sub-attribute", "PATCH", "/Groups/" + gid, patch(op("replace", "members.value", "x")), nil, 400, typeInvalidPath, "members"},
		{"PATCH replace filtered members", "PATCH", "/Groups/" + gid, patch(op("replace", `members[value eq "`+uid+`"]`, map[string]any{"value": "x"})), nil, 400, typeMutability, "immutable"},
		{"PATCH replace members with a string", "PATCH", "/Groups/" + gid, patch(op("replace", "members", "oops")), nil, 400, typeInvalidValue, "list of members"},
		{"PATCH replace members with bare ids", "PATCH", "/Groups/" + gid, patch(op("replace", "members", []any{uid, "oops"})), nil, 400, typeInvalidValue, "list of members"},
		{"PATCH replace members with one object", "PATCH", "/Groups/" + gid, patch(op("replace", "members", map[string]any{"value": uid})), nil, 400, typeInvalidValue, "list of members"},
		{"PATCH path-less replace of members with a string", "PATCH", "/Groups/" + gid, patch(op("replace", "", map[string]any{"members": "x"})), nil, 400, typeInvalidValue, "list of members"},
		{"PATCH member without value", "PATCH", "/Groups/" + gid, patch(op("add", "members", []map[string]any{{"display": "x"}})), nil, 400, typeInvalidValue, "value"},
		{"PATCH group rename clash", "PATCH", "/Groups/" + gid, patch(op("replace", "displayName", "DATA ENGINEERS")), nil, 409, typeUniqueness, "data_engineers"},
		{"PATCH unknown group", "PATCH", "/Groups/nope", patch(op("replace", "displayName", "x")), nil, 404, "", "nope"},
		{"GET unknown user", "GET", "/Users/nope", nil, nil, 404, "", "nope"},
		{"filter syntax", "GET", "/Users?filter=" + q(`userName eq`), nil, nil, 400, typeInvalidFilter, "offset"},
		{"filter unbalanced", "GET", "/Users?filter=" + q(`(userName eq "x"`), nil, nil, 400, typeInvalidFilter, ""},
		{"filter unknown attribute", "GET", "/Users?filter=" + q(`favoriteColor eq "x"`), nil, nil, 400, typeInvalidFilter, "favoriteColor"},
		{"filter ordering on a boolean", "GET", "/Users?filter=" + q(`active gt true`), nil, nil, 400, typeInvalidFilter, "active"},
		{"filter bad dateTime", "GET", "/Users?filter=" + q(`meta.lastModified gt "yesterday"`), nil, nil, 400, typeInvalidFilter, "lastModified"},
		{"filter too long", "GET", "/Users?filter=" + q(`userName eq "`+strings.Repeat("x", 5000)+`"`), nil, nil, 400, typeInvalidFilter, "too long"},
		{"filter too deep", "GET", "/Users?filter=" + q(strings.Repeat("(", 40)+`userName eq "x"`+strings.Repeat(")", 40)), nil, nil, 400, typeInvalidFilter, ""},
		{"count not a number", "GET", "/Users?count=ten", nil, nil, 400, typeInvalidValue, "count"},
		{"startIndex not a number", "GET", "/Users?startIndex=first", nil, nil, 400, typeInvalidValue, "startIndex"},
		{"sortBy a sub-attribute other than value", "GET", "/Users?sortBy=emails.type", nil, nil, 400, typeInvalidValue, "sortBy"},
		{"sortOrder unknown", "GET", "/Users?sortOrder=up", nil, nil, 400, typeInvalidValue, "sortOrder"},
		{"attributes malformed", "GET", "/Users?attributes=" + q(`emails[type eq "work"`), nil, nil, 400, typeInvalidValue, "attribute"},
		{"attributes value filter on an unknown sub-attribute", "GET", "/Users?attributes=" + q(`emails[colour eq "red"]`), nil, nil, 400, typeInvalidValue, "colour"},
		{"attributes value filter on a single-valued attribute", "GET", "/Users?attributes=" + q(`userName[value eq "x"]`), nil, nil, 400, typeInvalidValue, "userName"},
		{"attributes value filter on a single-valued complex attribute", "GET", "/Users?attributes=" + q(`name[givenName eq "x"]`), nil, nil, 400, typeInvalidValue, "multi-valued"},
		{"attributes value filter on the extension's manager", "GET", "/Users?attributes=" + q(enterpriseURN+`:manager[value eq "x"]`), nil, nil, 400, typeInvalidValue, "multi-valued"},
		{"attributes value filters too many comparisons", "GET", "/Users?attributes=" + q(strings.Repeat(`emails[type eq "a" or type eq "b" or type eq "c"],`, 6)), nil, nil, 400, typeInvalidValue, "comparisons"},
		{"excludedAttributes with a value filter", "GET", "/Users?excludedAttributes=" + q(`emails[type eq "work"]`), nil, nil, 400, typeInvalidValue, "attribute"},
		{"cursor forged", "GET", "/Users?cursor=bm90LWEtY3Vyc29y", nil, nil, 400, typeInvalidCursor, "cursor"},
		{"cursor and startIndex", "GET", "/Users?cursor=&startIndex=5", nil, nil, 400, typeInvalidValue, "cursor"},
		{"search wrong schemas", "POST", "/Users/.search", map[string]any{"schemas": []string{userURN}}, nil, 400, typeInvalidValue, "SearchRequest"},
		{"search malformed", "POST", "/Users/.search", `{"filter": 3}`, nil, 400, typeInvalidSyntax, "SearchRequest"},
		{"no such endpoint", "GET", "/Widgets", nil, nil, 404, "", ""},
		{"bulk", "POST", "/Bulk", `{}`, nil, 501, "", "Bulk"},
		{"method not allowed", "PATCH", "/Users", patch(op("add", "title", "x")), nil, 405, "", "PATCH"},
		// A ';' makes net/url drop the parameter: the filter must not silently become none.
		{"semicolon in a filter", "GET", "/Users?filter=" + strings.ReplaceAll(q(`userName eq "a;b"`), "%3B", ";"), nil, nil, 400, typeInvalidValue, "%3B"},
		{"query not UTF-8", "GET", "/Users?filter=%ff", nil, nil, 400, typeInvalidValue, "UTF-8"},
		{"query with NUL", "GET", "/Users?filter=" + q("userName eq \"a\x00\""), nil, nil, 400, typeInvalidValue, "NUL"},
		{"id with NUL", "GET", "/Users/%00", nil, nil, 404, "", "no SCIM resource"},
		{"id not UTF-8", "PATCH", "/Users/%ff", patch(op("replace", "title", "x")), nil, 404, "", "no SCIM resource"},
		// The library decodes PUT and DELETE paths twice: %252D must not reach the user.
		{"PUT doubly encoded id", "PUT", "/Users/" + strings.Replace(uid, "-", "%252D", 1), user("bjensen", "title", "hijacked"), nil, 404, "", "no SCIM resource"},
		{"DELETE doubly encoded id", "DELETE", "/Users/" + strings.Replace(uid, "-", "%252D", 1), nil, nil, 404, "", "no SCIM resource"},
		{"POST compressed", "POST", "/Users", user("x"), []string{"Content-Encoding", "gzip"}, 415, "", "Content-Encoding"},
		{"POST not UTF-8", "POST", "/Users", `{"schemas":["` + userURN + `"],"userName":"lat` + "\xe9" + `"}`, nil, 400, typeInvalidSyntax, "UTF-8"},
		{"POST half a surrogate pair", "POST", "/Users", `{"schemas":["` + userURN + `"],"userName":"x\ud800"}`, nil, 400, typeInvalidSyntax, "surrogate"},
		{"PATCH not UTF-8", "PATCH", "/Users/" + uid, `{"schemas":["` + patchOpURN + `"],"Operations":[{"op":"replace","path":"title","value":"` + "\xff" + `"}]}`, nil, 400, typeInvalidSyntax, "UTF-8"},
		// Indexed values are bounded (storage.MaxIndexedBytes), on every backend.
		{"POST externalId too long", "POST", "/Users", user("x", "externalId", long), nil, 400, typeInvalidValue, "externalId"},
		{"POST email too long", "POST", "/Users", user("x", "emails", []map[string]any{{"value": long}}), nil, 400, typeInvalidValue, "emails.value"},
		{"PUT role too long", "PUT", "/Users/" + uid, user("bjensen", "roles", []any{long}), nil, 400, typeInvalidValue, "roles.value"},
		{"PATCH email too long", "PATCH", "/Users/" + uid, patch(op("replace", `emails[type eq "work"].value`, long)), nil, 400, typeInvalidValue, "emails.value"},
		{"PATCH externalId too long", "PATCH", "/Users/" + uid, patch(op("replace", "", map[string]any{"externalId": long})), nil, 400, typeInvalidValue, "externalId"},
		{"POST group externalId too long", "POST", "/Groups", map[string]any{"schemas": []string{groupURN}, "displayName": "Long", "externalId": long}, nil, 400, typeInvalidValue, "externalId"},
		{"PATCH group externalId too long", "PATCH", "/Groups/" + gid, patch(op("replace", "externalId", long)), nil, 400, typeInvalidValue, "externalId"},
		{"POST with NUL", "POST", "/Users", `{"schemas":["` + userURN + `"],"userName":"nul\u0000user"}`, nil, 400, typeInvalidValue, "NUL"},
		{"PATCH with NUL", "PATCH", "/Users/" + uid, patch(op("replace", "title", "a\x00b")), nil, 400, typeInvalidValue, "NUL"},
	}
	e.mustCreate("/Users", user("bjensen2"))
	audits++
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := e.auditCount()
			r := e.do(tt.method, tt.path, tt.body, tt.headers...)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.status, r.raw)
			}
			e.checkErrorBody(r, tt.scimType, tt.detailContains)
			// A refused write of a user or group is one audit event of result failure that
			// names the error. A refused read, a method that writes nothing there (405), and
			// a path refused before routing (no SCIM resource) are none.
			events := e.auditEvents()[n:]
			write := tt.method != "GET" && tt.method != "HEAD" && !strings.Contains(tt.path, ".search") &&
				(strings.HasPrefix(tt.path, "/Users") || strings.HasPrefix(tt.path, "/Groups")) &&
				tt.status != http.StatusMethodNotAllowed && tt.detailContains != "no SCIM resource"
			if !write {
				if len(events) != 0 {
					t.Errorf("a refused read wrote %d audit events", len(events))
				}
				return
			}
			if len(events) != 1 {
				t.Fatalf("a refused write wrote %d audit events, want 1", len(events))
			}
			ev := events[0]
			var d struct {
				Status   int    `json:"status"`
				ScimType string `json:"scimType"`
				Detail   string `json:"detail"`
			}
			_ = json.Unmarshal(ev.Detail, &d)
			if ev.Result != "failure" || ev.ActorID != e.scope.ConnectionID || !strings.HasPrefix(ev.Action, "scim.") ||
				d.Status != tt.status || d.ScimType != tt.scimType || d.Detail != r.body["detail"] || ev.Before != nil || ev.After != nil {
				t.Errorf("audit event %+v (detail %s), want a failure with the error", ev, ev.Detail)
			}
		})
	}
	if after := e.snapshot(uid, gid); after != before {
		t.Errorf("bad requests changed the resources:\nbefore %s\nafter  %s", before, after)
	}
	if n := e.successCount(); n != audits {
		t.Errorf("bad requests wrote %d audit events of a change", n-audits)
	}
}

func (e *env) checkErrorBody(r response, scimType, detailContains string) {
	e.t.Helper()
	schemas, _ := r.body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != errorURN {
		e.t.Errorf("error body schemas = %v", r.body["schemas"])
	}
	if status, _ := r.body["status"].(string); status != strconv.Itoa(r.status) {
		e.t.Errorf("error body status = %#v, want the string %q", r.body["status"], strconv.Itoa(r.status))
	}
	if got, _ := r.body["scimType"].(string); got != scimType {
		e.t.Errorf("scimType = %q, want %q (%s)", got, scimType, r.raw)
	}
	detail, _ := r.body["detail"].(string)
	if detail == "" || !strings.Contains(strings.ToLower(detail), strings.ToLower(detailContains)) {
		e.t.Errorf("detail %q does not name %q", detail, detailContains)
	}
	for _, leak := range []string{"sqlstore", "sqlite", "pgx", "constraint failed", "SQLSTATE", "panic"} {
		if strings.Contains(detail, leak) {
			e.t.Errorf("detail leaks internals: %q", detail)
		}
	}
}

// snapshot renders a user and a group (with members) as they are now.
func (e *env) snapshot(uid, gid string) string {
	e.t.Helper()
	u := e.do("GET", "/Users/"+uid, nil)
	g := e.do("GET", "/Groups/"+gid, nil)
	return string(u.raw) + "\n" + string(g.raw)
}

// Ensure requests without valid credentials get 401 with the Error schema and a challenge.
func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	for name, auth := range map[string]string{
		"missing":      "",
		"wrong token":  "Bearer rcs_not-a-token",
		"basic":        "Basic dXNlcjpwYXNz",
		"empty bearer": "Bearer ",
	} {
		t.Run(name, func(t *testing.T) {
			r := e.doAs("", "GET", "/Users", nil, "Authorization", auth)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("status = %d", r.status)
			}
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
			e.checkErrorBody(r, "", "token")
		})
	}
	// The scheme is case-insensitive.
	if r := e.doAs("", "GET", "/Users", nil, "Authorization", "bearer "+e.token); r.status != http.StatusOK {
		t.Errorf("lower-case bearer: %d", r.status)
	}
	// Discovery is public.
	if r := e.doAs("", "GET", "/ServiceProviderConfig", nil); r.status != http.StatusOK {
		t.Errorf("ServiceProviderConfig without a token: %d", r.status)
	}
}

// Ensure an unreachable database gives 503 with Retry-After on every kind of request, never
// a 500, and that service resumes by itself.
func TestDatabaseUnavailable(t *testing.T) {
	e := newEnv(t)
	uid := e.mustCreate("/Users", user("alice"))
	gid := e.mustCreate("/Groups", group("G"))
	e.store.down.Store(true)
	for _, rq := range []struct{ method, path string }{
		{"GET", "/Users/" + uid}, {"GET", "/Users"}, {"GET", "/Groups/" + gid}, {"GET", "/Groups"},
		{"POST", "/Users"}, {"PUT", "/Users/" + uid}, {"PATCH", "/Users/" + uid}, {"DELETE", "/Users/" + uid},
		{"POST", "/Groups"}, {"PATCH", "/Groups/" + gid}, {"DELETE", "/Groups/" + gid},
	} {
		var body any
		switch rq.method {
		case "POST", "PUT":
			body = user("bob")
			if strings.HasPrefix(rq.path, "/Groups") {
				body = group("H")
			}
		case "PATCH":
			body = patch(op("replace", "displayName", "x"))
		}
		r := e.do(rq.method, rq.path, body)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Errorf("%s %s while the database is down: %d (Retry-After %q) %s", rq.method, rq.path, r.status, r.header.Get("Retry-After"), r.raw)
			continue
		}
		e.checkErrorBody(r, "", "unavailable")
	}
	e.store.down.Store(false)
	if r := e.do("GET", "/Users/"+uid, nil); r.status != http.StatusOK {
		t.Errorf("after the database is back: %d", r.status)
	}
}
