package scim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rollcall/rollcall/rbac/password"
	"github.com/rollcall/rollcall/storage"
)

// Ensure every SCIM write is one audit event naming the connection, the operation, the
// resource and the result, with the change's before and after and no secret in it.
func TestAudit_SCIMWrites(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.HashPassword = func(string) (string, error) { return "$argon2id$hashed", nil }
	})
	uid := e.mustCreate("/Users", user("audited", "password", "Sup3r!secret", "title", "T"))
	e.do("PUT", "/Users/"+uid, user("audited", "title", "T2"))
	e.do("PATCH", "/Users/"+uid, patch(op("replace", "active", false)))
	gid := e.mustCreate("/Groups", group("Audited", uid))
	e.do("PATCH", "/Groups/"+gid, patch(op("remove", "members", nil), op("add", "members", []map[string]any{{"value": "ghost"}})))
	e.do("DELETE", "/Groups/"+gid, nil)
	e.do("DELETE", "/Users/"+uid, nil)

	var events []storage.AuditEvent
	if err := e.store.AuditEvents(t.Context(), e.tenant, storage.AuditQuery{}, func(ev storage.AuditEvent) error {
		events = append(events, ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"scim.user.delete", "scim.group.delete", "scim.group.patch", "scim.group.create",
		"scim.user.patch", "scim.user.replace", "scim.user.create"}
	if len(events) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(events), len(want), events)
	}
	for i, ev := range events {
		if ev.Action != want[i] || ev.ActorType != "connection" || ev.ActorID != e.scope.ConnectionID ||
			ev.Result != "success" || ev.Cause != "scim" || ev.TargetID == "" || ev.SourceIP == "" {
			t.Errorf("event %d = %+v, want action %s by the connection", i, ev, want[i])
		}
		all := string(ev.Before) + string(ev.After) + string(ev.Detail)
		for _, secret := range []string{"Sup3r!secret", "argon2id", "password"} {
			if strings.Contains(all, secret) {
				t.Errorf("event %s leaks %q: %s", ev.Action, secret, all)
			}
		}
	}
	var before, after map[string]any
	_ = json.Unmarshal(events[4].Before, &before)
	_ = json.Unmarshal(events[4].After, &after)
	if before["active"] != true || after["active"] != false {
		t.Errorf("deactivation event before/after = %v / %v", before, after)
	}
	var detail struct {
		Members memberChange `json:"members"`
	}
	_ = json.Unmarshal(events[2].Detail, &detail)
	if detail.Members.Removed != 1 || len(detail.Members.Missing) != 1 || detail.Members.Missing[0] != "ghost" {
		t.Errorf("group patch detail = %s", events[2].Detail)
	}
	// The deleted user's events are kept.
	var kept int
	_ = e.store.AuditEvents(t.Context(), e.tenant, storage.AuditQuery{TargetID: uid}, func(storage.AuditEvent) error { kept++; return nil })
	if kept != 4 {
		t.Errorf("events of the deleted user: %d, want 4", kept)
	}
}

// Ensure a write that committed and then failed to answer (reading the group back) is not
// also audited as refused: its one event is the change's.
func TestCommittedWriteNotAuditedAsRefused(t *testing.T) {
	e := newEnv(t)
	uid := e.mustCreate("/Users", user("member"))
	gid := e.mustCreate("/Groups", group("Answered"))
	before := len(e.auditEvents())
	e.store.membersBroken.Store(true)
	r := e.do("PATCH", "/Groups/"+gid+"?attributes=members", patch(op("add", "members", []map[string]any{{"value": uid}})))
	e.store.membersBroken.Store(false)
	if r.status != http.StatusInternalServerError {
		t.Fatalf("PATCH whose answer cannot be read: %d %s, want 500", r.status, r.raw)
	}
	events := e.auditEvents()[before:]
	if len(events) != 1 || events[0].Result != "success" || events[0].Action != "scim.group.patch" {
		t.Errorf("audit events of the committed PATCH: %+v, want its one success", events)
	}
}

// Ensure an error that quotes what the client sent stays short, in the answer and in the
// audit event of the refused write: a PATCH's op may be as long as the body allows.
func TestRefusalDetailClipped(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate("/Users", user("clipped"))
	r := e.do("PATCH", "/Users/"+id, patch(map[string]any{"op": strings.Repeat("é", 100_000), "path": "title", "value": "x"}))
	detail, _ := r.body["detail"].(string)
	if r.status != http.StatusBadRequest || len(detail) > maxDetail+len("…") || !utf8.ValidString(detail) {
		t.Fatalf("PATCH with a 200 KB op: %d, a detail of %d bytes", r.status, len(detail))
	}
	evs := e.auditEvents()
	last := evs[len(evs)-1]
	if last.Result != "failure" || len(last.Detail) > 2*maxDetail {
		t.Errorf("the refusal's audit event: %s, %d bytes of detail", last.Result, len(last.Detail))
	}
}

