package conformance

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Ensure the filter operators of RFC 7644 §3.4.2.2 select exactly the right
// users. Every filter is scoped to users this case created.
func testFilterOperators(e *env) {
	p := unique("cf")
	mk := func(suffix string, extra map[string]any) map[string]any {
		return e.createUser(newUser(mergeMaps(map[string]any{"userName": p + "-" + suffix}, extra)))
	}
	a := mk("alice", map[string]any{
		"externalId": p + "-ext-a",
		"emails": []any{
			map[string]any{"value": p + "-alice@work.example.com", "type": "work", "primary": true},
			map[string]any{"value": p + "-alice@home.example.com", "type": "home"},
		},
	})
	b := mk("bob", map[string]any{
		"externalId": p + "-ext-b",
		"active":     false,
		"emails":     []any{map[string]any{"value": p + "-bob@work.example.com", "type": "work"}},
	})
	c := mk("carol", map[string]any{
		"emails": []any{map[string]any{"value": p + "-carol@work.example.com", "type": "home"}},
	})
	A, B, C := str(a, "id"), str(b, "id"), str(c, "id")
	created, err := time.Parse(time.RFC3339, str(a, "meta", "created"))
	if err != nil {
		created = time.Now()
		e.t.Logf("meta.created of the first user is not a date-time (%v); using the local clock for the time filters", err)
	}
	before := created.Add(-time.Hour).UTC().Format(time.RFC3339)
	sw := fmt.Sprintf("userName sw %q", p+"-")

	cases := []struct {
		filter string
		want   []string
	}{
		{fmt.Sprintf("userName eq %q", p+"-alice"), []string{A}},
		{fmt.Sprintf("userName eq %q", strings.ToUpper(p+"-alice")), []string{A}},
		{fmt.Sprintf("userName Eq %q", p+"-alice"), []string{A}},
		{fmt.Sprintf("externalId eq %q", p+"-ext-a"), []string{A}},
		{fmt.Sprintf(`emails[type eq "work"].value eq %q`, p+"-alice@work.example.com"), []string{A}},
		{fmt.Sprintf(`emails[type eq "work" and value co %q]`, p+"-"), []string{A, B}},
		{fmt.Sprintf("emails.value co %q", p+"-alice@home"), []string{A}},
		{fmt.Sprintf("emails.value ew %q and %s", "@work.example.com", sw), []string{A, B, C}},
		{sw, []string{A, B, C}},
		{fmt.Sprintf("userName ew %q and %s", "-carol", sw), []string{C}},
		{fmt.Sprintf("userName co %q", p+"-bo"), []string{B}},
		{fmt.Sprintf("userName ne %q and %s", p+"-alice", sw), []string{B, C}},
		{"active eq false and " + sw, []string{B}},
		{"active eq true and " + sw, []string{A, C}},
		{sw + " and not (active eq false)", []string{A, C}},
		{fmt.Sprintf("userName eq %q or userName eq %q", p+"-alice", p+"-carol"), []string{A, C}},
		{fmt.Sprintf("%s and (externalId eq %q or externalId eq %q)", sw, p+"-ext-a", p+"-ext-b"), []string{A, B}},
		{"externalId pr and " + sw, []string{A, B}},
		{fmt.Sprintf("meta.lastModified gt %q and %s", before, sw), []string{A, B, C}},
		{fmt.Sprintf("meta.lastModified lt %q and %s", before, sw), nil},
		{fmt.Sprintf("meta.created ge %q and %s", before, sw), []string{A, B, C}},
		// Attribute names ignore case (RFC 7644 §3.4.2.2), as Entra's mixed-case filters need.
		{fmt.Sprintf("UserName eq %q", p+"-alice"), []string{A}},
		{fmt.Sprintf(`EMAILS[TYPE eq "work"].VALUE eq %q`, p+"-bob@work.example.com"), []string{B}},
		// Entra's on-demand provisioning looks a user up by id.
		{fmt.Sprintf("id eq %q", A), []string{A}},
		// Entra's delta reads: seven fractional digits, a window closed at both ends.
		{fmt.Sprintf("meta.lastModified ge %q and meta.lastModified le %q and %s",
			created.Add(-time.Hour).UTC().Format("2006-01-02T15:04:05.0000000Z"),
			created.Add(24*time.Hour).UTC().Format("2006-01-02T15:04:05.0000000Z"), sw), []string{A, B, C}},
	}
	for _, tc := range cases {
		path := filterPath("/Users", tc.filter, "count", "100")
		r := e.do(http.MethodGet, path, nil)
		if !e.wantStatus(r, http.StatusOK) {
			continue
		}
		l, ok := e.parseList(r)
		if !ok {
			continue
		}
		got := sortedCopy(l.ids())
		want := sortedCopy(tc.want)
		if !slices.Equal(got, want) || l.total != len(want) {
			e.t.Errorf("filter %s: want ids %v (totalResults %d), got %v (totalResults %d)\n  users: alice=%s bob=%s (inactive) carol=%s\n%s",
				tc.filter, want, len(want), got, l.total, A, B, C, l.resp)
		}
	}
}

