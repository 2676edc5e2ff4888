package admin

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// openAPIDoc is the embedded document, parsed.
type openAPIDoc map[string]any

func loadOpenAPI(t testing.TB) openAPIDoc {
	t.Helper()
	var d openAPIDoc
	if err := json.Unmarshal(openAPIJSON, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d openAPIDoc) paths() map[string]any { return d["paths"].(map[string]any) }

// operation returns the operation of a method on a path of the document, or nil.
func (d openAPIDoc) operation(path, method string) map[string]any {
	item, _ := d.paths()[path].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	return op
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Ensure the document and the router agree: every route the router serves is documented,
// every documented operation is served, and each documents the permissions its route
// declares.
func TestOpenAPIMatchesRouter(t *testing.T) {
	h, err := NewHandler(Config{Store: openSQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	doc := loadOpenAPI(t)
	served := map[string]bool{}
	err = h.router.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := rt.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := rt.GetMethods()
		if err != nil {
			return fmt.Errorf("route %s matches every method: %w", tpl, err)
		}
		path, ok := strings.CutPrefix(tpl, Prefix)
		if !ok {
			return fmt.Errorf("route %s is outside %s", tpl, Prefix)
		}
		for _, m := range methods {
			if m == http.MethodHead {
				continue // every GET answers HEAD (RFC 9110), as the description says
			}
			served[m+" "+path] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range doc.paths() {
		for k := range item.(map[string]any) {
			if slices.Contains(httpMethods, k) {
				documented[strings.ToUpper(k)+" "+path] = true
			}
		}
	}
	for k := range served {
		if !documented[k] {
			t.Errorf("the router serves %s, which openapi.json does not document", k)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("openapi.json documents %s, which the router does not serve", k)
		}
	}
	if len(served) == 0 {
		t.Fatal("the router has no routes")
	}

	for _, rt := range h.routeTable() {
		op := doc.operation(rt.path, rt.method)
		if op == nil {
			continue // reported above
		}
		security, hasSecurity := op["security"].([]any)
		perms, hasPerms := op["x-rollcall-permissions"].([]any)
		var got []string
		for _, p := range perms {
			got = append(got, p.(string))
		}
		var want []string
		for _, p := range rt.access.anyOf {
			want = append(want, string(p))
		}
		sort.Strings(got)
		sort.Strings(want)
		switch {
		case rt.access.public && (!hasSecurity || len(security) != 0 || hasPerms):
			t.Errorf("%s %s is public: document it with \"security\": [] and no x-rollcall-permissions", rt.method, rt.path)
		case !rt.access.public && (hasSecurity || !hasPerms):
			t.Errorf("%s %s needs credentials: document x-rollcall-permissions (an empty list for any signed-in user)", rt.method, rt.path)
		case !slices.Equal(got, want):
			t.Errorf("%s %s: openapi.json says permissions %v, the route table %v", rt.method, rt.path, got, want)
		}
	}
}

// Ensure every $ref of the document resolves, every operation has an id, a summary and
// responses, and the served document is the embedded one.
func TestOpenAPIWellFormed(t *testing.T) {
	doc := loadOpenAPI(t)
	if doc["openapi"] != "3.0.3" {
		t.Errorf("openapi = %v", doc["openapi"])
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				if doc.resolve(r) == nil {
					t.Errorf("%s: $ref %s does not resolve", path, r)
				}
			}
			for k, x := range v {
				walk(path+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(path+"/"+strconv.Itoa(i), x)
			}
		}
	}
	walk("#", map[string]any(doc))
	ids := map[string]bool{}
	for path, item := range doc.paths() {
		for _, m := range httpMethods {
			op, ok := item.(map[string]any)[m].(map[string]any)
			if !ok {
				continue
			}
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] || op["summary"] == nil || op["responses"] == nil {
				t.Errorf("%s %s: operationId %q (unique), summary and responses are required", m, path, id)
			}
			ids[id] = true
		}
	}
	e := newEnv(t, openSQLite(t))
	r := e.must(caller{}, 200, "GET", "/api/v1/openapi.json", nil)
	var served any
	r.decode(t, &served)
	if fmt.Sprint(served) != fmt.Sprint(map[string]any(doc)) {
		t.Error("the served document differs from openapi.json")
	}
}

func (d openAPIDoc) resolve(ref string) map[string]any {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var cur any = map[string]any(d)
	for _, part := range strings.Split(p, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	m, _ := cur.(map[string]any)
	return m
}

// checkResponse checks an answer's JSON against the schema the document gives for it, so
// that the document describes what the API really sends (fields, types, required ones).
func (d openAPIDoc) checkResponse(t testing.TB, method, tplPath string, status int, body []byte) {
	t.Helper()
	op := d.operation(tplPath, method)
	if op == nil {
		t.Errorf("%s %s is not documented", method, tplPath)
		return
	}
	res, _ := op["responses"].(map[string]any)[strconv.Itoa(status)].(map[string]any)
	if res == nil {
		t.Errorf("%s %s: status %d is not documented", method, tplPath, status)
		return
	}
	if ref, ok := res["$ref"].(string); ok {
		res = d.resolve(ref)
	}
	content, _ := res["content"].(map[string]any)
	js, _ := content["application/json"].(map[string]any)
	if js == nil {
		if len(body) > 0 && status != 200 {
			t.Errorf("%s %s %d: a body where the document has none", method, tplPath, status)
		}
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s %s %d: not JSON: %s", method, tplPath, status, body)
		return
	}
	for _, p := range d.check(js["schema"].(map[string]any), v, "$") {
		t.Errorf("%s %s %d: %s", method, tplPath, status, p)
	}
}

// check validates v against a schema, for the subset of OpenAPI 3.0 the document uses.
func (d openAPIDoc) check(s map[string]any, v any, at string) []string {
	if ref, ok := s["$ref"].(string); ok {
		return d.check(d.resolve(ref), v, at)
	}
	if v == nil {
		if s["nullable"] == true {
			return nil
		}
		return []string{at + ": null where the document does not allow it"}
	}
	var problems []string
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			problems = append(problems, d.check(sub.(map[string]any), v, at)...)
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		problems = append(problems, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
	}
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return append(problems, fmt.Sprintf("%s: want an object, got %T", at, v))
		}
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := m[r]; !ok {
				problems = append(problems, fmt.Sprintf("%s: required field %q is missing", at, r))
			}
		}
		for k, x := range m {
			ps, ok := props[k].(map[string]any)
			switch {
			case ok:
				problems = append(problems, d.check(ps, x, at+"."+k)...)
			case s["additionalProperties"] == false:
				problems = append(problems, fmt.Sprintf("%s: field %q is not documented", at, k))
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return append(problems, fmt.Sprintf("%s: want an array, got %T", at, v))
		}
		for i, x := range a {
			problems = append(problems, d.check(s["items"].(map[string]any), x, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case "string":
		if _, ok := v.(string); !ok {
			problems = append(problems, fmt.Sprintf("%s: want a string, got %T", at, v))
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != math.Trunc(f) {
			problems = append(problems, fmt.Sprintf("%s: want an integer, got %v", at, v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			problems = append(problems, fmt.Sprintf("%s: want a boolean, got %T", at, v))
		}
	}
	return problems
}

func asStrings(v any) []string {
	var out []string
	for _, x := range asSlice(v) {
		out = append(out, x.(string))
	}
	return out
}

func asSlice(v any) []any {
	a, _ := v.([]any)
	return a
}

// Ensure the checker itself catches what it is for.
func TestOpenAPICheckerCatches(t *testing.T) {
	doc := loadOpenAPI(t)
	role := map[string]any{"$ref": "#/components/schemas/Role"}
	for name, v := range map[string]string{
		"missing field":     `{"id":"x"}`,
		"extra field":       `{"id":"x","name":"n","description":"","builtin":false,"permission_set_ids":[],"mappings":[],"users":0,"created_at":"t","updated_at":"t","colour":"red"}`,
		"wrong type":        `{"id":"x","name":"n","description":"","builtin":"no","permission_set_ids":[],"mappings":[],"users":0,"created_at":"t","updated_at":"t"}`,
		"null not nullable": `{"id":"x","name":null,"description":"","builtin":false,"permission_set_ids":[],"mappings":[],"users":0,"created_at":"t","updated_at":"t"}`,
	} {
		var x any
		_ = json.Unmarshal([]byte(v), &x)
		if len(doc.check(role, x, "$")) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
}
