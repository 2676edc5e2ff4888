package admin

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// reportLatency reports the median and 99th percentile of per-operation durations.
func reportLatency(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(q float64) float64 {
		return float64(ds[min(len(ds)-1, int(q*float64(len(ds))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// BenchmarkPermissionCheck measures a permission check for a user holding 20 roles, each
// with a permission set of 10 permissions: the whole HTTP POST /check (authentication,
// the user's activity and roles, the check itself: every database read of a request), and
// the store's HasPermission alone. Target: p99 under 1 ms.
func BenchmarkPermissionCheck(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := newEnv(b, be.open(b))
			ctx := b.Context()
			perms := rbac.DefaultCatalog().Permissions()
			var roleIDs []string
			e.mustTx(func(tx storage.Tx) error {
				for i := range 20 {
					var ps []rbac.Permission
					for j := range 10 {
						ps = append(ps, perms[(i*10+j)%len(perms)])
					}
					set := storage.PermissionSet{ID: storage.NewID(), TenantID: e.tenant.ID, Name: fmt.Sprintf("bench set %d", i),
						Permissions: ps, CreatedAt: testStart, UpdatedAt: testStart}
					ro := storage.Role{ID: storage.NewID(), TenantID: e.tenant.ID, Name: fmt.Sprintf("bench role %d", i),
						PermissionSetIDs: []string{set.ID}, CreatedAt: testStart, UpdatedAt: testStart}
					if err := tx.CreatePermissionSet(ctx, set); err != nil {
						return err
					}
					if err := tx.CreateRole(ctx, ro); err != nil {
						return err
					}
					roleIDs = append(roleIDs, ro.ID)
				}
				return nil
			})
			c := e.userWithRoles(e.tenant, "checker@acme.example", roleIDs...)
			// The permission of the last role's set: found only after looking at all of them.
			want := perms[(19*10+9)%len(perms)]
			body := []byte(`{"permission":"` + string(want) + `"}`)
			client := e.srv.Client()

			b.Run("http", func(b *testing.B) {
				ds := make([]time.Duration, 0, b.N)
				for b.Loop() {
					start := time.Now()
					req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/api/v1/check", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+c.token)
					req.Header.Set("Content-Type", "application/json")
					res, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					out, _ := io.ReadAll(res.Body)
					res.Body.Close()
					ds = append(ds, time.Since(start))
					if res.StatusCode != 200 || !bytes.Contains(out, []byte(`"allowed":true`)) {
						b.Fatalf("%d %s", res.StatusCode, out)
					}
				}
				reportLatency(b, ds)
			})
			b.Run("store", func(b *testing.B) {
				ds := make([]time.Duration, 0, b.N)
				for b.Loop() {
					start := time.Now()
					ok, err := e.store.HasPermission(ctx, e.tenant.ID, c.userID, want)
					ds = append(ds, time.Since(start))
					if err != nil || !ok {
						b.Fatal(ok, err)
					}
				}
				reportLatency(b, ds)
			})
		})
	}
}

// BenchmarkMapGroup100k measures mapping a role to an IdP group of 100 000 members on a
// connection whose group mapping is on: the PUT that recomputes all of the connection's
// users in one transaction, as set-based SQL, with an audit event per grant. PostgreSQL
// only (the scale backend). Target: under 10 s.
func BenchmarkMapGroup100k(b *testing.B) {
	const members = 100_000
	s := openPostgres(b)
	e := newEnv(b, s)
	ctx := b.Context()
	conn, _ := e.connection(e.admin, "okta", storage.KindOkta)
	e.must(e.admin, 200, "PATCH", "/api/v1/connections/"+conn.ID, map[string]any{"group_mapping": true})
	scope := storage.Scope{TenantID: e.tenant.ID, ConnectionID: conn.ID}
	g := storage.Group{ID: storage.NewID(), TenantID: e.tenant.ID, ConnectionID: conn.ID, DisplayName: "Everyone",
		NormalizedName: "everyone", SCIM: true, Version: 1, CreatedAt: testStart, UpdatedAt: testStart, LastSeenAt: testStart}
	e.mustTx(func(tx storage.Tx) error { return tx.CreateGroup(ctx, g) })
	users := make([]storage.User, members)
	ids := make([]string, members)
	for i := range users {
		name := fmt.Sprintf("user%06d@acme.example", i)
		users[i] = storage.User{ID: storage.NewID(), TenantID: e.tenant.ID, ConnectionID: conn.ID, Kind: storage.UserHuman,
			Auth: storage.AuthSSO, UserName: name, Email: name, Active: true, Version: 1, CreatedAt: testStart, UpdatedAt: testStart}
		ids[i] = users[i].ID
	}
	seed := time.Now()
	if err := s.BulkLoadUsers(ctx, users); err != nil {
		b.Fatal(err)
	}
	if err := s.BulkAddMembers(ctx, scope, g.ID, ids); err != nil {
		b.Fatal(err)
	}
	// Autovacuum analyzes tables this size soon after a load. Right after one, without
	// statistics, PostgreSQL estimates one subject and plans SyncRoles' revocation step as a
	// nested loop that scans role_assignments' primary key once per user: hours, not
	// seconds. Analyze as autovacuum would.
	for _, table := range []string{"users", "groups", "group_members", "role_assignments", "role_mappings"} {
		if _, err := s.Pool().Exec(ctx, "ANALYZE "+table); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded and analyzed %d members in %v", members, time.Since(seed).Round(time.Millisecond))
	role := e.roleID(e.admin, "Data Engineer")
	path := "/api/v1/roles/" + role + "/mappings/" + conn.ID

	var total time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		if n > 0 {
			e.must(e.admin, 200, "DELETE", path, nil) // revokes them all again, untimed
		}
		b.StartTimer()
		start := time.Now()
		var res mappingResultJSON
		e.must(e.admin, 200, "PUT", path, map[string]string{"group_id": g.ID}).decode(b, &res)
		total += time.Since(start)
		n++
		if res.Granted != members {
			b.Fatalf("granted %d, want %d", res.Granted, members)
		}
	}
	b.ReportMetric(total.Seconds()/float64(n), "s/map")
}
