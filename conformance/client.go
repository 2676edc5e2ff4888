package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// SCIM URNs (RFC 7643 §8.7, RFC 7644 §8.2).
const (
	urnUser         = "urn:ietf:params:scim:schemas:core:2.0:User"
	urnGroup        = "urn:ietf:params:scim:schemas:core:2.0:Group"
	urnEnterprise   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	urnSPC          = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	urnListResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	urnPatchOp      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	urnError        = "urn:ietf:params:scim:api:messages:2.0:Error"
	mediaSCIM       = "application/scim+json"
)

// maxBody bounds how much of a response is read.
const maxBody = 16 << 20

// env is a case's view of the target: HTTP helpers bound to the case's tb.
type env struct {
	t     tb
	r     *runner
	token string // "" sends no Authorization header
}

// as returns a copy of e that authenticates with token.
func (e *env) as(token string) *env {
	c := *e
	c.token = token
	return &c
}

// response is one exchange, kept whole so messages can show what was sent
// and what came back.
type response struct {
	Method, Path string
	ReqBody      []byte
	Status       int
	Header       http.Header
	Body         []byte
	JSON         any // the decoded body, nil when it is not JSON
}

func (r *response) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  sent: %s %s", r.Method, r.Path)
	if len(r.ReqBody) > 0 {
		fmt.Fprintf(&b, " %s", excerpt(r.ReqBody, 300))
	}
	fmt.Fprintf(&b, "\n  got:  %d %s", r.Status, http.StatusText(r.Status))
	if ct := r.Header.Get("Content-Type"); ct != "" {
		fmt.Fprintf(&b, " (Content-Type %s)", ct)
	}
	if len(r.Body) > 0 {
		fmt.Fprintf(&b, " %s", excerpt(r.Body, 400))
	} else {
		b.WriteString(" (empty body)")
	}
	return b.String()
}

// do sends a request and returns the response; a transport error ends the
// case. body is nil, []byte or string (sent as is), or any value to encode
// as JSON.
func (e *env) do(method, path string, body any, header ...string) *response {
	e.t.Helper()
	r, err := e.send(e.t.Context(), method, path, body, header...)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// send is do without ending the case. header holds name, value pairs; a
// Content-Type given there replaces the default application/scim+json.
func (e *env) send(ctx context.Context, method, path string, body any, header ...string) (*response, error) {
	var raw []byte
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	case io.Reader:
		rd = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return nil, fmt.Errorf("encoding the request body: %w", err)
		}
	}
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.r.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", mediaSCIM)
	if rd != nil {
		req.Header.Set("Content-Type", mediaSCIM)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if sz, ok := body.(interface{ Size() int64 }); ok {
		req.ContentLength = sz.Size()
	}
	resp, err := e.r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("reading the response to %s %s (status %d): %w", method, path, resp.StatusCode, err)
	}
	r := &response{Method: method, Path: path, ReqBody: raw, Status: resp.StatusCode, Header: resp.Header, Body: b}
	if len(bytes.TrimSpace(b)) > 0 {
		var x any
		if json.Unmarshal(b, &x) == nil {
			r.JSON = x
		}
	}
	return r, nil
}

// cleanupDelete deletes path when the case ends, ignoring the outcome: the
// case may have deleted it already. It does not use the case's context,
// which is cancelled before cleanups run.
func (e *env) cleanupDelete(path string) {
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := e.send(ctx, http.MethodDelete, path, nil); err != nil {
			e.t.Logf("cleanup: DELETE %s: %v", path, err)
		}
	})
}

// wantStatus reports an error unless r has one of the codes.
func (e *env) wantStatus(r *response, codes ...int) bool {
	e.t.Helper()
	if slices.Contains(codes, r.Status) {
		return true
	}
	e.t.Errorf("want status %s\n%s", codesString(codes), r)
	return false
}

// mustStatus is wantStatus that ends the case.
func (e *env) mustStatus(r *response, codes ...int) {
	e.t.Helper()
	if !slices.Contains(codes, r.Status) {
		e.t.Fatalf("want status %s\n%s", codesString(codes), r)
	}
}

// checkSCIMContentType reports a response whose Content-Type is not
// application/scim+json (RFC 7644 §3.1, §8.1).
func (e *env) checkSCIMContentType(r *response) bool {
	e.t.Helper()
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != mediaSCIM {
		e.t.Errorf("want Content-Type %s, got %q\n%s", mediaSCIM, ct, r)
		return false
	}
	return true
}

// object returns r's body as a JSON object, or ends the case.
func (e *env) object(r *response) map[string]any {
	e.t.Helper()
	m, ok := r.JSON.(map[string]any)
	if !ok {
		e.t.Fatalf("want a JSON object in the body\n%s", r)
	}
	return m
}

