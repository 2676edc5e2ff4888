package admin

import (
	"errors"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/rbac/password"
	"github.com/rollcall/rollcall/scim"
	"github.com/rollcall/rollcall/storage"
)

var cli = Actor{Type: ActorSystem, ID: "rollcall-cli"}

// Ensure a provisioned tenant has the six default permission sets and the four default
// roles, builtin, each audited, and that tenant names are unique ignoring case.
func TestProvisionTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := t.Context()
		var tn storage.Tenant
		err := s.Tx(ctx, func(tx storage.Tx) (err error) {
			tn, err = ProvisionTenant(ctx, tx, " Acme ", rbac.Catalog{}, testStart, cli)
			return err
		})
		if err != nil || tn.Name != "Acme" {
			t.Fatalf("ProvisionTenant = %+v, %v", tn, err)
		}
		sets, _ := s.PermissionSets(ctx, tn.ID)
		var names []string
		byID := map[string]string{}
		for _, ps := range sets {
			names = append(names, ps.Name)
			byID[ps.ID] = ps.Name
			if !ps.Builtin {
				t.Errorf("set %s is not builtin", ps.Name)
			}
		}
		slices.Sort(names)
		if want := []string{"business_user", "data_admin", "data_engineer", "data_explorer", "data_steward", "tenant_admin"}; !slices.Equal(names, want) {
			t.Errorf("sets = %v, want %v", names, want)
		}
		roles, _ := s.Roles(ctx, tn.ID)
		got := map[string]string{}
		for _, ro := range roles {
			if !ro.Builtin || len(ro.PermissionSetIDs) != 1 {
				t.Errorf("role %+v", ro)
				continue
			}
			got[ro.Name] = byID[ro.PermissionSetIDs[0]]
		}
		want := map[string]string{"Tenant Administrator": "tenant_admin", "Data Administrator": "data_admin",
			"Data Engineer": "data_engineer", "Business User": "business_user"}
		if len(got) != len(want) {
			t.Errorf("roles = %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("role %q holds %q, want %q", k, got[k], v)
			}
		}
		var actions []string
		_ = s.AuditEvents(ctx, tn.ID, storage.AuditQuery{}, func(e storage.AuditEvent) error {
			if e.ActorID != "rollcall-cli" || e.ActorType != ActorSystem {
				t.Errorf("event by %s %s", e.ActorType, e.ActorID)
			}
			actions = append(actions, e.Action)
			return nil
		})
		if len(actions) != 11 {
			t.Errorf("events = %v, want the tenant, 6 sets and 4 roles", actions)
		}
		err = s.Tx(ctx, func(tx storage.Tx) error {
			_, err := ProvisionTenant(ctx, tx, "ACME", rbac.Catalog{}, testStart, cli)
			return err
		})
		var ae *Error
		if !errors.As(err, &ae) || ae.Status != 409 || ae.Rule != ruleNameUnique {
			t.Errorf("a second ACME: %v, want 409 name-unique", err)
		}
	})
}

// Ensure the CLI's connection and token steps give working SCIM tokens, with overlap
// during rotation.
func TestConnectionAndTokens(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	ctx := t.Context()
	var c storage.Connection
	var s1, s2 string
	var t1 storage.Token
	e.mustTx(func(tx storage.Tx) (err error) {
		if c, err = CreateConnection(ctx, tx, e.tenant.ID, "okta", storage.KindOkta, testStart, cli); err != nil {
			return err
		}
		s1, t1, err = IssueSCIMToken(ctx, tx, c, testStart, cli)
		return err
	})
	if c.OIDC.GroupsClaim != "groups" || !slices.Equal(c.OIDC.Scopes, []string{"openid", "email", "profile"}) || c.GroupMapping {
		t.Errorf("connection = %+v", c)
	}
	e.scimMust(s1, 200, "GET", "/Users", nil)
	e.mustTx(func(tx storage.Tx) (err error) { s2, _, err = IssueSCIMToken(ctx, tx, c, testStart, cli); return err })
	e.scimMust(s1, 200, "GET", "/Users", nil)
	e.scimMust(s2, 200, "GET", "/Users", nil)
	e.mustTx(func(tx storage.Tx) error { return RevokeSCIMToken(ctx, tx, c, t1.ID, testStart, cli) })
	e.mustTx(func(tx storage.Tx) error { return RevokeSCIMToken(ctx, tx, c, t1.ID, testStart, cli) }) // twice is fine
	// The CLI revokes from another process: the server trusts the token it checked until its
	// cache entry expires, and no longer.
	e.scimMust(s1, 200, "GET", "/Users", nil)
	e.clock.Add(scim.DefaultTokenCacheTTL)
	e.scimMust(s1, 401, "GET", "/Users", nil)
	e.scimMust(s2, 200, "GET", "/Users", nil)
	var tokens listJSON[tokenJSON]
	e.must(e.admin, 200, "GET", "/api/v1/connections/"+c.ID+"/tokens", nil).decode(t, &tokens)
	if len(tokens.Items) != 2 || tokens.Items[0].ID != t1.ID || tokens.Items[0].Active || !tokens.Items[1].Active || tokens.Items[0].Hint != s1[len(s1)-4:] {
		t.Errorf("tokens = %+v", tokens.Items)
	}
	err := e.store.Tx(ctx, func(tx storage.Tx) error {
		_, err := CreateConnection(ctx, tx, e.tenant.ID, "OKTA", storage.KindOkta, testStart, cli)
		return err
	})
	if ae := asError(err); ae.Status != 409 || ae.Rule != ruleNameUnique {
		t.Errorf("a second OKTA: %v", err)
	}
	if ev := e.auditEvents("action=admin.scim_token.revoke"); len(ev) != 1 {
		t.Errorf("revocation events = %+v, want exactly one", ev)
	}
	// The API's answer to a new token carries the secret and where to use it, once.
	var nt newTokenJSON
	e.must(e.admin, 201, "POST", "/api/v1/connections/"+c.ID+"/tokens", nil).decode(t, &nt)
	if nt.SCIMBaseURL != testBaseURL+"/scim/v2" || nt.Token == "" || !nt.Active {
		t.Errorf("new token = %+v", nt)
	}
	e.scimMust(nt.Token, 200, "GET", "/Users", nil)
	e.must(e.admin, 404, "DELETE", "/api/v1/connections/"+c.ID+"/tokens/nope", nil)
	// A revocation through the API takes effect at once in the process that serves SCIM.
	e.must(e.admin, 204, "DELETE", "/api/v1/connections/"+c.ID+"/tokens/"+nt.ID, nil)
	e.scimMust(nt.Token, 401, "GET", "/Users", nil)
	e.scimMust(s2, 200, "GET", "/Users", nil)
}

