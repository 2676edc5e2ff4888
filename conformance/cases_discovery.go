package conformance

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// serviceProviderConfig returns the target's ServiceProviderConfig, fetched
// once per run.
func (r *runner) serviceProviderConfig(e *env) (map[string]any, error) {
	r.spcOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		resp, err := e.as(r.target.Token).send(ctx, http.MethodGet, "/ServiceProviderConfig", nil)
		if err != nil {
			r.spcErr = err
			return
		}
		m, ok := resp.JSON.(map[string]any)
		if resp.Status != http.StatusOK || !ok {
			r.spcErr = fmt.Errorf("want 200 with a JSON object\n%s", resp)
			return
		}
		r.spc = m
	})
	return r.spc, r.spcErr
}

// supported reports <feature>.supported of the ServiceProviderConfig, ending
// the case when the document cannot be read.
func (e *env) supported(feature string) bool {
	e.t.Helper()
	spc, err := e.r.serviceProviderConfig(e)
	if err != nil {
		e.t.Fatalf("cannot tell whether %s is supported: GET /ServiceProviderConfig: %v", feature, err)
	}
	v, _ := lookup(spc, feature, "supported")
	return v == true
}

// Ensure /ServiceProviderConfig describes the features RFC 7643 §5 requires,
// with patch and filter supported.
func testServiceProviderConfig(e *env) {
	r := e.do(http.MethodGet, "/ServiceProviderConfig", nil)
	e.mustStatus(r, http.StatusOK)
	e.checkSCIMContentType(r)
	m := e.object(r)
	if !hasString(m["schemas"], urnSPC) {
		e.t.Errorf("want schemas to hold %q\n%s", urnSPC, r)
	}
	for _, f := range []string{"patch", "bulk", "filter", "changePassword", "sort", "etag"} {
		v, ok := lookup(m, f, "supported")
		if _, isBool := v.(bool); !ok || !isBool {
			e.t.Errorf("want %s.supported as a JSON boolean (RFC 7643 §5), got %s\n%s", f, briefPresent(v, ok), r)
		}
	}
	if v, _ := lookup(m, "patch", "supported"); v != true {
		e.t.Errorf("want patch.supported true: every IdP updates with PATCH\n%s", r)
	}
	if v, _ := lookup(m, "filter", "supported"); v != true {
		e.t.Errorf("want filter.supported true: every IdP looks users up with a filter\n%s", r)
	}
	if v, ok := lookup(m, "filter", "maxResults"); !ok {
		e.t.Errorf("want filter.maxResults (RFC 7643 §5: REQUIRED)\n%s", r)
	} else if f, isNum := v.(float64); !isNum || f < 1 {
		e.t.Errorf("want filter.maxResults as a positive number, got %s\n%s", brief(v), r)
	}
	for _, k := range []string{"maxOperations", "maxPayloadSize"} {
		if v, ok := lookup(m, "bulk", k); ok {
			if _, isNum := v.(float64); !isNum {
				e.t.Errorf("want bulk.%s as a JSON number, got %s\n%s", k, brief(v), r)
			}
		}
	}
	schemes, _ := field(m, "authenticationSchemes")
	arr, _ := schemes.([]any)
	if len(arr) == 0 {
		e.t.Errorf("want authenticationSchemes as a non-empty array (RFC 7643 §5: REQUIRED)\n%s", r)
	}
	for i, s := range arr {
		if str(s, "name") == "" || str(s, "description") == "" {
			e.t.Errorf("authenticationSchemes[%d]: want name and description (RFC 7643 §5: REQUIRED), got %s", i, brief(s))
		}
	}
}

// resources returns the items of a discovery listing, which RFC 7644 §4
// answers as a ListResponse; a bare JSON array is accepted too, as in the
// examples of RFC 7643 §8.6-8.7.
func (e *env) resources(path string) []map[string]any {
	e.t.Helper()
	r := e.do(http.MethodGet, path, nil)
	e.mustStatus(r, http.StatusOK)
	e.checkSCIMContentType(r)
	var raw []any
	switch body := r.JSON.(type) {
	case []any:
		raw = body
	case map[string]any:
		if !hasString(body["schemas"], urnListResponse) {
			e.t.Errorf("want a ListResponse (schemas holding %q)\n%s", urnListResponse, r)
		}
		res, _ := field(body, "Resources")
		raw, _ = res.([]any)
	default:
		e.t.Fatalf("want a ListResponse\n%s", r)
	}
	var out []map[string]any
	for _, x := range raw {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		e.t.Fatalf("want at least one resource\n%s", r)
	}
	return out
}