// wantError checks an RFC 7644 §3.12 error response: the status, the
// Content-Type, schemas holding the Error URN, "status" as a string equal to
// the HTTP status, and scimType when scimType is not empty.
func (e *env) wantError(r *response, status int, scimType string) bool {
	e.t.Helper()
	if !e.wantStatus(r, status) {
		return false
	}
	ok := e.checkSCIMContentType(r)
	m, isObj := r.JSON.(map[string]any)
	if !isObj {
		e.t.Errorf("want an Error body {\"schemas\":[%q],\"status\":\"%d\",…}\n%s", urnError, status, r)
		return false
	}
	if !hasString(m["schemas"], urnError) {
		e.t.Errorf("want schemas to hold %q\n%s", urnError, r)
		ok = false
	}
	if st, isStr := m["status"].(string); !isStr || st != fmt.Sprint(status) {
		e.t.Errorf("want \"status\": %q, a string (RFC 7644 §3.12), got %s\n%s", fmt.Sprint(status), brief(m["status"]), r)
		ok = false
	}
	if scimType != "" {
		if got, _ := field(m, "scimType"); got != scimType {
			e.t.Errorf("want scimType %q, got %s\n%s", scimType, brief(got), r)
			ok = false
		}
	}
	return ok
}

// unique returns prefix followed by a random suffix, so that cases can run
// again against a live server.
func unique(prefix string) string {
	return prefix + "-" + randomHex(5)
}

// newUser returns a minimal User body with a unique userName.
func newUser(extra map[string]any) map[string]any {
	u := map[string]any{
		"schemas":  []any{urnUser},
		"userName": unique("conformance.user"),
		"active":   true,
	}
	for k, v := range extra {
		u[k] = v
	}
	return u
}

// createUser POSTs body, requires 201 with an id, and deletes the user when
// the case ends. It returns the response body.
func (e *env) createUser(body map[string]any) map[string]any {
	e.t.Helper()
	return e.create("/Users", body)
}

// createGroup creates a group with a unique displayName and members.
func (e *env) createGroup(name string, members ...string) map[string]any {
	e.t.Helper()
	ms := []any{}
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	return e.create("/Groups", map[string]any{
		"schemas":     []any{urnGroup},
		"displayName": name,
		"members":     ms,
	})
}

func (e *env) create(endpoint string, body map[string]any) map[string]any {
	e.t.Helper()
	r := e.do(http.MethodPost, endpoint, body)
	if r.Status == http.StatusCreated {
		if id := str(r.JSON, "id"); id != "" {
			e.cleanupDelete(endpoint + "/" + url.PathEscape(id))
		}
	}
	e.mustStatus(r, http.StatusCreated)
	m := e.object(r)
	if str(m, "id") == "" {
		e.t.Fatalf("want a non-empty string \"id\" in the created resource\n%s", r)
	}
	return m
}

// get GETs path and requires 200 with a JSON object.
func (e *env) get(path string) map[string]any {
	e.t.Helper()
	r := e.do(http.MethodGet, path, nil)
	e.mustStatus(r, http.StatusOK)
	e.checkSCIMContentType(r)
	return e.object(r)
}

// patch sends a PatchOp with ops.
func (e *env) patch(path string, ops ...map[string]any) *response {
	e.t.Helper()
	list := make([]any, len(ops))
	for i, op := range ops {
		list[i] = op
	}
	return e.do(http.MethodPatch, path, map[string]any{"schemas": []any{urnPatchOp}, "Operations": list})
}

// mustPatch requires a successful PATCH: 200 with the resource, or 204 with
// no body (RFC 7644 §3.5.2).
func (e *env) mustPatch(path string, ops ...map[string]any) *response {
	e.t.Helper()
	r := e.patch(path, ops...)
	e.mustStatus(r, http.StatusOK, http.StatusNoContent)
	e.checkPatchResponse(r)
	return r
}

func (e *env) checkPatchResponse(r *response) {
	e.t.Helper()
	switch r.Status {
	case http.StatusNoContent:
		if len(bytes.TrimSpace(r.Body)) > 0 {
			e.t.Errorf("204 No Content must have an empty body\n%s", r)
		}
	case http.StatusOK:
		e.checkSCIMContentType(r)
		if str(r.JSON, "id") == "" {
			e.t.Errorf("a PATCH answered 200 must return the resource with its id (RFC 7644 §3.5.2); use 204 for no body\n%s", r)
		}
	}
}

// list GETs a list path, requires 200 and checks the ListResponse (see
// parseList); a malformed list ends the case.
func (e *env) list(path string) *listResult {
	e.t.Helper()
	r := e.do(http.MethodGet, path, nil)
	e.mustStatus(r, http.StatusOK)
	l, ok := e.parseList(r)
	if !ok {
		e.t.Fatalf("GET %s: the answer is not a ListResponse", path)
	}
	return l
}

