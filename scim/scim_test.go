package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rollcall/rollcall/rbac/secret"
	"github.com/rollcall/rollcall/storage"
	"github.com/rollcall/rollcall/storage/sqlite"
)

// env is a SCIM server on a fresh SQLite store with one tenant and two connections.
type env struct {
	t       testing.TB
	srv     *httptest.Server
	store   *flakyStore
	token   string
	other   string // a token of the tenant's second connection (entra)
	generic string // a token of its third connection (generic, as make run prints)
	scope   storage.Scope
	tenant  string
}

// flakyStore is a real store that can be told to fail as an unreachable database would.
type flakyStore struct {
	storage.Store
	down atomic.Bool
	// membersFail makes Members fail (ErrUnavailable) after membersFailAfter members.
	membersFail      atomic.Bool
	membersFailAfter atomic.Int64
	// membersBroken makes Members fail with an error of no known kind (a 500).
	membersBroken atomic.Bool
}

func (f *flakyStore) Members(ctx context.Context, scope storage.Scope, groupID string, fn func(storage.Member) error) error {
	if f.membersBroken.Load() {
		return errors.New("members: broken for the test")
	}
	if !f.membersFail.Load() {
		return f.Store.Members(ctx, scope, groupID, fn)
	}
	n := f.membersFailAfter.Load()
	err := f.Store.Members(ctx, scope, groupID, func(m storage.Member) error {
		if n == 0 {
			return storage.ErrUnavailable
		}
		n--
		return fn(m)
	})
	if err == nil && n == 0 {
		err = storage.ErrUnavailable
	}
	return err
}

func (f *flakyStore) Tx(ctx context.Context, fn func(storage.Tx) error) error {
	if f.down.Load() {
		return storage.ErrUnavailable
	}
	return f.Store.Tx(ctx, fn)
}

func (f *flakyStore) CreateUser(ctx context.Context, u storage.User, event storage.AuditEvent) error {
	if f.down.Load() {
		return storage.ErrUnavailable
	}
	return f.Store.CreateUser(ctx, u, event)
}

func (f *flakyStore) User(ctx context.Context, scope storage.Scope, id string) (storage.User, error) {
	if f.down.Load() {
		return storage.User{}, storage.ErrUnavailable
	}
	return f.Store.User(ctx, scope, id)
}

func (f *flakyStore) Group(ctx context.Context, scope storage.Scope, id string) (storage.Group, error) {
	if f.down.Load() {
		return storage.Group{}, storage.ErrUnavailable
	}
	return f.Store.Group(ctx, scope, id)
}

func (f *flakyStore) Users(ctx context.Context, scope storage.Scope, q storage.Query) (storage.Page[storage.User], error) {
	if f.down.Load() {
		return storage.Page[storage.User]{}, storage.ErrUnavailable
	}
	return f.Store.Users(ctx, scope, q)
}

func (f *flakyStore) Groups(ctx context.Context, scope storage.Scope, q storage.Query) (storage.Page[storage.Group], error) {
	if f.down.Load() {
		return storage.Page[storage.Group]{}, storage.ErrUnavailable
	}
	return f.Store.Groups(ctx, scope, q)
}