// Ensure a password the hash refuses (Rollcall's: longer than 256 bytes) is a 400
// invalidValue on every write, not a 500, and changes nothing.
func TestPassword_Refused(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.HashPassword = password.Hash })
	long := strings.Repeat("Aa1!", 65) // 260 bytes
	id := e.mustCreate("/Users", user("pw.refused"))
	for _, st := range []struct {
		name, method, path string
		body               any
	}{
		{"POST", "POST", "/Users", user("pw.refused.2", "password", long)},
		{"PUT", "PUT", "/Users/" + id, user("pw.refused", "password", long, "title", "changed")},
		{"PATCH by path", "PATCH", "/Users/" + id, patch(op("replace", "password", long))},
		{"PATCH path-less", "PATCH", "/Users/" + id, patch(op("replace", "", map[string]any{"password": long, "title": "changed"}))},
	} {
		r := e.do(st.method, st.path, st.body)
		if r.status != http.StatusBadRequest || r.body["scimType"] != "invalidValue" || !strings.Contains(fmt.Sprint(r.body["detail"]), "256") {
			t.Errorf("%s with a 260-byte password: %d %s, want 400 invalidValue", st.name, r.status, r.raw)
		}
	}
	if r := e.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "pw.refused.2"`), nil); r.body["totalResults"] != float64(0) {
		t.Errorf("the refused POST created a user: %s", r.raw)
	}
	if r := e.do("GET", "/Users/"+id, nil); r.body["title"] != nil || r.header.Get("ETag") != `W/"1"` {
		t.Errorf("a refused write changed the user: %s %s", r.header.Get("ETag"), r.raw)
	}
}

// Ensure a password an IdP sends is stored only as a hash and never returned.
func TestPassword_HashedNeverReturned(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.HashPassword = func(pw string) (string, error) { return "hashed:" + strings.Repeat("*", len(pw)), nil }
	})
	r := e.do("POST", "/Users", user("pw", "password", "Sup3r!secret"))
	if r.status != 201 || strings.Contains(string(r.raw), "Sup3r") || strings.Contains(string(r.raw), "password") {
		t.Fatalf("create with a password: %d %s", r.status, r.raw)
	}
	u, err := e.store.User(t.Context(), e.scope, r.body["id"].(string))
	if err != nil || u.PasswordHash != "hashed:************" || strings.Contains(string(u.Doc), "Sup3r") {
		t.Errorf("stored user: hash %q doc %s, %v", u.PasswordHash, u.Doc, err)
	}
	if g := e.do("GET", "/Users/"+u.ID, nil); strings.Contains(string(g.raw), "password") {
		t.Errorf("GET returns a password: %s", g.raw)
	}

	// Every write that carries a password replaces the hash; one without keeps it.
	hash := func() string {
		u, err := e.store.User(t.Context(), e.scope, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.PasswordHash
	}
	steps := []struct {
		name, method string
		body         any
		want         string
	}{
		{"PUT with a password", "PUT", user("pw", "password", "Put!pw"), "hashed:******"},
		{"PUT without", "PUT", user("pw", "title", "T"), "hashed:******"},
		{"PATCH path-less (Okta's password sync)", "PATCH", patch(op("replace", "", map[string]any{"password": "Okta!sync", "title": "U"})), "hashed:*********"},
		{"PATCH by path", "PATCH", patch(op("Replace", "Password", "By!path")), "hashed:*******"},
		{"PATCH without", "PATCH", patch(op("replace", "title", "V")), "hashed:*******"},
		{"PATCH remove", "PATCH", patch(op("remove", "password", nil)), ""},
		{"PATCH path-less, URN-qualified", "PATCH", patch(op("replace", "", map[string]any{userURN + ":password": "Urn!pw"})), "hashed:******"},
		{"PUT URN-qualified", "PUT", user("pw", "title", "V", userURN+":password", "Put!urn"), "hashed:*******"},
	}
	for _, st := range steps {
		r := e.do(st.method, "/Users/"+u.ID, st.body)
		if r.status != http.StatusOK || strings.Contains(string(r.raw), "password") || strings.Contains(string(r.raw), "!") {
			t.Errorf("%s: %d %s", st.name, r.status, r.raw)
		}
		if got := hash(); got != st.want {
			t.Errorf("%s: stored hash %q, want %q", st.name, got, st.want)
		}
	}
	if g := e.do("GET", "/Users/"+u.ID, nil); g.body["title"] != "V" {
		t.Errorf("the PATCHes' other attributes: %s", g.raw)
	}
	r = e.do("PATCH", "/Users/"+u.ID, patch(op("replace", "", map[string]any{"password": 5})))
	if r.status != http.StatusBadRequest {
		t.Errorf("a password that is not a string: %d %s", r.status, r.raw)
	}
	for _, body := range []any{user("pw", "password", map[string]any{"value": "Obj!pw"}), user("pw", "password", 5)} {
		if r := e.do("PUT", "/Users/"+u.ID, body); r.status != http.StatusBadRequest || r.body["scimType"] != "invalidValue" {
			t.Errorf("PUT with a password that is not a string: %d %s", r.status, r.raw)
		}
		if r := e.do("POST", "/Users", user("pw2", "password", 5)); r.status != http.StatusBadRequest || r.body["scimType"] != "invalidValue" {
			t.Errorf("POST with a password that is not a string: %d %s", r.status, r.raw)
		}
	}
	// Each change is in the audit log, the password never.
	var changes []string
	_ = e.store.AuditEvents(t.Context(), e.tenant, storage.AuditQuery{TargetID: u.ID}, func(ev storage.AuditEvent) error {
		d := string(ev.Detail)
		for _, pw := range []string{"Sup3r", "Put!", "Okta!", "By!", "Urn!"} {
			if strings.Contains(d, pw) || strings.Contains(string(ev.Before)+string(ev.After), pw) {
				t.Errorf("audit event %s holds a password: %s", ev.Action, d)
			}
		}
		if strings.Contains(d, "password") && ev.Result == "success" {
			changes = append(changes, ev.Action)
		}
		return nil
	})
	if len(changes) != 6 {
		t.Errorf("audit events naming a password change: %v, want the 6 writes that carried one", changes)
	}
}
