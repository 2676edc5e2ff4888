package scim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Ensure a group's members are answered whole when they are streamed: in GET and in a listing,
// past the write buffer, with the projection applied to each member, and with the headers a
// buffered answer has.
func TestGroupMembersStreamed(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 400 { // about 60 KB of members: the answer leaves its buffer mid-stream
		ids = append(ids, e.mustCreate("/Users", user(fmt.Sprintf("member-%03d", i), "displayName", fmt.Sprintf("Member %d", i))))
	}
	gid := e.mustCreate("/Groups", group("Everyone", ids...))
	sub := e.mustCreate("/Groups", group("Nested"))
	created := e.do("POST", "/Groups", group("Empty"))
	empty, _ := created.body["id"].(string)
	for _, r := range []response{created, e.do("GET", "/Groups/"+empty, nil), e.do("GET", "/Groups/"+empty+"?attributes=members", nil)} {
		if ms, isList := r.body["members"].([]any); !isList || len(ms) != 0 {
			t.Errorf("an empty group answers without \"members\": [] (%d %s)", r.status, r.raw)
		}
	}
	// A member filter that matches none leaves the attribute out, on every route alike.
	onlyGroups := "?attributes=" + url.QueryEscape(`members[type eq "Group"]`)
	posted := e.do("POST", "/Groups"+onlyGroups, group("Empty too"))
	e.do("DELETE", "/Groups/"+posted.body["id"].(string), nil) // out of the listing below
	for _, r := range []response{
		posted,
		e.do("GET", "/Groups/"+empty+onlyGroups, nil),
		e.do("PATCH", "/Groups/"+empty+onlyGroups, patch(op("replace", "displayName", "Empty"))),
	} {
		if _, has := r.body["members"]; has || r.status >= 300 {
			t.Errorf("a member filter that matches none: %d %s", r.status, r.raw)
		}
	}
	if r := e.do("PATCH", "/Groups/"+gid, patch(op("add", "members", []map[string]any{{"value": sub}}))); r.status != http.StatusNoContent {
		t.Fatalf("add a group member: %d %s", r.status, r.raw)
	}
	without := e.do("GET", "/Groups/"+gid+"?excludedAttributes=members", nil)

	r := e.do("GET", "/Groups/"+gid, nil)
	ms, _ := r.body["members"].([]any)
	if r.status != http.StatusOK || len(ms) != 401 || r.body["displayName"] != "Everyone" || r.body["id"] != gid ||
		r.header.Get("ETag") != without.header.Get("ETag") || r.header.Get("Content-Type") != contentType ||
		r.header.Get("Content-Location") == "" {
		t.Fatalf("GET: %d, %d members, headers %v", r.status, len(ms), r.header)
	}
	types := map[string]int{}
	for _, m := range ms {
		el := m.(map[string]any)
		types[el["type"].(string)]++
		if el["value"] == ids[7] && (el["display"] != "Member 7" || !strings.HasSuffix(el["$ref"].(string), "/Users/"+ids[7])) {
			t.Errorf("member %v", el)
		}
	}
	if types["User"] != 400 || types["Group"] != 1 {
		t.Errorf("member types %v", types)
	}

	q := url.QueryEscape
	for _, tt := range []struct {
		query string
		n     int
		keys  string
	}{
		{"?attributes=members.value", 401, "value"},
		{"?attributes=" + q(`members[type eq "Group"]`), 1, "$ref display type value"},
		{"?excludedAttributes=members.display,members.$ref", 401, "type value"},
	} {
		r := e.do("GET", "/Groups/"+gid+tt.query, nil)
		ms, _ := r.body["members"].([]any)
		if r.status != http.StatusOK || len(ms) != tt.n {
			t.Errorf("GET %s: %d, %d members", tt.query, r.status, len(ms))
			continue
		}
		if got := keysOf(ms[0].(map[string]any)); got != tt.keys {
			t.Errorf("GET %s: member keys %q, want %q", tt.query, got, tt.keys)
		}
	}

	l := e.do("GET", "/Groups?sortBy=displayName", nil)
	rs, _ := l.body["Resources"].([]any)
	if l.status != http.StatusOK || l.body["totalResults"] != float64(3) || l.body["itemsPerPage"] != float64(3) || len(rs) != 3 {
		t.Fatalf("list: %d %.300s", l.status, l.raw)
	}
	for _, res := range rs {
		g := res.(map[string]any)
		// An empty group shows "members": [], as Microsoft's reference server does.
		ms, isList := g["members"].([]any)
		want := map[string]int{"Empty": 0, "Everyone": 401, "Nested": 0}[g["displayName"].(string)]
		if !isList || len(ms) != want {
			t.Errorf("listed %v with %d members, want %d", g["displayName"], len(ms), want)
		}
	}
	s := e.do("POST", "/Groups/.search", map[string]any{"schemas": []string{searchURN}, "filter": `displayName eq "Everyone"`, "attributes": []string{"members.value"}})
	if rs, _ := s.body["Resources"].([]any); s.status != http.StatusOK || len(rs) != 1 || len(rs[0].(map[string]any)["members"].([]any)) != 401 {
		t.Errorf(".search: %d %.300s", s.status, s.raw)
	}
}

