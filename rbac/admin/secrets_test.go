package admin

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rollcall/rollcall/storage"
)

// Ensure an OIDC client secret is stored only sealed, never answered or audited, and that a
// server without a key refuses to store one.
func TestClientSecretSealed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s storage.Store) {
		e := newEnv(t, s)
		conn, _ := e.connection(e.admin, "okta", storage.KindOkta)
		path := "/api/v1/connections/" + conn.ID
		set := func(secret string) connectionJSON {
			t.Helper()
			var c connectionJSON
			r := e.must(e.admin, 200, "PATCH", path, map[string]any{"oidc": map[string]any{"client_secret": secret}})
			if secret != "" && strings.Contains(string(r.body), secret) {
				t.Errorf("the answer shows the secret: %s", r.body)
			}
			r.decode(t, &c)
			return c
		}
		if c := set("s3cr3t-value"); !c.OIDC.ClientSecretSet {
			t.Errorf("client_secret_set = false after setting one")
		}
		stored, err := s.Connection(t.Context(), e.tenant.ID, conn.ID)
		if err != nil || !strings.HasPrefix(stored.OIDC.ClientSecret, "rcx1:") || strings.Contains(stored.OIDC.ClientSecret, "s3cr3t") {
			t.Fatalf("stored client secret %q, %v: want it sealed", stored.OIDC.ClientSecret, err)
		}
		if plain, err := testBox.Open(stored.OIDC.ClientSecret); err != nil || plain != "s3cr3t-value" {
			t.Errorf("the sealed secret opens to %q, %v", plain, err)
		}
		set("s3cr3t-value") // the same again
		if c := set(""); c.OIDC.ClientSecretSet {
			t.Errorf("client_secret_set = true after clearing it")
		}
		var changed []any
		for _, ev := range e.auditEvents("action=admin.connection.update") {
			if strings.Contains(string(ev.Detail)+string(ev.Before)+string(ev.After), "s3cr3t") {
				t.Errorf("an audit event holds the secret: %+v", ev)
			}
			if strings.Contains(string(ev.Detail), "client_secret_changed") {
				changed = append(changed, strings.Contains(string(ev.Detail), `"client_secret_changed":true`))
			}
		}
		// Newest first: cleared (changed), the same again (not), set (changed).
		if len(changed) != 3 || changed[0] != true || changed[1] != false || changed[2] != true {
			t.Errorf("client_secret_changed of the three updates, newest first = %v", changed)
		}

		// A server without a key refuses, and changes nothing.
		h, err := NewHandler(Config{Store: s, Now: e.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		keyless := *e
		keyless.srv = srv
		r := keyless.do(e.admin, "PATCH", path, map[string]any{"oidc": map[string]any{"client_secret": "x"}})
		if r.status != 409 || r.rule() != ruleSecretKeyRequired {
			t.Errorf("no key: %d %s", r.status, r.body)
		}
		if c, _ := s.Connection(t.Context(), e.tenant.ID, conn.ID); c.OIDC.ClientSecret != "" {
			t.Errorf("a refused secret was stored: %q", c.OIDC.ClientSecret)
		}
	})
}