var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newEnv(t testing.TB, mod ...func(*Config)) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "scim.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, store: &flakyStore{Store: st}}
	tenant := storage.Tenant{ID: storage.NewID(), Name: "acme", CreatedAt: testNow}
	conns := []storage.Connection{
		{ID: storage.NewID(), TenantID: tenant.ID, Name: "okta", Kind: storage.KindOkta, CreatedAt: testNow, UpdatedAt: testNow},
		{ID: storage.NewID(), TenantID: tenant.ID, Name: "entra", Kind: storage.KindEntra, CreatedAt: testNow, UpdatedAt: testNow},
		{ID: storage.NewID(), TenantID: tenant.ID, Name: "default", Kind: storage.KindGeneric, CreatedAt: testNow, UpdatedAt: testNow},
	}
	var tokens []string
	err = st.Tx(t.Context(), func(tx storage.Tx) error {
		if err := tx.CreateTenant(t.Context(), tenant); err != nil {
			return err
		}
		for _, c := range conns {
			if err := tx.CreateConnection(t.Context(), c); err != nil {
				return err
			}
			tok := secret.New(secret.SCIMPrefix)
			tokens = append(tokens, tok)
			if err := tx.CreateToken(t.Context(), storage.Token{ID: storage.NewID(), TenantID: tenant.ID,
				ConnectionID: c.ID, Hint: secret.Hint(tok), CreatedAt: testNow}, secret.Hash(tok)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.token, e.other, e.generic, e.tenant = tokens[0], tokens[1], tokens[2], tenant.ID
	e.scope = storage.Scope{TenantID: tenant.ID, ConnectionID: conns[0].ID}
	cfg := Config{Store: e.store, BaseURL: "https://rollcall.example", Now: func() time.Time { return testNow }}
	for _, m := range mod {
		m(&cfg)
	}
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends a request with the env's token; body is JSON-encoded unless it is a string.
func (e *env) do(method, path string, body any, headers ...string) response {
	e.t.Helper()
	return e.doAs(e.token, method, path, body, headers...)
}

func (e *env) doAs(token, method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+Prefix+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/scim+json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	r := response{status: resp.StatusCode, header: resp.Header}
	r.raw, _ = io.ReadAll(resp.Body)
	if len(r.raw) > 0 {
		if err := json.Unmarshal(r.raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: %d, body is not a JSON object: %q", method, path, resp.StatusCode, r.raw)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/scim+json" {
			e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	return r
}

// mustCreate creates a resource and returns its id.
func (e *env) mustCreate(endpoint string, body any) string {
	e.t.Helper()
	r := e.do("POST", endpoint, body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("POST %s = %d %s", endpoint, r.status, r.raw)
	}
	return r.body["id"].(string)
}

func user(name string, extra ...any) map[string]any {
	m := map[string]any{"schemas": []string{userURN, enterpriseURN}, "userName": name}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

func group(name string, members ...string) map[string]any {
	m := map[string]any{"schemas": []string{groupURN}, "displayName": name}
	if len(members) > 0 {
		list := []map[string]any{}
		for _, id := range members {
			list = append(list, map[string]any{"value": id})
		}
		m["members"] = list
	}
	return m
}

func patch(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{patchOpURN}, "Operations": ops}
}

func op(name, path string, value any) map[string]any {
	m := map[string]any{"op": name}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

// auditCount counts the tenant's audit events.
func (e *env) auditCount() int { return len(e.auditEvents()) }

// successCount counts the tenant's audit events of writes that were made.
func (e *env) successCount() int {
	n := 0
	for _, ev := range e.auditEvents() {
		if ev.Result == "success" {
			n++
		}
	}
	return n
}

// auditEvents returns the tenant's audit events, oldest first.
func (e *env) auditEvents() []storage.AuditEvent {
	var out []storage.AuditEvent
	_ = e.store.AuditEvents(e.t.Context(), e.tenant, storage.AuditQuery{}, func(ev storage.AuditEvent) error { out = append(out, ev); return nil })
	slices.Reverse(out)
	return out
}

// Ensure a revoked token stops working once the token cache's lifetime has passed, and at
// once with the cache off.
func TestTokenCache_Revocation(t *testing.T) {
	for _, ttl := range []time.Duration{time.Minute, -1} {
		clock := testNow
		e := newEnv(t, func(c *Config) {
			c.TokenCacheTTL = ttl
			c.Now = func() time.Time { return clock }
		})
		if r := e.do("GET", "/Users", nil); r.status != 200 {
			t.Fatalf("valid token: %d", r.status)
		}
		toks, _ := e.store.Tokens(t.Context(), e.tenant, e.scope.ConnectionID)
		if err := e.store.Tx(t.Context(), func(tx storage.Tx) error {
			return tx.RevokeToken(t.Context(), e.tenant, toks[0].ID, clock)
		}); err != nil {
			t.Fatal(err)
		}
		r := e.do("GET", "/Users", nil)
		if ttl < 0 && r.status != 401 {
			t.Errorf("cache off: revoked token answered %d", r.status)
		}
		if ttl > 0 && r.status != 200 {
			t.Errorf("within the cache's lifetime the token answered %d; the cache is not used", r.status)
		}
		clock = clock.Add(ttl + time.Second)
		if r := e.do("GET", "/Users", nil); r.status != 401 {
			t.Errorf("ttl %v: after the cache's lifetime the revoked token answered %d", ttl, r.status)
		}
	}
}

// Ensure endpoint names match ignoring case and a trailing slash is ignored, and that nothing
// else is: an unknown endpoint is still 404.
func TestEndpointSpelling(t *testing.T) {
	e := newEnv(t)
	uid := e.mustCreate("/Users", user("alice"))
	for _, path := range []string{"/users", "/Users/", "/USERS/" + uid, "/users/" + uid + "/", "/groups", "/serviceproviderconfig", "/Schemas/"} {
		if r := e.do("GET", path, nil); r.status != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, r.status, r.raw)
		}
	}
	if r := e.do("POST", "/users", user("bob")); r.status != http.StatusCreated || !strings.Contains(r.header.Get("Location"), Prefix+"/Users/") {
		t.Errorf("POST /users: %d, Location %q", r.status, r.header.Get("Location"))
	}
	for _, path := range []string{"/userz", "/", "/Users//x", "/Users/" + uid + "/extra"} {
		if r := e.do("GET", path, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.status)
		}
	}
}

// Ensure a created group's answer lists the members stored, not the members sent.
func TestCreateGroupAnswersStoredMembers(t *testing.T) {
	e := newEnv(t)
	u1 := e.mustCreate("/Users", user("alice"))
	r := e.doAs(e.other, "POST", "/Users", user("outsider"))
	foreign, _ := r.body["id"].(string)
	if r.status != http.StatusCreated || foreign == "" {
		t.Fatalf("a user of the other connection: %d %s", r.status, r.raw)
	}
	r = e.do("POST", "/Groups", group("Mixed", u1, u1, strings.ToUpper(u1), "garbage", foreign))
	if r.status != http.StatusCreated {
		t.Fatalf("POST /Groups: %d %s", r.status, r.raw)
	}
	ms, _ := r.body["members"].([]any)
	if len(ms) != 1 || ms[0].(map[string]any)["value"] != u1 {
		t.Errorf("members answered = %v, want only %s", r.body["members"], u1)
	}
	id, _ := r.body["id"].(string)
	g := e.do("GET", "/Groups/"+id, nil)
	if gm, _ := g.body["members"].([]any); len(gm) != 1 {
		t.Errorf("members stored = %v", g.body["members"])
	}
}

// Ensure an attribute that validates to nothing is absent from the answer and the store, not null.
func TestEmptiedAttributesAreAbsent(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/Users", user("nulls", "emails", map[string]any{"a": 1}, "addresses", map[string]any{"x": 1}))
	if r.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.status, r.raw)
	}
	id, _ := r.body["id"].(string)
	for _, got := range []response{r, e.do("GET", "/Users/"+id, nil)} {
		for _, k := range []string{"emails", "addresses"} {
			if v, ok := got.body[k]; ok {
				t.Errorf("%s = %v, want it absent: %s", k, v, got.raw)
			}
		}
	}
}

// Ensure the discovery lists are answered whole, whatever paging or filter is sent.
func TestDiscoveryListsWhole(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/Schemas", "/ResourceTypes"} {
		full := e.doAs("", "GET", path, nil)
		n, _ := full.body["totalResults"].(float64)
		for _, q := range []string{"?count=0", "?startIndex=99", `?filter=id%20eq%20"x"`} {
			r := e.doAs("", "GET", path+q, nil)
			rs, _ := r.body["Resources"].([]any)
			if r.status != http.StatusOK || n == 0 || len(rs) != int(n) || r.body["itemsPerPage"] != n {
				t.Errorf("GET %s%s: %d %s", path, q, r.status, r.raw)
			}
		}
	}
}

// Ensure a POST answers what a GET of the new resource answers (headers included), and
// honours attributes and excludedAttributes (RFC 7644 section 3.9); a bad projection is
// refused before anything is stored.
func TestCreateAnswersAsGet(t *testing.T) {
	e := newEnv(t)
	body := user("ann@example.com", "name", map[string]any{"givenName": "Ann", "familyName": "Lee"},
		"emails", []any{map[string]any{"value": "ann@example.com", "type": "work", "primary": true}},
		"externalId", "okta-1", enterpriseURN, map[string]any{"department": "R&D"})
	r := e.do("POST", "/Users", body)
	if r.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.status, r.raw)
	}
	id, _ := r.body["id"].(string)
	g := e.do("GET", "/Users/"+id, nil)
	if !bytes.Equal(r.raw, g.raw) {
		t.Errorf("POST answered\n%s\nGET answers\n%s", r.raw, g.raw)
	}
	loc, _ := g.body["meta"].(map[string]any)["location"].(string)
	if loc == "" || r.header.Get("Location") != loc || r.header.Get("ETag") != g.header.Get("ETag") || r.header.Get("ETag") == "" {
		t.Errorf("POST headers: Location %q (want %q), ETag %q (GET: %q)", r.header.Get("Location"), loc,
			r.header.Get("ETag"), g.header.Get("ETag"))
	}

	r = e.do("POST", "/Users?attributes=userName", user("bo@example.com", "title", "Boss"))
	if r.status != http.StatusCreated || r.body["userName"] != "bo@example.com" || r.body["id"] == nil ||
		r.body["title"] != nil || r.body["meta"] != nil {
		t.Errorf("POST ?attributes=userName: %d %s", r.status, r.raw)
	}
	r = e.do("POST", "/Users?excludedAttributes=emails", user("cy@example.com",
		"emails", []any{map[string]any{"value": "cy@example.com"}}))
	if r.status != http.StatusCreated || r.body["emails"] != nil || r.body["userName"] != "cy@example.com" {
		t.Errorf("POST ?excludedAttributes=emails: %d %s", r.status, r.raw)
	}

	before := e.successCount()
	r = e.do("POST", "/Users?attributes=name%5Bx", user("dee@example.com"))
	if r.status != http.StatusBadRequest || r.body["scimType"] != "invalidValue" {
		t.Errorf("POST with a bad attributes list: %d %s", r.status, r.raw)
	}
	if n := e.successCount(); n != before {
		t.Errorf("a refused POST wrote %d successful audit events", n-before)
	}
	if l := e.do("GET", `/Users?filter=userName%20eq%20%22dee@example.com%22`, nil); l.body["totalResults"] != float64(0) {
		t.Errorf("a refused POST stored the user: %s", l.raw)
	}
}