// Ensure /ResourceTypes lists User (with the enterprise extension) and Group.
func testResourceTypes(e *env) {
	types := e.resources("/ResourceTypes")
	find := func(name string) map[string]any {
		for _, rt := range types {
			if str(rt, "name") == name || str(rt, "id") == name {
				return rt
			}
		}
		return nil
	}
	user, group := find("User"), find("Group")
	if user == nil || group == nil {
		e.t.Fatalf("want resource types named User and Group, got %s", brief(types))
	}
	check := func(rt map[string]any, endpoint, schema string) {
		if got := str(rt, "endpoint"); got != endpoint {
			e.t.Errorf("resource type %s: want endpoint %q, got %q", str(rt, "name"), endpoint, got)
		}
		if got := str(rt, "schema"); got != schema {
			e.t.Errorf("resource type %s: want schema %q, got %q", str(rt, "name"), schema, got)
		}
	}
	check(user, "/Users", urnUser)
	check(group, "/Groups", urnGroup)
	exts, _ := field(user, "schemaExtensions")
	found := false
	arr, _ := exts.([]any)
	for _, x := range arr {
		if str(x, "schema") == urnEnterprise {
			found = true
			if req, ok := lookup(x, "required"); ok {
				if _, isBool := req.(bool); !isBool {
					e.t.Errorf("User schemaExtensions: want required as a boolean, got %s", brief(req))
				}
			}
		}
	}
	if !found {
		e.t.Errorf("resource type User: want schemaExtensions to hold {\"schema\": %q}, got %s", urnEnterprise, brief(exts))
	}
}

// Ensure /Schemas describes the core User and Group and the enterprise
// extension with their key attributes.
func testSchemas(e *env) {
	schemas := e.resources("/Schemas")
	want := map[string][]string{
		urnUser:       {"userName", "name", "emails", "active"},
		urnGroup:      {"displayName", "members"},
		urnEnterprise: {"employeeNumber", "department", "manager"},
	}
	for _, urn := range []string{urnUser, urnGroup, urnEnterprise} {
		var s map[string]any
		for _, x := range schemas {
			if str(x, "id") == urn {
				s = x
			}
		}
		if s == nil {
			e.t.Errorf("GET /Schemas: want a schema with id %q", urn)
			continue
		}
		names := map[string]bool{}
		attrs, _ := field(s, "attributes")
		arr, _ := attrs.([]any)
		for _, a := range arr {
			names[str(a, "name")] = true
		}
		for _, n := range want[urn] {
			if !names[n] {
				e.t.Errorf("GET /Schemas: schema %s: want attribute %q among %d attributes", urn, n, len(arr))
			}
		}
	}
}

// Ensure a single schema can be read at /Schemas/{id} (RFC 7644 §4).
func testSchemaByID(e *env) {
	for _, urn := range []string{urnUser, urnGroup, urnEnterprise} {
		r := e.do(http.MethodGet, "/Schemas/"+url.PathEscape(urn), nil)
		if !e.wantStatus(r, http.StatusOK) {
			continue
		}
		e.checkSCIMContentType(r)
		if got := str(r.JSON, "id"); got != urn {
			e.t.Errorf("want the schema with id %q, got id %q\n%s", urn, got, r)
		}
	}
}

// Ensure a request without a token is refused with 401 and an Error body.
func testAuthNoToken(e *env) {
	anon := e.as("")
	for _, p := range []string{"/Users", "/Groups", filterPath("/Users", `userName eq "x"`)} {
		r := anon.do(http.MethodGet, p, nil)
		anon.wantError(r, http.StatusUnauthorized, "")
		if r.Status == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") == "" {
			e.t.Errorf("a 401 must carry a WWW-Authenticate header (RFC 7235 §3.1, RFC 6750 §3)\n%s", r)
		}
	}
	r := anon.do(http.MethodPost, "/Users", newUser(nil))
	anon.wantError(r, http.StatusUnauthorized, "")
}

// Ensure a wrong token, or another scheme, is refused with 401 and that a
// refused POST creates nothing.
func testAuthWrongToken(e *env) {
	bad := e.as("conformance-wrong-" + randomHex(16))
	r := bad.do(http.MethodGet, "/Users", nil)
	bad.wantError(r, http.StatusUnauthorized, "")

	basic := e.as("")
	r = basic.do(http.MethodGet, "/Users", nil, "Authorization", "Basic "+"Y29uZm9ybWFuY2U6d3Jvbmc=")
	basic.wantError(r, http.StatusUnauthorized, "")

	u := newUser(nil)
	r = bad.do(http.MethodPost, "/Users", u)
	if r.Status == http.StatusCreated {
		e.cleanupDelete(userPath(str(r.JSON, "id")))
	}
	bad.wantError(r, http.StatusUnauthorized, "")
	l := e.list(filterPath("/Users", fmt.Sprintf("userName eq %q", u["userName"])))
	if l.total != 0 {
		e.t.Errorf("a POST refused with 401 created user %v anyway\n%s", u["userName"], l.resp)
	}
}