// Ensure a database failure while members are read is an error answer when nothing was sent
// yet, and a broken response, never a complete-looking one, once the answer has started.
func TestGroupMembersStreamFails(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 400 {
		ids = append(ids, e.mustCreate("/Users", user(fmt.Sprintf("member-%03d", i))))
	}
	gid := e.mustCreate("/Groups", group("Everyone", ids...))
	e.store.membersFail.Store(true)
	defer e.store.membersFail.Store(false)

	for _, path := range []string{"/Groups/" + gid, "/Groups"} {
		e.store.membersFailAfter.Store(0)
		r := e.do("GET", path, nil)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Errorf("GET %s failing at once: %d %s", path, r.status, r.raw)
		}
		e.checkErrorBody(r, "", "")

		e.store.membersFailAfter.Store(350) // past the first 32 KB
		req, _ := http.NewRequest("GET", e.srv.URL+Prefix+path, nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || rerr == nil || json.Valid(body) {
			t.Errorf("GET %s failing mid-stream: %d, read error %v, %d bytes, valid JSON %v", path, resp.StatusCode, rerr, len(body), json.Valid(body))
		}
	}
}

func keysOf(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, " ")
}

// Ensure a group created with members answers exactly what a GET of it answers, members
// included however many; and that a failure to read them back still answers the created
// group (201, without them), not an error an IdP would retry into a 409.
func TestCreateGroupAnswersAsGet(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 1200 { // more than a page (MaxPageSize), which the answer once left out
		ids = append(ids, e.mustCreate("/Users", user(fmt.Sprintf("m%04d", i))))
	}
	r := e.do("POST", "/Groups", group("Everyone", ids...))
	id, _ := r.body["id"].(string)
	g := e.do("GET", "/Groups/"+id, nil)
	if ms, _ := r.body["members"].([]any); r.status != http.StatusCreated || len(ms) != 1200 || string(r.raw) != string(g.raw) ||
		r.header.Get("ETag") != g.header.Get("ETag") || r.header.Get("Location") == "" {
		t.Errorf("POST answered %d with %d members (%d bytes), GET %d bytes; ETags %q %q", r.status, len(ms), len(r.raw), len(g.raw),
			r.header.Get("ETag"), g.header.Get("ETag"))
	}

	e.store.membersFail.Store(true)
	defer e.store.membersFail.Store(false)
	r = e.do("POST", "/Groups", group("Failing", ids[:3]...))
	if _, has := r.body["members"]; r.status != http.StatusCreated || has || r.body["displayName"] != "Failing" {
		t.Errorf("POST whose members cannot be read back: %d %s", r.status, r.raw)
	}
	e.store.membersFail.Store(false)
	if g := e.do("GET", "/Groups/"+r.body["id"].(string), nil); len(g.body["members"].([]any)) != 3 {
		t.Errorf("the group was not stored with its members: %s", g.raw)
	}
}