// Ensure the first start gets an administrator exactly once, with a generated password that
// meets the policy when none is given.
func TestEnsureBootstrapAdmin(t *testing.T) {
	s := openSQLite(t)
	e := &env{t: t, store: s, clock: &clock{t: testStart}}
	h, err := NewHandler(Config{Store: s, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	ctx := t.Context()
	e.tenant = e.provision("acme")

	if _, _, err := EnsureBootstrapAdmin(ctx, s, "initech", "root@acme.example", "", testStart); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown tenant: %v", err)
	}
	if _, _, err := EnsureBootstrapAdmin(ctx, s, "acme", "root@acme.example", "weak", testStart); !errors.Is(err, password.ErrPolicy) {
		t.Errorf("weak password: %v", err)
	}
	if _, _, err := EnsureBootstrapAdmin(ctx, s, "acme", "not an email", "", testStart); err == nil {
		t.Error("an invalid email was accepted")
	}
	// A taken email on a tenant nobody administers is an error, not a silent no-op.
	lonely := storage.User{ID: storage.NewID(), TenantID: e.tenant.ID, Kind: storage.UserService, Auth: storage.AuthPassword,
		UserName: "taken@acme.example", Active: true, Version: 1, CreatedAt: testStart, UpdatedAt: testStart}
	e.mustTx(func(tx storage.Tx) error { return tx.CreateUser(ctx, lonely) })
	if created, _, err := EnsureBootstrapAdmin(ctx, s, "acme", "TAKEN@acme.example", "", testStart); err == nil || created {
		t.Errorf("a taken email: %v, %v", created, err)
	}
	created, pw, err := EnsureBootstrapAdmin(ctx, s, "acme", "root@acme.example", "", testStart)
	if err != nil || !created || password.CheckPolicy(pw) != nil || len(pw) < 20 {
		t.Fatalf("EnsureBootstrapAdmin = %v, %q, %v", created, pw, err)
	}
	var users listJSON[userJSON]
	r := e.request("GET", "/api/v1/users", nil, basic("root@acme.example", pw))
	r.decode(t, &users)
	if r.status != 200 || len(users.Items) != 2 || users.Items[1].Kind != storage.UserService ||
		users.Items[1].Roles[0].Name != "Tenant Administrator" {
		t.Errorf("the bootstrap administrator: %d %s", r.status, r.body)
	}
	created, pw, err = EnsureBootstrapAdmin(ctx, s, "acme", "other@acme.example", "", testStart)
	if err != nil || created || pw != "" {
		t.Errorf("second start = %v, %q, %v: want nothing done", created, pw, err)
	}
	// Given a password, it is used and not returned.
	e.provision("globex")
	created, pw, err = EnsureBootstrapAdmin(ctx, s, "globex", "root@globex.example", testPassword, testStart)
	if err != nil || !created || pw != "" {
		t.Errorf("with a password = %v, %q, %v", created, pw, err)
	}
	r = e.request("GET", "/api/v1/me", nil, basic("root@globex.example", testPassword))
	if r.status != 200 {
		t.Errorf("the given password does not sign in: %d %s", r.status, r.body)
	}
}

// Ensure replicas starting together make one bootstrap administrator, and none of them fails.
func TestEnsureBootstrapAdminConcurrently(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := t.Context()
		e := &env{t: t, store: s}
		e.provision("acme")
		const replicas = 4
		results := make(chan error, replicas)
		created := make(chan bool, replicas)
		for range replicas {
			go func() {
				ok, _, err := EnsureBootstrapAdmin(ctx, s, "acme", "root@acme.example", testPassword, testStart)
				created <- ok
				results <- err
			}()
		}
		n := 0
		for range replicas {
			if err := <-results; err != nil {
				t.Errorf("a replica failed: %v", err)
			}
			if <-created {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d replicas made the administrator, want 1", n)
		}
	})
}
