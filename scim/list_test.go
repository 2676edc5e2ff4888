package scim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/rollcall/rollcall/storage"
)

// countingStore counts member reads, to prove excludedAttributes=members reads none.
type countingStore struct {
	storage.Store
	members atomic.Int64
}

func (c *countingStore) Members(ctx context.Context, scope storage.Scope, groupID string, fn func(storage.Member) error) error {
	c.members.Add(1)
	return c.Store.Members(ctx, scope, groupID, fn)
}

func names(r response) []string {
	var out []string
	for _, res := range r.body["Resources"].([]any) {
		out = append(out, res.(map[string]any)["userName"].(string))
	}
	return out
}

// Ensure index paging, cursor paging, count=0, sorting and projection behave as RFC 7644
// and RFC 9865 say, with numbers as numbers and itemsPerPage the count actually returned.
func TestListing(t *testing.T) {
	e := newEnv(t)
	var all []string
	for i := range 7 {
		n := fmt.Sprintf("user%d", i)
		all = append(all, n)
		e.mustCreate("/Users", user(n, "title", fmt.Sprint(6-i)))
	}
	r := e.do("GET", "/Users?startIndex=6&count=5", nil)
	if r.body["totalResults"] != float64(7) || r.body["itemsPerPage"] != float64(2) || r.body["startIndex"] != float64(6) ||
		!slices.Equal(names(r), all[5:]) {
		t.Errorf("last index page: %s", r.raw)
	}
	r = e.do("GET", "/Users?count=0", nil)
	if r.body["totalResults"] != float64(7) || r.body["itemsPerPage"] != float64(0) || len(r.body["Resources"].([]any)) != 0 {
		t.Errorf("count=0: %s", r.raw)
	}
	r = e.do("GET", "/Users?startIndex=50", nil)
	if r.body["totalResults"] != float64(7) || r.body["itemsPerPage"] != float64(0) {
		t.Errorf("past the end: %s", r.raw)
	}
	r = e.do("GET", "/Users?sortBy=title&sortOrder=ascending&count=3&attributes=userName", nil)
	if got := names(r); !slices.Equal(got, []string{"user6", "user5", "user4"}) {
		t.Errorf("sortBy title: %v", got)
	}
	for _, res := range r.body["Resources"].([]any) {
		m := res.(map[string]any)
		if len(m) != 3 || m["id"] == nil || m["schemas"] == nil {
			t.Errorf("attributes=userName returned %v", m)
		}
	}

	// Cursor paging visits everyone once, even with a create and a delete between pages.
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		r := e.do("GET", "/Users?count=3&sortBy=userName&cursor="+url.QueryEscape(cursor), nil)
		if r.status != 200 || r.body["startIndex"] != nil {
			t.Fatalf("cursor page: %d %s", r.status, r.raw)
		}
		seen = append(seen, names(r)...)
		if _, counted := r.body["totalResults"]; counted != (page == 0) {
			t.Errorf("cursor page %d: totalResults present = %v; only the first page counts", page, counted)
		}
		if page == 0 {
			e.mustCreate("/Users", user("zzz"))
		}
		next, _ := r.body["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if want := append(slices.Clone(all), "zzz"); !slices.Equal(seen, want) {
		t.Errorf("cursor pages = %v, want %v", seen, want)
	}
	// A cursor belongs to its query.
	r = e.do("GET", "/Users?count=3&sortBy=title&cursor="+url.QueryEscape(cursor), nil)
	if r.status != 400 || r.body["scimType"] != typeInvalidCursor {
		t.Errorf("cursor reused with another sortBy: %d %s", r.status, r.raw)
	}
	// A cursor of this query whose position was altered to hold text no store keeps is
	// refused as a cursor, not passed to the database (PostgreSQL refuses NUL with an error).
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		t.Fatal(err)
	}
	var forged map[string]any
	if err := json.Unmarshal(raw, &forged); err != nil {
		t.Fatal(err)
	}
	forged["p"].(map[string]any)["s"] = "a\x00b"
	raw, _ = json.Marshal(forged)
	r = e.do("GET", "/Users?count=3&sortBy=userName&cursor="+base64.RawURLEncoding.EncodeToString(raw), nil)
	if r.status != 400 || r.body["scimType"] != typeInvalidCursor {
		t.Errorf("cursor holding NUL: %d %s", r.status, r.raw)
	}
	// An integer too large for an int is still an integer: count is capped, startIndex is
	// past the end.
	r = e.do("GET", "/Users?count=99999999999999999999", nil)
	if r.status != 200 || len(r.body["Resources"].([]any)) != len(all)+1 {
		t.Errorf("a huge count: %d %s", r.status, r.raw)
	}
	r = e.do("GET", "/Users?startIndex=99999999999999999999&count=2", nil)
	if rs, _ := r.body["Resources"].([]any); r.status != 200 || len(rs) != 0 || r.body["totalResults"] != float64(len(all)+1) {
		t.Errorf("a huge startIndex: %d %s", r.status, r.raw)
	}
	// .search takes the same parameters from its body.
	r = e.do("POST", "/Users/.search", map[string]any{"schemas": []string{searchURN}, "filter": `userName sw "user"`,
		"sortBy": "userName", "sortOrder": "descending", "count": 2, "attributes": []string{"userName"}})
	if r.status != 200 || !slices.Equal(names(r), []string{"user6", "user5"}) || r.body["totalResults"] != float64(7) {
		t.Errorf(".search: %d %s", r.status, r.raw)
	}
}

