package admin

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// pages walks a listing with limit per page and returns every item id in order.
func pages[T any](e *env, c caller, path string, limit int, id func(T) string) []string {
	e.t.Helper()
	var ids []string
	cursor := ""
	for range 1000 {
		u := fmt.Sprintf("%s%slimit=%d", path, sep(path), limit)
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		var l listJSON[T]
		e.must(c, 200, "GET", u, nil).decode(e.t, &l)
		if len(l.Items) > limit {
			e.t.Fatalf("%s: %d items, limit %d", u, len(l.Items), limit)
		}
		for _, it := range l.Items {
			ids = append(ids, id(it))
		}
		if l.NextCursor == "" {
			return ids
		}
		cursor = l.NextCursor
	}
	e.t.Fatal("the listing does not end")
	return nil
}

func sep(path string) string {
	if bytes.ContainsRune([]byte(path), '?') {
		return "&"
	}
	return "?"
}

func noDuplicates(t *testing.T, what string, ids []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("%s: %s listed twice", what, id)
		}
		seen[id] = true
	}
}

// Ensure every list pages by cursor without skipping or repeating, and the audit log does
// so even though all its events carry the same time.
func TestPaging(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	a := e.admin
	bu := e.roleID(a, "Business User")
	for i := range 7 {
		e.must(a, 201, "POST", "/api/v1/users", map[string]any{"email": fmt.Sprintf("u%d@acme.example", i), "kind": "service",
			"password": testPassword, "roles": []string{bu}})
		e.must(a, 201, "POST", "/api/v1/roles", map[string]any{"name": fmt.Sprintf("role %d", i)})
	}
	users := pages(e, a, "/api/v1/users", 3, func(u userJSON) string { return u.ID })
	if len(users) != 8 {
		t.Errorf("users: %d, want 8", len(users))
	}
	noDuplicates(t, "users", users)
	service := pages(e, a, "/api/v1/users?kind=service&q=U", 2, func(u userJSON) string { return u.UserName })
	if len(service) != 7 {
		t.Errorf("service users matching u: %v", service)
	}
	roles := pages(e, a, "/api/v1/roles", 4, func(r roleJSON) string { return r.Name })
	if len(roles) != 11 || !slices.IsSortedFunc(roles, func(x, y string) int { return compareFold(x, y) }) {
		t.Errorf("roles: %v, want 11 sorted by name", roles)
	}
	noDuplicates(t, "roles", roles)

	all := e.auditEvents("")
	ids := pages(e, a, "/api/v1/audit", 4, func(ev auditJSON) string { return ev.ID })
	var want []string
	for _, ev := range all {
		want = append(want, ev.ID)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("audit pages differ from one listing:\n%v\n%v", ids, want)
	}
	// Events written while paging (later) do not shift the pages.
	var l listJSON[auditJSON]
	e.must(a, 200, "GET", "/api/v1/audit?limit=5", nil).decode(t, &l)
	e.clock.Add(time.Second)
	e.must(a, 201, "POST", "/api/v1/roles", map[string]any{"name": "late"})
	var next listJSON[auditJSON]
	e.must(a, 200, "GET", "/api/v1/audit?limit=5&cursor="+url.QueryEscape(l.NextCursor), nil).decode(t, &next)
	if next.Items[0].ID != want[5] {
		t.Errorf("page 2 starts at %s, want %s", next.Items[0].ID, want[5])
	}
}

func compareFold(x, y string) int {
	return bytes.Compare(bytes.ToLower([]byte(x)), bytes.ToLower([]byte(y)))
}