// parseList checks the ListResponse shape (RFC 7644 §3.4.2): the
// Content-Type, the ListResponse URN, JSON numbers, itemsPerPage equal to the
// number of Resources returned. It reports false when the body cannot be read
// as a list at all.
func (e *env) parseList(r *response) (*listResult, bool) {
	e.t.Helper()
	e.checkSCIMContentType(r)
	m, ok := r.JSON.(map[string]any)
	if !ok {
		e.t.Errorf("want a ListResponse object\n%s", r)
		return nil, false
	}
	if !hasString(m["schemas"], urnListResponse) {
		e.t.Errorf("want schemas to hold %q\n%s", urnListResponse, r)
	}
	l := &listResult{resp: r}
	total, ok := field(m, "totalResults")
	tf, isNum := total.(float64)
	if !ok || !isNum {
		e.t.Errorf("want totalResults as a JSON number, got %s\n%s", briefPresent(total, ok), r)
		return nil, false
	}
	l.total = int(tf)
	res, _ := field(m, "Resources")
	switch res := res.(type) {
	case nil:
	case []any:
		for i, x := range res {
			o, ok := x.(map[string]any)
			if !ok {
				e.t.Errorf("Resources[%d] is not an object\n%s", i, r)
				return nil, false
			}
			l.items = append(l.items, o)
		}
	default:
		e.t.Errorf("want Resources as an array, got %s\n%s", brief(res), r)
		return nil, false
	}
	for _, k := range []string{"itemsPerPage", "startIndex"} {
		if x, ok := field(m, k); ok {
			f, isNum := x.(float64)
			if !isNum {
				e.t.Errorf("want %s as a JSON number, got %s\n%s", k, brief(x), r)
				continue
			}
			if k == "itemsPerPage" {
				l.itemsPerPage = int(f)
				if int(f) != len(l.items) {
					e.t.Errorf("itemsPerPage is %d but %d Resources were returned; it must be the number returned (RFC 7644 §3.4.2)\n%s", int(f), len(l.items), r)
				}
			} else {
				l.startIndex = int(f)
			}
		} else if len(l.items) < l.total {
			e.t.Errorf("a partial page must carry %s (RFC 7644 §3.4.2)\n%s", k, r)
		}
	}
	if len(l.items) > l.total {
		e.t.Errorf("%d Resources returned but totalResults is %d\n%s", len(l.items), l.total, r)
	}
	return l, true
}

type listResult struct {
	resp         *response
	total        int
	itemsPerPage int
	startIndex   int
	items        []map[string]any
}

func (l *listResult) ids() []string {
	var ids []string
	for _, it := range l.items {
		ids = append(ids, str(it, "id"))
	}
	return ids
}

// filterPath returns /<endpoint>?filter=<f> plus more query pairs.
func filterPath(endpoint, filter string, kv ...string) string {
	q := []string{"filter=" + queryEscape(filter)}
	for i := 0; i+1 < len(kv); i += 2 {
		q = append(q, queryEscape(kv[i])+"="+queryEscape(kv[i+1]))
	}
	return endpoint + "?" + strings.Join(q, "&")
}

// query returns path with query pairs.
func query(path string, kv ...string) string {
	var q []string
	for i := 0; i+1 < len(kv); i += 2 {
		q = append(q, queryEscape(kv[i])+"="+queryEscape(kv[i+1]))
	}
	return path + "?" + strings.Join(q, "&")
}

// memberIDs returns the sorted member values of a group, read with GET.
func (e *env) memberIDs(groupID string) []string {
	e.t.Helper()
	g := e.get("/Groups/" + url.PathEscape(groupID))
	ms, ok := field(g, "members")
	if !ok || ms == nil {
		return nil
	}
	arr, ok := ms.([]any)
	if !ok {
		e.t.Fatalf("GET /Groups/%s: want members as an array, got %s", groupID, brief(ms))
	}
	var ids []string
	for _, m := range arr {
		ids = append(ids, str(m, "value"))
	}
	sort.Strings(ids)
	return ids
}

// wantMembers checks the members of a group after a change described by what.
func (e *env) wantMembers(groupID, what string, want ...string) {
	e.t.Helper()
	got := e.memberIDs(groupID)
	w := append([]string(nil), want...)
	sort.Strings(w)
	if !slices.Equal(got, w) {
		e.t.Errorf("after %s, GET /Groups/%s: want members %v, got %v", what, groupID, w, got)
	}
}

// lookup walks keys (each looked up ignoring case) into a decoded JSON value.
func lookup(x any, keys ...string) (any, bool) {
	for _, k := range keys {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, false
		}
		if x, ok = field(m, k); !ok {
			return nil, false
		}
	}
	return x, true
}

// str returns the string at keys, or "".
func str(x any, keys ...string) string {
	v, _ := lookup(x, keys...)
	s, _ := v.(string)
	return s
}

// hasString reports whether x is an array holding s.
func hasString(x any, s string) bool {
	arr, _ := x.([]any)
	for _, v := range arr {
		if v == s {
			return true
		}
	}
	return false
}

// present reports whether the attribute at keys is present with a non-empty
// value (RFC 7643 §2.5: null and [] mean unassigned).
func present(x any, keys ...string) bool {
	v, ok := lookup(x, keys...)
	return ok && !isEmpty(v)
}

func userPath(id string) string  { return "/Users/" + url.PathEscape(id) }
func groupPath(id string) string { return "/Groups/" + url.PathEscape(id) }

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}