// Ensure a user's groups (read-only, returned by default) are answered by a GET of the user
// and by a listing, in the order the groups were made, each with its display name, $ref and
// type; not when excluded or not asked for; and none for a user of no group.
func TestUserGroups(t *testing.T) {
	e := newEnv(t)
	ann := e.mustCreate("/Users", user("ann@example.com"))
	bo := e.mustCreate("/Users", user("bo@example.com"))
	first := e.mustCreate("/Groups", group("Zeta", ann))
	second := e.mustCreate("/Groups", group("Alpha", ann, bo))
	ref := func(id, name string) map[string]any {
		loc := e.do("GET", "/Groups/"+id, nil).body["meta"].(map[string]any)["location"]
		return map[string]any{"value": id, "display": name, "$ref": loc, "type": "direct"}
	}
	want := []any{ref(first, "Zeta"), ref(second, "Alpha")}
	groupsOf := func(what string, r response, resource map[string]any) any {
		t.Helper()
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", what, r.status, r.raw)
		}
		return resource["groups"]
	}
	listed := func(r response) map[string]any {
		res, _ := r.body["Resources"].([]any)
		if len(res) != 1 {
			t.Fatalf("listing: %s", r.raw)
		}
		return res[0].(map[string]any)
	}
	check := func(what string, got, want any) {
		t.Helper()
		if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
			t.Errorf("%s: groups %s, want %s", what, g, w)
		}
	}
	r := e.do("GET", "/Users/"+ann, nil)
	check("GET", groupsOf("GET", r, r.body), want)
	r = e.do("GET", `/Users?filter=userName%20eq%20%22ann@example.com%22`, nil)
	check("filter", groupsOf("filter", r, listed(r)), want)
	r = e.do("GET", "/Users/"+bo, nil)
	check("GET of a member of one group", groupsOf("GET", r, r.body), []any{ref(second, "Alpha")})
	for _, path := range []string{"/Users/" + ann + "?excludedAttributes=groups", "/Users/" + ann + "?attributes=userName"} {
		r = e.do("GET", path, nil)
		check(path, groupsOf(path, r, r.body), nil)
	}
	r = e.do("GET", `/Users?filter=userName%20eq%20%22ann@example.com%22&excludedAttributes=groups`, nil)
	check("filter, excluded", groupsOf("filter", r, listed(r)), nil)
	// PATCH and PUT answer the user with its groups too.
	r = e.do("PATCH", "/Users/"+ann, patch(op("replace", "title", "Lead")))
	check("PATCH", groupsOf("PATCH", r, r.body), want)
	r = e.do("PUT", "/Users/"+bo, user("bo@example.com", "title", "Boss"))
	check("PUT", groupsOf("PUT", r, r.body), []any{ref(second, "Alpha")})
	cy := e.mustCreate("/Users", user("cy@example.com"))
	r = e.do("GET", "/Users/"+cy, nil)
	check("GET of a user of no group", groupsOf("GET", r, r.body), nil)
	if r := e.do("GET", "/Users/"+storage.NewID(), nil); r.status != http.StatusNotFound || r.body["status"] != "404" {
		t.Errorf("GET of an unknown user: %d %s", r.status, r.raw)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Ensure the multi-valued rows filters read follow PATCHes: kept through a PATCH of active
// (which does not rewrite them), replaced by a PATCH of emails.
func TestPatchKeepsAndReplacesValues(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate("/Users", user("vic@example.com",
		"emails", []any{map[string]any{"value": "vic@work.example", "type": "work", "primary": true}}))
	find := func(email string) float64 {
		t.Helper()
		r := e.do("GET", "/Users?filter="+url.QueryEscape(`emails[type eq "work"].value eq "`+email+`"`), nil)
		n, _ := r.body["totalResults"].(float64)
		return n
	}
	if r := e.do("PATCH", "/Users/"+id, patch(op("replace", "", map[string]any{"active": false}))); r.status != http.StatusOK && r.status != http.StatusNoContent {
		t.Fatalf("PATCH active: %d %s", r.status, r.raw)
	}
	if n := find("vic@work.example"); n != 1 {
		t.Errorf("after a PATCH of active, the work email finds %v users, want 1", n)
	}
	if g := e.do("GET", "/Users/"+id, nil); g.body["active"] != false {
		t.Errorf("active = %v, want false", g.body["active"])
	}
	r := e.do("PATCH", "/Users/"+id, patch(op("replace", "emails", []any{map[string]any{"value": "vic@new.example", "type": "work"}})))
	if r.status != http.StatusOK && r.status != http.StatusNoContent {
		t.Fatalf("PATCH emails: %d %s", r.status, r.raw)
	}
	if old, new := find("vic@work.example"), find("vic@new.example"); old != 0 || new != 1 {
		t.Errorf("after a PATCH of emails: old address finds %v, new finds %v; want 0 and 1", old, new)
	}
}

// Ensure /Schemas tells the uniqueness Rollcall enforces: userName, and a group's displayName
// (by its normalized name, see TestBadInput).
func TestSchemasTellUniqueness(t *testing.T) {
	e := newEnv(t)
	for urn, name := range map[string]string{userURN: "userName", groupURN: "displayName"} {
		r := e.doAs("", "GET", "/Schemas/"+urn, nil)
		attrs, _ := r.body["attributes"].([]any)
		found := false
		for _, a := range attrs {
			m, _ := a.(map[string]any)
			if m["name"] == name {
				found = true
				if m["uniqueness"] != "server" || m["required"] != true {
					t.Errorf("%s %s: %v", urn, name, m)
				}
			}
		}
		if r.status != http.StatusOK || !found {
			t.Errorf("GET /Schemas/%s: %d %s", urn, r.status, r.raw)
		}
	}
}

// Ensure HEAD answers what GET does without the body, and a 405 names the methods a path
// allows (RFC 9110 sections 9.3.2 and 15.5.6).
func TestHeadAndAllow(t *testing.T) {
	e := newEnv(t)
	uid := e.mustCreate("/Users", user("bjensen"))
	gid := e.mustCreate("/Groups", group("Admins", uid)) // its members are streamed
	for _, path := range []string{"/Users/" + uid, "/Users?filter=" + url.QueryEscape(`userName eq "bjensen"`), "/Groups",
		"/Groups/" + gid, "/ServiceProviderConfig", "/Schemas", "/Schemas/" + userURN, "/ResourceTypes/User"} {
		get := e.do("GET", path, nil)
		head := e.do("HEAD", path, nil)
		// net/http drops a HEAD's body but counts a short one, as it does a GET's: the same
		// Content-Length says the same answer was made.
		cl := get.header.Get("Content-Length")
		if get.status != http.StatusOK || head.status != http.StatusOK || head.header.Get("Content-Length") != cl ||
			(cl != "" && cl != strconv.Itoa(len(get.raw))) || (len(get.raw) < 2048 && cl == "") ||
			head.header.Get("Content-Type") != get.header.Get("Content-Type") || head.header.Get("ETag") != get.header.Get("ETag") {
			t.Errorf("HEAD %s: %d %v; GET: %d, %d bytes, %v", path, head.status, head.header, get.status, len(get.raw), get.header)
		}
	}
	for _, tt := range []struct{ method, path, allow string }{
		{"DELETE", "/Users", "GET, HEAD, POST"},
		{"POST", "/Users/" + uid, "GET, HEAD, PUT, PATCH, DELETE"},
		{"GET", "/Groups/.search", "POST"},
		{"PUT", "/ServiceProviderConfig", "GET, HEAD"},
	} {
		r := e.do(tt.method, tt.path, nil)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d, Allow %q; want 405 with %q", tt.method, tt.path, r.status, r.header.Get("Allow"), tt.allow)
		}
		e.checkErrorBody(r, "", tt.method)
	}
}