// Ensure the audit log filters by actor, action, target and time, and exports every
// matching event as JSON lines and CSV.
func TestAuditFiltersAndExport(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	a := e.admin
	var ro roleJSON
	e.must(a, 201, "POST", "/api/v1/roles", map[string]any{"name": "Early"}).decode(t, &ro)
	e.clock.Add(time.Hour)
	e.must(a, 200, "PATCH", "/api/v1/roles/"+ro.ID, map[string]any{"description": "later"})
	other := e.freshAdmin(e.tenant, "other")
	e.must(other, 201, "POST", "/api/v1/roles", map[string]any{"name": "By Other"})

	check := func(query string, want ...string) {
		t.Helper()
		var got []string
		for _, ev := range e.auditEvents(query) {
			got = append(got, ev.Action)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", query, got, want)
		}
	}
	check("target="+ro.ID, "admin.role.update", "admin.role.create")
	check("actor="+other.userID, "admin.role.create")
	check("action=admin.role.update", "admin.role.update")
	check("actor="+a.userID+"&since="+testStart.Add(time.Minute).Format(time.RFC3339), "admin.role.update")
	check("target="+ro.ID+"&until="+testStart.Add(time.Minute).Format(time.RFC3339), "admin.role.create")
	ev := e.auditEvents("action=admin.role.update")[0]
	var before, after map[string]any
	_ = json.Unmarshal(ev.Before, &before)
	_ = json.Unmarshal(ev.After, &after)
	if before["description"] != "" || after["description"] != "later" || ev.Cause != "admin" || ev.ActorType != "user" || ev.SourceIP == "" {
		t.Errorf("update event = %+v", ev)
	}

	all := e.auditEvents("")
	r := e.must(a, 200, "GET", "/api/v1/audit/export", nil)
	if r.header.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("JSON lines Content-Type %q", r.header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	n := 0
	for sc.Scan() {
		var ev auditJSON
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.ID != all[n].ID {
			t.Errorf("line %d: %s (%v), want event %s", n, sc.Bytes(), err, all[n].ID)
		}
		n++
	}
	if n != len(all) {
		t.Errorf("JSON lines: %d events, want %d", n, len(all))
	}
	r = e.must(a, 200, "GET", "/api/v1/audit/export?format=csv&target="+ro.ID, nil)
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 3 || !slices.Equal(rows[0], csvColumns) || rows[1][4] != "admin.role.update" {
		t.Errorf("CSV: %v, %v", rows, err)
	}
	if got := defuseCell("=HYPERLINK(\"x\")"); got != "'=HYPERLINK(\"x\")" {
		t.Errorf("defuseCell = %q", got)
	}
	// An export of nothing is a CSV of its header.
	r = e.must(a, 200, "GET", "/api/v1/audit/export?format=csv&target=nothing", nil)
	if rows, _ := csv.NewReader(bytes.NewReader(r.body)).ReadAll(); len(rows) != 1 {
		t.Errorf("empty export: %q", r.body)
	}
}

// Ensure a connection's groups say where they were seen, and the unmapped list holds the
// groups sign-ins named that map to nothing.
func TestGroupListing(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	a := e.admin
	conn, tok := e.connection(a, "entra", storage.KindEntra)
	e.scimGroup(tok, "Finance Team")
	e.scimGroup(tok, "R&D (EU)")
	ctx := t.Context()
	// Groups seen only in sign-in claims are registered by the sign-in flow.
	login := func(name string) storage.Group {
		g := storage.Group{ID: storage.NewID(), TenantID: e.tenant.ID, ConnectionID: conn.ID, DisplayName: name,
			NormalizedName: normalize(name), SeenAtLogin: true, Version: 1, CreatedAt: testStart, UpdatedAt: testStart, LastSeenAt: testStart}
		e.mustTx(func(tx storage.Tx) error { return tx.CreateGroup(ctx, g) })
		return g
	}
	renamed := login("Finance-Team-2026")
	mapped := login("Sales")
	e.must(a, 200, "PUT", "/api/v1/roles/"+e.roleID(a, "Business User")+"/mappings/"+conn.ID, map[string]string{"group_id": mapped.ID})

	var l listJSON[groupJSON]
	e.must(a, 200, "GET", "/api/v1/connections/"+conn.ID+"/groups/unmapped", nil).decode(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != renamed.ID || l.Items[0].SCIM || !l.Items[0].SeenAtLogin {
		t.Errorf("unmapped = %+v, want only the renamed group", l.Items)
	}
	var unusual listJSON[groupJSON]
	e.must(a, 200, "GET", "/api/v1/connections/"+conn.ID+"/groups?q=(eu)", nil).decode(t, &unusual)
	if len(unusual.Items) != 1 || !unusual.Items[0].UnusualName || unusual.Items[0].NormalizedName != "r&d_(eu)" {
		t.Errorf("q=(eu): %+v", unusual.Items)
	}
	var m listJSON[groupJSON]
	e.must(a, 200, "GET", "/api/v1/connections/"+conn.ID+"/groups?mapped=true", nil).decode(t, &m)
	if len(m.Items) != 1 || m.Items[0].MappedRole == nil || m.Items[0].MappedRole.Name != "Business User" {
		t.Errorf("mapped=true: %+v", m.Items)
	}
	var scimOnly listJSON[groupJSON]
	e.must(a, 200, "GET", "/api/v1/connections/"+conn.ID+"/groups?seen=scim", nil).decode(t, &scimOnly)
	if *scimOnly.Total != 2 {
		t.Errorf("seen=scim: %+v", scimOnly.Items)
	}
}

func normalize(name string) string { return rbac.NormalizeGroupName(name) }