// Ensure excludedAttributes=members (what Entra sends) answers without reading members, while
// a plain GET does return them.
func TestGroups_ExcludedMembersNotRead(t *testing.T) {
	var cs *countingStore
	e := newEnv(t, func(c *Config) {
		cs = &countingStore{Store: c.Store}
		c.Store = cs
	})
	uid := e.mustCreate("/Users", user("m"))
	gid := e.mustCreate("/Groups", group("Big Group", uid))
	before := cs.members.Load()
	for _, path := range []string{
		"/Groups/" + gid + "?excludedAttributes=members",
		"/Groups?filter=" + url.QueryEscape(`displayName eq "big group"`) + "&excludedAttributes=members",
		"/Groups/" + gid + "?attributes=displayName",
	} {
		r := e.do("GET", path, nil)
		if r.status != 200 || r.body["members"] != nil {
			t.Errorf("GET %s: %d %s", path, r.status, r.raw)
		}
		if res, ok := r.body["Resources"].([]any); ok && (len(res) != 1 || res[0].(map[string]any)["members"] != nil) {
			t.Errorf("GET %s: %s", path, r.raw)
		}
	}
	if n := cs.members.Load() - before; n != 0 {
		t.Errorf("members were read %d times for requests that exclude them", n)
	}
	r := e.do("GET", "/Groups/"+gid, nil)
	if ms, _ := r.body["members"].([]any); len(ms) != 1 || ms[0].(map[string]any)["value"] != uid {
		t.Errorf("plain GET members: %s", r.raw)
	}
}

// Ensure sortBy a multi-valued attribute sorts by its primary value, else its first, users
// without one last (RFC 7644 section 3.4.2.3), by index and by cursor, in both directions.
func TestSortByMultiValued(t *testing.T) {
	e := newEnv(t)
	email := func(v string, primary bool) map[string]any {
		return map[string]any{"value": v, "type": "work", "primary": primary}
	}
	e.mustCreate("/Users", user("a", "emails", []any{email("A@z.example", false), email("Zed@example", true)}))
	e.mustCreate("/Users", user("b", "emails", []any{email("m@example", false)}))
	e.mustCreate("/Users", user("c"))
	e.mustCreate("/Users", user("d", "emails", []any{email("b@example", false), email("y@example", false)}))
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"sortBy=emails", []string{"d", "b", "a", "c"}},
		{"sortBy=emails.value&sortOrder=descending", []string{"a", "b", "d", "c"}},
	} {
		r := e.do("GET", "/Users?"+tt.query, nil)
		if got := names(r); r.status != http.StatusOK || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %d %v, want %v", tt.query, r.status, got, tt.want)
		}
		var seen []string
		cursor := ""
		for range 10 {
			r := e.do("GET", "/Users?count=1&"+tt.query+"&cursor="+url.QueryEscape(cursor), nil)
			seen = append(seen, names(r)...)
			if cursor, _ = r.body["nextCursor"].(string); cursor == "" {
				break
			}
		}
		if !slices.Equal(seen, tt.want) {
			t.Errorf("%s by cursor: %v, want %v", tt.query, seen, tt.want)
		}
	}
	for _, bad := range []string{"emails.type", "addresses", "groups"} {
		if r := e.do("GET", "/Users?sortBy="+bad, nil); r.status != http.StatusBadRequest || r.body["scimType"] != typeInvalidValue {
			t.Errorf("sortBy=%s: %d %s", bad, r.status, r.raw)
		}
	}
}