func mergeMaps(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// Ensure a filter without a match is 200 with totalResults 0, never 404
// (RFC 7644 §3.4.2; Okta and Entra ID check existence this way).
func testFilterNoMatch(e *env) {
	missing := unique("conformance.nobody")
	for _, p := range []string{
		filterPath("/Users", fmt.Sprintf("userName eq %q", missing), "startIndex", "1", "count", "100"),
		filterPath("/Users", fmt.Sprintf("externalId eq %q", newUUID())),
		filterPath("/Groups", fmt.Sprintf("displayName eq %q", missing), "excludedAttributes", "members"),
	} {
		l := e.list(p)
		if l.total != 0 || len(l.items) != 0 {
			e.t.Errorf("want totalResults 0 and no Resources\n%s", l.resp)
		}
	}
}

// Ensure a malformed filter is 400 invalidFilter (RFC 7644 §3.4.2.2).
func testFilterInvalid(e *env) {
	for _, f := range []string{
		`userName eq`,
		`userName zz "x"`,
		`(userName eq "x"`,
		`userName eq "unterminated`,
		`userName eq "x" and`,
	} {
		e.wantError(e.do(http.MethodGet, filterPath("/Users", f), nil), http.StatusBadRequest, "invalidFilter")
	}
}

// Ensure a filter on an attribute the server does not know never returns an
// unfiltered list: 400 invalidFilter, or no match.
func testFilterUnknownAttribute(e *env) {
	e.createUser(newUser(nil))
	r := e.do(http.MethodGet, filterPath("/Users", `conformanceNoSuchAttribute eq "x"`), nil)
	switch r.Status {
	case http.StatusBadRequest:
		e.wantError(r, http.StatusBadRequest, "invalidFilter")
	case http.StatusOK:
		if n, _ := lookup(r.JSON, "totalResults"); n != float64(0) {
			e.t.Errorf("a filter on an unknown attribute matched users: it must be 400 invalidFilter or match nothing\n%s", r)
		}
	default:
		e.t.Errorf("want 400 invalidFilter (or 200 with no match)\n%s", r)
	}
}

// pagedUsers creates n users whose userNames share a unique prefix and
// returns the filter that selects exactly them.
func (e *env) pagedUsers(n int) (filter string, ids []string) {
	e.t.Helper()
	p := unique("cp")
	for i := range n {
		u := e.createUser(newUser(map[string]any{"userName": fmt.Sprintf("%s-%02d", p, i)}))
		ids = append(ids, str(u, "id"))
	}
	return fmt.Sprintf("userName sw %q", p+"-"), ids
}

// Ensure startIndex/count pages are disjoint, cover everything once, are in
// the same order as the full list, and carry numbers (RFC 7644 §3.4.2.4).
func testPaginationPages(e *env) {
	filter, ids := e.pagedUsers(5)
	full := e.list(filterPath("/Users", filter, "startIndex", "1", "count", "100"))
	if full.total != 5 || len(full.items) != 5 {
		e.t.Fatalf("want the 5 users the case created, got totalResults %d and %d Resources\n%s", full.total, len(full.items), full.resp)
	}
	if !slices.Equal(sortedCopy(full.ids()), sortedCopy(ids)) {
		e.t.Fatalf("want ids %v, got %v", ids, full.ids())
	}
	var paged []string
	for start := 1; start <= 5; start += 2 {
		l := e.list(filterPath("/Users", filter, "startIndex", fmt.Sprint(start), "count", "2"))
		want := min(2, 5-start+1)
		if len(l.items) != want || l.total != 5 {
			e.t.Errorf("startIndex=%d count=2: want %d Resources and totalResults 5, got %d and %d\n%s", start, want, len(l.items), l.total, l.resp)
		}
		if l.startIndex != start {
			e.t.Errorf("startIndex=%d count=2: want startIndex %d in the response, got %d\n%s", start, start, l.startIndex, l.resp)
		}
		paged = append(paged, l.ids()...)
	}
	if !slices.Equal(paged, full.ids()) {
		e.t.Errorf("the pages (count=2) in sequence give %v; the full list gives %v: pages must be disjoint and in one stable order", paged, full.ids())
	}
}

// Ensure count=0 returns totalResults only (RFC 7644 §3.4.2.4).
func testPaginationCountZero(e *env) {
	filter, _ := e.pagedUsers(3)
	l := e.list(filterPath("/Users", filter, "count", "0"))
	if l.total != 3 || len(l.items) != 0 {
		e.t.Errorf("count=0: want totalResults 3 and no Resources, got %d and %d\n%s", l.total, len(l.items), l.resp)
	}
}

// Ensure a startIndex below 1 counts as 1 and one past the end gives an
// empty page with the right total (RFC 7644 §3.4.2.4).
func testPaginationOutOfRange(e *env) {
	filter, _ := e.pagedUsers(3)
	l := e.list(filterPath("/Users", filter, "startIndex", "0", "count", "100"))
	if l.total != 3 || len(l.items) != 3 {
		e.t.Errorf("startIndex=0 must be read as 1: want 3 Resources, got %d (totalResults %d)\n%s", len(l.items), l.total, l.resp)
	}
	l = e.list(filterPath("/Users", filter, "startIndex", "10", "count", "100"))
	if l.total != 3 || len(l.items) != 0 {
		e.t.Errorf("startIndex=10 past the end: want totalResults 3 and no Resources, got %d and %d\n%s", l.total, len(l.items), l.resp)
	}
}

// Ensure attributes=userName returns only id, userName (and schemas, meta).
func testProjectionAttributes(e *env) {
	u := e.createUser(newUser(map[string]any{
		"displayName": "Projected",
		"name":        map[string]any{"givenName": "Pro", "familyName": "Jected"},
		"emails":      []any{map[string]any{"value": "projected@example.com", "type": "work"}},
	}))
	id := str(u, "id")
	check := func(m map[string]any, r *response) {
		if str(m, "id") != id || str(m, "userName") != u["userName"] {
			e.t.Errorf("attributes=userName: want id %q and userName %q\n%s", id, u["userName"], r)
		}
		for k := range m {
			switch strings.ToLower(k) {
			case "id", "username", "schemas", "meta":
			default:
				e.t.Errorf("attributes=userName: want only id and userName (and schemas, meta), got %q too\n%s", k, r)
			}
		}
	}
	r := e.do(http.MethodGet, query(userPath(id), "attributes", "userName"), nil)
	e.mustStatus(r, http.StatusOK)
	check(e.object(r), r)
	l := e.list(filterPath("/Users", fmt.Sprintf("userName eq %q", u["userName"]), "attributes", "userName"))
	if len(l.items) != 1 {
		e.t.Fatalf("want the user\n%s", l.resp)
	}
	check(l.items[0], l.resp)
}

// Ensure excludedAttributes=emails omits emails and keeps the rest.
func testProjectionExcluded(e *env) {
	u := e.createUser(newUser(map[string]any{
		"displayName": "Excluded",
		"emails":      []any{map[string]any{"value": "excluded@example.com", "type": "work"}},
	}))
	id := str(u, "id")
	check := func(m map[string]any, r *response) {
		if present(m, "emails") {
			e.t.Errorf("excludedAttributes=emails: want no emails\n%s", r)
		}
		if str(m, "id") != id || str(m, "userName") != u["userName"] || str(m, "displayName") != "Excluded" {
			e.t.Errorf("excludedAttributes=emails: want id, userName and displayName kept\n%s", r)
		}
	}
	r := e.do(http.MethodGet, query(userPath(id), "excludedAttributes", "emails"), nil)
	e.mustStatus(r, http.StatusOK)
	check(e.object(r), r)
	l := e.list(filterPath("/Users", fmt.Sprintf("userName eq %q", u["userName"]), "excludedAttributes", "emails"))
	if len(l.items) != 1 {
		e.t.Fatalf("want the user\n%s", l.resp)
	}
	check(l.items[0], l.resp)
}