// Ensure a group is created and replaced with more members than a user may have emails: its
// members are bounded by the body limit only, as in PATCH.
func TestGroupWithManyMembers(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 150 {
		ids = append(ids, e.mustCreate("/Users", user(fmt.Sprintf("m%03d", i))))
	}
	r := e.do("POST", "/Groups", group("Everyone", ids...))
	gid, _ := r.body["id"].(string)
	if ms, _ := r.body["members"].([]any); r.status != http.StatusCreated || len(ms) != 150 {
		t.Fatalf("POST with 150 members: %d, %d members", r.status, len(ms))
	}
	r = e.do("PUT", "/Groups/"+gid, group("Everyone", ids[30:]...))
	g := e.do("GET", "/Groups/"+gid, nil)
	if ms, _ := g.body["members"].([]any); r.status != http.StatusOK || len(ms) != 120 || string(r.raw) != string(g.raw) ||
		r.header.Get("ETag") != g.header.Get("ETag") {
		t.Errorf("PUT with 120 members: %d %s\nGET: %d members %s", r.status, r.raw, len(ms), g.raw)
	}
	for _, tt := range []struct {
		name    string
		path    string
		body    any
		headers []string
		status  int
	}{
		{"stale If-Match", "/Groups/" + gid, group("Everyone"), []string{"If-Match", `W/"1"`}, http.StatusPreconditionFailed},
		{"unknown group", "/Groups/nope", group("Everyone"), nil, http.StatusNotFound},
		{"malformed JSON", "/Groups/" + gid, `{"displayName":`, nil, http.StatusBadRequest},
		{"no displayName", "/Groups/" + gid, map[string]any{"schemas": []string{groupURN}}, nil, http.StatusBadRequest},
	} {
		if r := e.do("PUT", tt.path, tt.body, tt.headers...); r.status != tt.status {
			t.Errorf("PUT, %s: %d %s", tt.name, r.status, r.raw)
		} else {
			st, _ := r.body["scimType"].(string)
			e.checkErrorBody(r, st, "")
		}
	}
	if g2 := e.do("GET", "/Groups/"+gid, nil); string(g2.raw) != string(g.raw) {
		t.Errorf("refused PUTs changed the group")
	}
	r = e.do("PUT", "/Groups/"+gid+"?excludedAttributes=members", group("Everyone", ids[:5]...))
	if _, has := r.body["members"]; r.status != http.StatusOK || has {
		t.Errorf("PUT ?excludedAttributes=members: %d %s", r.status, r.raw)
	}
}
