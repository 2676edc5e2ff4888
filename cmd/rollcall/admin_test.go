package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/rbac/password"
	"github.com/rollcall/rollcall/storage"
)

// adminDo calls the admin API as the bootstrap administrator, with HTTP Basic as curl -u does.
func (s *server) adminDo(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.baseURL+"/api/v1"+path, rd)
	req.SetBasicAuth("admin@rollcall.local", s.adminPW)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 && json.Unmarshal(raw, &m) != nil {
		t.Fatalf("%s %s: %d, not JSON: %q", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}

func (s *server) mustAdmin(t *testing.T, want int, method, path string, body any) map[string]any {
	t.Helper()
	code, m := s.adminDo(t, method, path, body)
	if code != want {
		t.Fatalf("%s %s = %d, want %d: %v", method, path, code, want, m)
	}
	return m
}

func roleNames(user map[string]any) []string {
	var out []string
	roles, _ := user["roles"].([]any)
	for _, r := range roles {
		out = append(out, r.(map[string]any)["name"].(string))
	}
	slices.Sort(out)
	return out
}

// Ensure what the "done when" describes works through the served API alone: an
// administrator creates a permission set and a role, maps an Okta group pushed over SCIM to
// it, sees the group's members gain the role, previews and applies a change, and reads the
// audit trail of all of it.
func TestAdminWalkthrough(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		s := startServer(t, database)
		if s.adminPW == "" {
			t.Fatal("first start printed no administrator password")
		}
		me := s.mustAdmin(t, 200, "GET", "/me", nil)
		if perms, _ := me["permissions"].([]any); !slices.Contains(perms, any("manage_idp")) {
			t.Fatalf("the bootstrap administrator's permissions: %v", me["permissions"])
		}
		// Okta pushes a user and a group with the user in it.
		code, alice, _ := scimDo(t, "POST", s.scimURL()+"/Users", s.token, userBody("alice@example.com"))
		if code != 201 {
			t.Fatalf("SCIM create user: %d", code)
		}
		code, _, _ = scimDo(t, "POST", s.scimURL()+"/Groups", s.token, map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Okta Data Readers",
			"members": []map[string]any{{"value": alice["id"]}}})
		if code != 201 {
			t.Fatalf("SCIM create group: %d", code)
		}
		ps := s.mustAdmin(t, 201, "POST", "/permission-sets", map[string]any{"name": "Readers", "permissions": []string{"view_table", "view_datamap"}})
		role := s.mustAdmin(t, 201, "POST", "/roles", map[string]any{"name": "Reader", "permission_set_ids": []any{ps["id"]}})
		conns := s.mustAdmin(t, 200, "GET", "/connections", nil)
		conn := conns["items"].([]any)[0].(map[string]any)
		cid, rid := conn["id"].(string), role["id"].(string)
		groups := s.mustAdmin(t, 200, "GET", "/connections/"+cid+"/groups", nil)
		if g := groups["items"].([]any)[0].(map[string]any); g["normalized_name"] != "okta_data_readers" || g["mapped_role"] != nil {
			t.Fatalf("the pushed group as registered: %v", g)
		}
		s.mustAdmin(t, 200, "PATCH", "/connections/"+cid, map[string]any{"group_mapping": true})
		preview := s.mustAdmin(t, 200, "POST", fmt.Sprintf("/roles/%s/mappings/%s/preview", rid, cid), map[string]any{"group": "Okta Data Readers"})
		if preview["gain_count"] != float64(1) || preview["applies_now"] != true {
			t.Fatalf("preview: %v", preview)
		}
		s.mustAdmin(t, 200, "PUT", fmt.Sprintf("/roles/%s/mappings/%s", rid, cid), map[string]any{"group": "okta data readers"})
		user := s.mustAdmin(t, 200, "GET", "/users/"+alice["id"].(string), nil)
		if got := roleNames(user); !slices.Equal(got, []string{"Reader"}) {
			t.Fatalf("after the mapping alice holds %v", got)
		}
		// The IdP removes her from the group: the role goes at once.
		code, _, _ = scimDo(t, "GET", s.scimURL()+"/Groups?filter="+url.QueryEscape(`displayName eq "Okta Data Readers"`), s.token, nil)
		if code != 200 {
			t.Fatal(code)
		}
		groupID := groups["items"].([]any)[0].(map[string]any)["id"].(string)
		code, _, _ = scimDo(t, "PATCH", s.scimURL()+"/Groups/"+groupID, s.token, map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []map[string]any{{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, alice["id"])}}})
		if code != 204 {
			t.Fatalf("SCIM remove member: %d", code)
		}
		user = s.mustAdmin(t, 200, "GET", "/users/"+alice["id"].(string), nil)
		if got := roleNames(user); len(got) != 0 {
			t.Errorf("after the push alice still holds %v", got)
		}
		audit := s.mustAdmin(t, 200, "GET", "/audit?target="+alice["id"].(string), nil)
		var actions []string
		for _, e := range audit["items"].([]any) {
			actions = append(actions, e.(map[string]any)["action"].(string))
		}
		for _, want := range []string{"scim.user.create", "role.grant", "role.revoke"} {
			if !slices.Contains(actions, want) {
				t.Errorf("alice's audit trail %v lacks %s", actions, want)
			}
		}
		if code, _ := s.adminDo(t, "DELETE", "/roles/"+rid, nil); code != 204 {
			t.Errorf("deleting the role nobody holds any more: %d", code)
		}
	})
}

// Ensure `rollcall admin create` gives a locked-out tenant a new administrator, once per
// email, audited, on both backends.
func TestAdminCreate(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		newConnection(t, database, "okta", "okta") // provisions the tenant
		cli := func(args ...string) (string, error) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), append([]string{"rollcall", "admin", "create", "-database", database}, args...), noEnv, nil, &out, &errOut)
			return out.String(), err
		}
		out, err := cli("-tenant", "default", "-email", "ops@acme.example")
		if err != nil {
			t.Fatalf("admin create: %v", err)
		}
		var na newAdministrator
		if err := json.Unmarshal([]byte(out), &na); err != nil || na.UserID == "" || na.Email != "ops@acme.example" || password.CheckPolicy(na.Password) != nil {
			t.Fatalf("admin create printed %q (%v)", out, err)
		}
		if _, err := cli("-tenant", "default", "-email", "OPS@acme.example"); err == nil || !strings.Contains(err.Error(), "already has a user") {
			t.Errorf("a taken email: %v", err)
		}
		if _, err := cli("-tenant", "nope", "-email", "x@acme.example"); err == nil || !strings.Contains(err.Error(), `no tenant "nope"`) {
			t.Errorf("an unknown tenant: %v", err)
		}
		st, err := openStore(context.Background(), database)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ctx := context.Background()
		tn, _ := st.TenantByName(ctx, "default")
		u, err := st.User(ctx, storage.Scope{TenantID: tn.ID}, na.UserID)
		if ok, _ := password.Verify(u.PasswordHash, na.Password); err != nil || !ok || !u.Active {
			t.Errorf("the new administrator: %+v, %v", u, err)
		}
		perms, err := st.Permissions(ctx, tn.ID, na.UserID)
		if err != nil || len(perms) != len(rbac.TenantManagement().Permissions) {
			t.Errorf("the new administrator's permissions: %v, %v", perms, err)
		}
		var actions []string
		_ = st.AuditEvents(ctx, tn.ID, storage.AuditQuery{TargetID: na.UserID}, func(e storage.AuditEvent) error {
			if e.ActorID != "rollcall-cli" {
				t.Errorf("event by %s", e.ActorID)
			}
			actions = append(actions, e.Action)
			return nil
		})
		if len(actions) != 2 {
			t.Errorf("audit of the new administrator: %v, want its creation and its role", actions)
		}
	})
}
