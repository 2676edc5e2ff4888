// Package storagetest is the conformance suite every storage backend passes: the same
// named cases, run against SQLite and PostgreSQL, prove the backends behave alike.
package storagetest

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// Run runs every case against a fresh store from newStore, which must return an empty,
// migrated store; Run closes it when the case ends.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"TenantsAndConnections", testTenantsAndConnections},
		{"Tokens", testTokens},
		{"UserCRUD", testUserCRUD},
		{"LongValues", testLongValues},
		{"AddMembersRacesDelete", testAddMembersRacesDelete},
		{"MembersInChunks", testMembersInChunks},
		{"UserNameUniqueIgnoringCase", testUserNameUnique},
		{"CreateUserWithAudit", testCreateUserWithAudit},
		{"ScopeIsolation", testScopeIsolation},
		{"Filters", testFilters},
		{"IndexPaging", testIndexPaging},
		{"KeysetPaging", testKeysetPaging},
		{"SortedKeysetPaging", testSortedKeysetPaging},
		{"UnicodeFold", testUnicodeFold},
		{"GroupNameUniquePerConnection", testGroupNameUnique},
		{"Members", testMembers},
		{"UsersWithGroups", testUsersWithGroups},
		{"LockUserAfterAWriterSeesItsValues", testLockUserSeesCommittedValues},
		{"DeleteCascades", testDeleteCascades},
		{"TxRollsBack", testTxRollsBack},
		{"Audit", testAudit},
		{"PermissionSetsAndRoles", testPermissionSetsAndRoles},
		{"Mappings", testMappings},
		{"SyncRoles", testSyncRoles},
		{"Sessions", testSessions},
		{"AttemptCounts", testAttemptCounts},
		{"ConcurrentAttemptsCounted", testConcurrentAttempts},
		{"ConcurrentCreatesOneWins", testConcurrentCreates},
		{"ConcurrentMemberAddsLoseNothing", testConcurrentMemberAdds},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			c.fn(t, s)
		})
	}
}

var now = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

type fixture struct {
	tenant storage.Tenant
	conn   storage.Connection
	scope  storage.Scope
}

func mustTx(t *testing.T, s storage.Store, fn func(tx storage.Tx) error) {
	t.Helper()
	if err := s.Tx(t.Context(), fn); err != nil {
		t.Fatalf("tx: %v", err)
	}
}

func setup(t *testing.T, s storage.Store, tenantName string) fixture {
	t.Helper()
	f := fixture{
		tenant: storage.Tenant{ID: storage.NewID(), Name: tenantName, CreatedAt: now},
	}
	f.conn = storage.Connection{ID: storage.NewID(), TenantID: f.tenant.ID, Name: "okta", Kind: storage.KindOkta,
		OIDC: storage.OIDCSettings{GroupsClaim: "groups"}, CreatedAt: now, UpdatedAt: now}
	f.scope = storage.Scope{TenantID: f.tenant.ID, ConnectionID: f.conn.ID}
	mustTx(t, s, func(tx storage.Tx) error {
		if err := tx.CreateTenant(t.Context(), f.tenant); err != nil {
			return err
		}
		return tx.CreateConnection(t.Context(), f.conn)
	})
	return f
}

func (f fixture) user(name string) storage.User {
	return storage.User{
		ID: storage.NewID(), TenantID: f.tenant.ID, ConnectionID: f.conn.ID, Kind: storage.UserHuman,
		Auth: storage.AuthSSO, UserName: name, Active: true, Doc: json.RawMessage(`{"userName":` + quote(name) + `}`),
		Version: 1, CreatedAt: now, UpdatedAt: now,
	}
}

func (f fixture) group(name string) storage.Group {
	return storage.Group{
		ID: storage.NewID(), TenantID: f.tenant.ID, ConnectionID: f.conn.ID, DisplayName: name,
		NormalizedName: name, SCIM: true, Doc: json.RawMessage(`{}`), Version: 1,
		CreatedAt: now, UpdatedAt: now, LastSeenAt: now,
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func createUsers(t *testing.T, s storage.Store, us ...storage.User) {
	t.Helper()
	mustTx(t, s, func(tx storage.Tx) error {
		for _, u := range us {
			if err := tx.CreateUser(t.Context(), u); err != nil {
				return err
			}
		}
		return nil
	})
}

func testTenantsAndConnections(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "Acme")
	got, err := s.TenantByName(ctx, "ACME")
	if err != nil || got.ID != f.tenant.ID {
		t.Fatalf("TenantByName(ACME) = %v, %v; want tenant %s", got, err, f.tenant.ID)
	}
	if _, err := s.Tenant(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Tenant(nope) error = %v, want ErrNotFound", err)
	}
	err = s.Tx(ctx, func(tx storage.Tx) error {
		return tx.CreateTenant(ctx, storage.Tenant{ID: storage.NewID(), Name: "acme", CreatedAt: now})
	})
	var ce *storage.ConflictError
	if !errors.As(err, &ce) || ce.Constraint != storage.UniqueTenantName {
		t.Errorf("duplicate tenant name: error = %v, want ConflictError(tenant name)", err)
	}
	c, err := s.ConnectionByName(ctx, f.tenant.ID, "OKTA")
	if err != nil || c.ID != f.conn.ID || c.Kind != storage.KindOkta || c.OIDC.GroupsClaim != "groups" {
		t.Fatalf("ConnectionByName = %+v, %v", c, err)
	}
	c.GroupMapping = true
	c.OIDC.Scopes = []string{"openid", "email"}
	mustTx(t, s, func(tx storage.Tx) error { return tx.UpdateConnection(ctx, c) })
	c2, err := s.Connection(ctx, f.tenant.ID, c.ID)
	if err != nil || !c2.GroupMapping || !slices.Equal(c2.OIDC.Scopes, []string{"openid", "email"}) {
		t.Errorf("after update: %+v, %v", c2, err)
	}
	err = s.Tx(ctx, func(tx storage.Tx) error {
		dup := f.conn
		dup.ID, dup.Name = storage.NewID(), "Okta"
		return tx.CreateConnection(ctx, dup)
	})
	if !errors.As(err, &ce) || ce.Constraint != storage.UniqueConnectionName {
		t.Errorf("duplicate connection name: error = %v, want ConflictError(connection name)", err)
	}
	other := setup(t, s, "Other")
	if _, err := s.Connection(ctx, other.tenant.ID, f.conn.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("connection seen from another tenant: %v", err)
	}
}

func testTokens(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	tk := storage.Token{ID: storage.NewID(), TenantID: f.tenant.ID, ConnectionID: f.conn.ID, Hint: "abcd", CreatedAt: now}
	hash := []byte("0123456789abcdef0123456789abcdef")
	mustTx(t, s, func(tx storage.Tx) error { return tx.CreateToken(ctx, tk, hash) })
	got, conn, err := s.TokenBySecretHash(ctx, hash, now)
	if err != nil || got.ID != tk.ID || conn.ID != f.conn.ID || got.Hint != "abcd" {
		t.Fatalf("TokenBySecretHash = %+v, %+v, %v", got, conn, err)
	}
	if _, _, err := s.TokenBySecretHash(ctx, []byte("other"), now); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown hash: %v, want ErrNotFound", err)
	}
	exp := now.Add(time.Hour)
	// Made a second later: Tokens lists by creation, and two ids made in one millisecond sort
	// by their random bits.
	tk2 := storage.Token{ID: storage.NewID(), TenantID: f.tenant.ID, ConnectionID: f.conn.ID, Hint: "efgh",
		CreatedAt: now.Add(time.Second), ExpiresAt: &exp}
	hash2 := []byte("second-hash")
	mustTx(t, s, func(tx storage.Tx) error { return tx.CreateToken(ctx, tk2, hash2) })
	if _, _, err := s.TokenBySecretHash(ctx, hash2, now.Add(2*time.Hour)); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("expired token accepted: %v", err)
	}
	// Rotation: both tokens valid until the old one is revoked.
	if _, _, err := s.TokenBySecretHash(ctx, hash2, now); err != nil {
		t.Errorf("second token during overlap: %v", err)
	}
	mustTx(t, s, func(tx storage.Tx) error { return tx.RevokeToken(ctx, f.tenant.ID, tk.ID, now) })
	if _, _, err := s.TokenBySecretHash(ctx, hash, now); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("revoked token accepted: %v", err)
	}
	mustTx(t, s, func(tx storage.Tx) error { return tx.TouchToken(ctx, tk2.ID, now) })
	list, err := s.Tokens(ctx, f.tenant.ID, f.conn.ID)
	if err != nil || len(list) != 2 || list[0].RevokedAt == nil || list[1].LastUsedAt == nil || !list[1].LastUsedAt.Equal(now) {
		t.Errorf("Tokens = %+v, %v", list, err)
	}
	err = s.Tx(ctx, func(tx storage.Tx) error { return tx.RevokeToken(ctx, f.tenant.ID, "nope", now) })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("revoke unknown token: %v, want ErrNotFound", err)
	}
}

func testUserCRUD(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	u := f.user("bjensen")
	u.ExternalID = "ext-1"
	u.Email = "bjensen@example.com"
	u.Profile = storage.Profile{DisplayName: "Babs Jensen", GivenName: "Barbara", Department: "Tour"}
	u.Values = []storage.Value{
		{Attr: "emails", Value: "bjensen@example.com", Type: "work", Primary: ptr(true)},
		{Attr: "emails", Value: "babs@jensen.org", Type: "home", Primary: ptr(false), Display: `"Babs" \ Jensen, ü`},
		{Attr: "addresses", Type: "work", Locality: "Hollywood", Country: "USA"},
	}
	createUsers(t, s, u)
	got, err := s.User(ctx, f.scope, u.ID)
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	if got.UserName != "bjensen" || got.ExternalID != "ext-1" || !got.Active || got.Profile != u.Profile ||
		got.Version != 1 || !got.CreatedAt.Equal(now) || string(got.Doc) != string(u.Doc) || got.Seq == 0 {
		t.Errorf("User = %+v, want %+v", got, u)
	}
	if !slices.Equal(sortedValues(got.Values), sortedValues(u.Values)) {
		t.Errorf("Values = %+v, want %+v", got.Values, u.Values)
	}
	mustTx(t, s, func(tx storage.Tx) error {
		l, err := tx.LockUser(ctx, f.scope, u.ID)
		if err != nil {
			return err
		}
		if !slices.Equal(sortedValues(l.Values), sortedValues(u.Values)) {
			return fmt.Errorf("LockUser: Values = %+v, want %+v", l.Values, u.Values)
		}
		l.Active = false
		l.ExternalID = ""
		l.Profile.GivenName = ""
		l.Values = l.Values[:1]
		l.Version++
		l.UpdatedAt = now.Add(time.Second)
		return tx.UpdateUser(ctx, l)
	})
	got, err = s.User(ctx, f.scope, u.ID)
	if err != nil || got.Active || got.ExternalID != "" || got.Profile.GivenName != "" || len(got.Values) != 1 ||
		got.Version != 2 || !got.UpdatedAt.Equal(now.Add(time.Second)) {
		t.Errorf("after update: %+v, %v", got, err)
	}
	mustTx(t, s, func(tx storage.Tx) error { return tx.DeleteUser(ctx, f.scope, u.ID, now) })
	if _, err := s.User(ctx, f.scope, u.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
	err = s.Tx(ctx, func(tx storage.Tx) error { return tx.DeleteUser(ctx, f.scope, u.ID, now) })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
}

// testLongValues stores the longest values the contract allows where they are indexed
// (MaxIndexedBytes, in letters that grow when lower-cased) and longer ones where they are not
// (a certificate, a photo URL), and finds each by a filter.
func testLongValues(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	// Random text, which PostgreSQL cannot compress into an index entry. "İ" lower-cases to
	// 1.5 times its bytes.
	rnd := rand.New(rand.NewPCG(1, 2))
	var lb strings.Builder
	for lb.Len()+len("İ") <= storage.MaxIndexedBytes {
		lb.WriteString([]string{"İ", "Ä", "x", "Ω"}[rnd.IntN(4)])
	}
	long := lb.String()
	der := make([]byte, 3000)
	for i := range der {
		der[i] = byte(rnd.Uint32())
	}
	cert := base64.StdEncoding.EncodeToString(der)
	photo := "https://photos.example.com/" + cert[:3000] + "ppp"
	u := f.user("long")
	u.ExternalID = long
	u.Values = []storage.Value{
		{Attr: "emails", Value: long, Type: "work"},
		{Attr: "roles", Value: long},
		{Attr: "x509Certificates", Value: cert},
		{Attr: "photos", Value: photo, Type: "photo"},
	}
	createUsers(t, s, u)
	g := f.group("long")
	g.ExternalID = long
	mustTx(t, s, func(tx storage.Tx) error { return tx.CreateGroup(ctx, g) })
	for _, flt := range []storage.Filter{
		storage.Compare{Field: storage.FieldExternalID, Op: storage.OpEq, Value: long},
		storage.Any{Set: storage.SetEmails, Where: storage.Compare{Field: storage.ElemValue, Op: storage.OpEq, Value: strings.ToLower(long), Fold: true}},
		storage.Any{Set: storage.SetX509Certificates, Where: storage.Compare{Field: storage.ElemValue, Op: storage.OpEq, Value: cert}},
		storage.Any{Set: storage.SetPhotos, Where: storage.Compare{Field: storage.ElemValue, Op: storage.OpEw, Value: "ppp"}},
	} {
		page, err := s.Users(ctx, f.scope, storage.Query{Filter: flt, Limit: 10})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != u.ID {
			t.Errorf("Users(%+v) = %d users, %v; want the long one", flt, len(page.Items), err)
		}
	}
	got, err := s.User(ctx, f.scope, u.ID)
	if err != nil || !slices.Equal(sortedValues(got.Values), sortedValues(u.Values)) {
		t.Errorf("User: values differ or %v", err)
	}
	gp, err := s.Groups(ctx, f.scope, storage.Query{Limit: 10, Filter: storage.Compare{Field: storage.FieldExternalID, Op: storage.OpEq, Value: long}})
	if err != nil || len(gp.Items) != 1 || gp.Items[0].ID != g.ID {
		t.Errorf("Groups by the long externalId = %+v, %v", gp.Items, err)
	}
}

// sortedValues renders values comparably (Primary is a pointer) in a fixed order.
func sortedValues(vs []storage.Value) []string {
	var out []string
	for _, v := range vs {
		p := "unset"
		if v.Primary != nil {
			p = fmt.Sprint(*v.Primary)
		}
		v.Primary = nil
		out = append(out, fmt.Sprintf("%+v primary=%s", v, p))
	}
	sort.Strings(out)
	return out
}

func ptr[T any](v T) *T { return &v }

// Both backends fold as rbac.Fold does: in the folded copies they store (userName
// uniqueness) and in SQL's fold() of a column compared case-insensitively (a title).
func testUnicodeFold(t *testing.T, s storage.Store) {
	f := setup(t, s, "acme")
	u := f.user("ΟΔΟΣ")
	u.Profile.Title = "ΣΟΦΊΑ ſ"
	createUsers(t, s, u)
	for _, name := range []string{"οδος", "οδοσ"} {
		err := s.Tx(t.Context(), func(tx storage.Tx) error { return tx.CreateUser(t.Context(), f.user(name)) })
		var ce *storage.ConflictError
		if !errors.As(err, &ce) || ce.Constraint != storage.UniqueUserName {
			t.Errorf("userName %q beside %q: %v, want ConflictError(userName)", name, u.UserName, err)
		}
	}
	for q, want := range map[string]bool{"σοφία s": true, "ΣΟΦΊΑ S": true, "σοφια s": false} {
		page, err := s.Users(t.Context(), f.scope, storage.Query{Limit: 10,
			Filter: storage.Compare{Field: storage.FieldTitle, Op: storage.OpEq, Value: rbac.Fold(q), Fold: true}})
		if err != nil || (len(page.Items) == 1) != want {
			t.Errorf("title eq %q: %d users, %v; want a match %v", q, len(page.Items), err, want)
		}
	}
	page, err := s.Users(t.Context(), f.scope, storage.Query{Limit: 10,
		Filter: storage.Compare{Field: storage.FieldUserName, Op: storage.OpEq, Value: rbac.Fold("οδος"), Fold: true}})
	if err != nil || len(page.Items) != 1 {
		t.Errorf("userName eq \"οδος\": %d users, %v; want ΟΔΟΣ", len(page.Items), err)
	}
}

func testUserNameUnique(t *testing.T, s storage.Store) {
	f := setup(t, s, "acme")
	createUsers(t, s, f.user("Emp1"))
	err := s.Tx(t.Context(), func(tx storage.Tx) error { return tx.CreateUser(t.Context(), f.user("eMP1")) })
	var ce *storage.ConflictError
	if !errors.As(err, &ce) || ce.Constraint != storage.UniqueUserName || !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("duplicate userName ignoring case: %v, want ConflictError(userName)", err)
	}
	// Unique in the tenant, not only in the connection.
	other := storage.Connection{ID: storage.NewID(), TenantID: f.tenant.ID, Name: "entra", Kind: storage.KindEntra, CreatedAt: now, UpdatedAt: now}
	mustTx(t, s, func(tx storage.Tx) error { return tx.CreateConnection(t.Context(), other) })
	u := f.user("EMP1")
	u.ConnectionID = other.ID
	err = s.Tx(t.Context(), func(tx storage.Tx) error { return tx.CreateUser(t.Context(), u) })
	if !errors.Is(err, storage.ErrConflict) {
		t.Errorf("same userName from another connection: %v, want ErrConflict", err)
	}
	// Another tenant may reuse it.
	g := setup(t, s, "globex")
	createUsers(t, s, g.user("emp1"))
}

// Ensure Store.CreateUser writes the user, its values and its audit event, or none of them.
func testCreateUserWithAudit(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	event := func(u storage.User) storage.AuditEvent {
		return storage.AuditEvent{ID: storage.NewID(), TenantID: f.tenant.ID, At: now, ActorType: "connection", ActorID: f.conn.ID,
			Action: "scim.user.create", TargetType: "user", TargetID: u.ID, Result: "success", Cause: "scim"}
	}
	yes := true
	u := f.user("alice")
	u.Values = []storage.Value{
		{Attr: "emails", Value: "alice@example.com", Type: "work", Primary: &yes},
		{Attr: "emails", Value: "alice@home.example", Type: "home"},
		{Attr: "phoneNumbers", Value: "+1 555 0100", Type: "work"},
	}
	first := event(u)
	if err := s.CreateUser(ctx, u, first); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, err := s.User(ctx, f.scope, u.ID)
	if err != nil || got.UserName != "alice" || len(got.Values) != 3 || got.Values[0].Primary == nil || !*got.Values[0].Primary ||
		got.Values[1].Value != "alice@home.example" || got.Values[2].Attr != "phoneNumbers" {
		t.Fatalf("User = %+v, %v", got, err)
	}
	events := func(targetID string) (n int) {
		err := s.AuditEvents(ctx, f.tenant.ID, storage.AuditQuery{TargetID: targetID}, func(storage.AuditEvent) error { n++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := events(u.ID); n != 1 {
		t.Errorf("audit events of the new user = %d, want 1", n)
	}

	// A taken userName: a conflict naming the constraint, and no audit event.
	dup := f.user("ALICE")
	err = s.CreateUser(ctx, dup, event(dup))
	var ce *storage.ConflictError
	if !errors.As(err, &ce) || ce.Constraint != storage.UniqueUserName {
		t.Errorf("taken userName: %v, want ConflictError(userName)", err)
	}
	if n := events(dup.ID); n != 0 {
		t.Errorf("a failed create left %d audit events", n)
	}

	// An audit event that cannot be written takes the user with it.
	bob := f.user("bob")
	bob.Values = []storage.Value{{Attr: "emails", Value: "bob@example.com"}}
	bad := event(bob)
	bad.ID = first.ID // taken
	if err := s.CreateUser(ctx, bob, bad); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("audit event id taken: %v, want ErrConflict", err)
	}
	if _, err := s.User(ctx, f.scope, bob.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the user of a failed audit write exists: %v", err)
	}
	page, err := s.Users(ctx, f.scope, storage.Query{Limit: 10, Count: true,
		Filter: storage.Any{Set: storage.SetEmails, Where: storage.Compare{Field: storage.ElemValue, Op: storage.OpEq, Value: "bob@example.com"}}})
	if err != nil || page.Total != 0 {
		t.Errorf("values of the failed create: %+v, %v", page, err)
	}
	// And the name is free again.
	if err := s.CreateUser(ctx, bob, event(bob)); err != nil {
		t.Errorf("bob after the failed create: %v", err)
	}
}

func testScopeIsolation(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	u := f.user("alice")
	createUsers(t, s, u, f.user("bob"))
	g := setup(t, s, "globex")
	// A page past the first counts, and skips to its first row, by the connection's index
	// (listing.from): the right scope sees bob there, and no other scope sees anything.
	if page, err := s.Users(ctx, f.scope, storage.Query{Limit: 10, Offset: 1, Count: true}); err != nil ||
		page.Total != 2 || len(page.Items) != 1 || page.Items[0].UserName != "bob" {
		t.Errorf("second page of the connection: %+v, %v", page, err)
	}
	for name, scope := range map[string]storage.Scope{
		"other tenant":                   g.scope,
		"other connection":               {TenantID: f.tenant.ID, ConnectionID: storage.NewID()},
		"connection of the other tenant": {TenantID: g.tenant.ID, ConnectionID: f.conn.ID},
	} {
		if _, err := s.User(ctx, scope, u.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s: User = %v, want ErrNotFound", name, err)
		}
		for _, offset := range []int{0, 1} {
			page, err := s.Users(ctx, scope, storage.Query{Limit: 10, Offset: offset, Count: true})
			if err != nil || page.Total != 0 || len(page.Items) != 0 {
				t.Errorf("%s, offset %d: Users = %+v, %v", name, offset, page, err)
			}
		}
		err := s.Tx(ctx, func(tx storage.Tx) error { return tx.DeleteUser(ctx, scope, u.ID, now) })
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s: DeleteUser = %v, want ErrNotFound", name, err)
		}
	}
	// The tenant-wide scope sees it.
	if _, err := s.User(ctx, storage.Scope{TenantID: f.tenant.ID}, u.ID); err != nil {
		t.Errorf("tenant scope: %v", err)
	}
}

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

func userIDs(us []storage.User) []string {
	return ids(us, func(u storage.User) string { return u.UserName })
}

func testFilters(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	a := f.user("alice")
	a.ExternalID = "A-1"
	a.Profile = storage.Profile{Title: "Engineer", GivenName: "Alice", Department: "R&D"}
	a.Values = []storage.Value{{Attr: "emails", Value: "Alice@Example.com", Type: "work", Primary: ptr(true)}}
	b := f.user("Bob")
	b.Active = false
	b.Profile = storage.Profile{Title: "engineer"}
	b.Values = []storage.Value{{Attr: "emails", Value: "bob@example.org", Type: "home"}}
	c := f.user("carol_100%")
	c.CreatedAt = now.Add(time.Hour)
	createUsers(t, s, a, b, c)
	// Another tenant's user with alice's email: a lookup by value finds the scope's users
	// only, whichever form the backend writes it in.
	other := setup(t, s, "other")
	o := other.user("alice")
	o.Values = []storage.Value{{Attr: "emails", Value: "alice@example.com", Type: "work"}}
	createUsers(t, s, o)
	grp := f.group("admins")
	mustTx(t, s, func(tx storage.Tx) error {
		if err := tx.CreateGroup(ctx, grp); err != nil {
			return err
		}
		_, _, err := tx.AddMembers(ctx, f.scope, grp.ID, []string{a.ID})
		return err
	})
	work := storage.Compare{Field: storage.ElemType, Op: storage.OpEq, Value: "work"}
	tests := []struct {
		name   string
		filter storage.Filter
		want   []string
	}{
		{"userName eq folds", storage.Compare{Field: storage.FieldUserName, Op: storage.OpEq, Value: "BOB", Fold: true}, []string{"Bob"}},
		{"userName eq exact", storage.Compare{Field: storage.FieldUserName, Op: storage.OpEq, Value: "BOB"}, nil},
		{"externalId eq", storage.Compare{Field: storage.FieldExternalID, Op: storage.OpEq, Value: "A-1"}, []string{"alice"}},
		{"ne includes absent", storage.Compare{Field: storage.FieldExternalID, Op: storage.OpNe, Value: "A-1"}, []string{"Bob", "carol_100%"}},
		{"present", storage.Compare{Field: storage.FieldTitle, Op: storage.OpPresent}, []string{"alice", "Bob"}},
		{"not present", storage.Not{Filter: storage.Compare{Field: storage.FieldTitle, Op: storage.OpPresent}}, []string{"carol_100%"}},
		{"co is literal", storage.Compare{Field: storage.FieldUserName, Op: storage.OpCo, Value: "_100%"}, []string{"carol_100%"}},
		{"co wildcard not special", storage.Compare{Field: storage.FieldUserName, Op: storage.OpCo, Value: "%"}, []string{"carol_100%"}},
		{"sw case-sensitive", storage.Compare{Field: storage.FieldTitle, Op: storage.OpSw, Value: "Eng"}, []string{"alice"}},
		{"sw folded", storage.Compare{Field: storage.FieldTitle, Op: storage.OpSw, Value: "ENG", Fold: true}, []string{"alice", "Bob"}},
		{"ew", storage.Compare{Field: storage.FieldUserName, Op: storage.OpEw, Value: "ob"}, []string{"Bob"}},
		{"gt string by code point", storage.Compare{Field: storage.FieldUserName, Op: storage.OpGt, Value: "a"}, []string{"alice", "carol_100%"}},
		{"active eq false", storage.Compare{Field: storage.FieldActive, Op: storage.OpEq, Value: false}, []string{"Bob"}},
		{"created gt", storage.Compare{Field: storage.FieldCreated, Op: storage.OpGt, Value: now}, []string{"carol_100%"}},
		{"created le", storage.Compare{Field: storage.FieldCreated, Op: storage.OpLe, Value: now}, []string{"alice", "Bob"}},
		{"type mismatch never matches", storage.Compare{Field: storage.FieldActive, Op: storage.OpEq, Value: "true"}, nil},
		{"emails value folded", storage.Any{Set: storage.SetEmails, Where: storage.Compare{Field: storage.ElemValue, Op: storage.OpEq, Value: "alice@example.COM", Fold: true}}, []string{"alice"}},
		{"emails work and value eq", storage.Any{Set: storage.SetEmails, Where: storage.And{Left: work, Right: storage.Compare{Field: storage.ElemValue, Op: storage.OpEq, Value: "alice@example.com", Fold: true}}}, []string{"alice"}},
		{"emails value eq or value eq", storage.Any{Set: storage.SetEmails, Where: storage.Or{
			Left:  storage.Compare{Field: storage.ElemValue, Op: storage.OpEq, Value: "alice@example.com", Fold: true},
			Right: storage.Compare{Field: storage.ElemValue, Op: storage.OpEq, Value: "BOB@example.org", Fold: true}}}, []string{"alice", "Bob"}},
		{"not emails value eq", storage.Not{Filter: storage.Any{Set: storage.SetEmails, Where: storage.Compare{Field: storage.ElemValue, Op: storage.OpEq, Value: "bob@example.org", Fold: true}}}, []string{"alice", "carol_100%"}},
		{"emails work and value", storage.Any{Set: storage.SetEmails, Where: storage.And{Left: work, Right: storage.Compare{Field: storage.ElemValue, Op: storage.OpCo, Value: "example", Fold: true}}}, []string{"alice"}},
		{"emails primary", storage.Any{Set: storage.SetEmails, Where: storage.Compare{Field: storage.ElemPrimary, Op: storage.OpEq, Value: true}}, []string{"alice"}},
		{"emails present", storage.Any{Set: storage.SetEmails}, []string{"alice", "Bob"}},
		{"not any", storage.Not{Filter: storage.Any{Set: storage.SetEmails, Where: work}}, []string{"Bob", "carol_100%"}},
		{"groups value", storage.Any{Set: storage.SetGroups, Where: storage.Compare{Field: storage.ElemValue, Op: storage.OpEq, Value: grp.ID}}, []string{"alice"}},
		{"or and", storage.Or{Left: storage.Compare{Field: storage.FieldUserName, Op: storage.OpEq, Value: "alice"},
			Right: storage.And{Left: storage.Compare{Field: storage.FieldActive, Op: storage.OpEq, Value: false}, Right: storage.Compare{Field: storage.FieldTitle, Op: storage.OpPresent}}},
			[]string{"alice", "Bob"}},
		{"const false", storage.Const(false), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := s.Users(ctx, f.scope, storage.Query{Filter: tt.filter, Limit: 100, Count: true})
			if err != nil {
				t.Fatalf("Users: %v", err)
			}
			if got := userIDs(page.Items); !slices.Equal(got, tt.want) || page.Total != len(tt.want) {
				t.Errorf("got %v (total %d), want %v", got, page.Total, tt.want)
			}
		})
	}
	gp, err := s.Groups(ctx, f.scope, storage.Query{Limit: 10, Count: true, Filter: storage.And{
		Left:  storage.Compare{Field: storage.FieldDisplayName, Op: storage.OpEq, Value: "ADMINS", Fold: true},
		Right: storage.Any{Set: storage.SetMembers, Where: storage.Compare{Field: storage.ElemValue, Op: storage.OpEq, Value: a.ID}},
	}})
	if err != nil || gp.Total != 1 || len(gp.Items) != 1 || gp.Items[0].ID != grp.ID {
		t.Errorf("group filter: %+v, %v", gp, err)
	}
}

func testIndexPaging(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	var all []storage.User
	for i := range 25 {
		all = append(all, f.user(fmt.Sprintf("user%02d", i)))
	}
	createUsers(t, s, all...)
	var seen []string
	for off := 0; off < 30; off += 10 {
		page, err := s.Users(ctx, f.scope, storage.Query{Offset: off, Limit: 10, Count: true})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 25 {
			t.Errorf("Total = %d, want 25", page.Total)
		}
		seen = append(seen, userIDs(page.Items)...)
	}
	if want := userIDs(all); !slices.Equal(seen, want) {
		t.Errorf("pages = %v, want %v", seen, want)
	}
	page, err := s.Users(ctx, f.scope, storage.Query{Limit: 0, Count: true})
	if err != nil || page.Total != 25 || len(page.Items) != 0 {
		t.Errorf("count only: %+v, %v", page, err)
	}
	page, err = s.Users(ctx, f.scope, storage.Query{Limit: 5, Offset: 1, SortBy: storage.FieldUserName, Descending: true})
	if err != nil || !slices.Equal(userIDs(page.Items), []string{"user23", "user22", "user21", "user20", "user19"}) {
		t.Errorf("sorted desc page: %v, %v", userIDs(page.Items), err)
	}
	// Offsets in seq order, against a slice of the same rows: filtered (with a subquery of
	// the filter's own), descending, and past the end.
	odd := storage.Or{
		Left:  storage.Compare{Field: storage.FieldUserName, Op: storage.OpEw, Value: "1"},
		Right: storage.Any{Set: storage.SetEmails, Where: storage.Compare{Field: storage.ElemValue, Op: storage.OpEq, Value: "nobody@example.com"}},
	}
	var ones []string
	for _, u := range all {
		if strings.HasSuffix(u.UserName, "1") {
			ones = append(ones, u.UserName)
		}
	}
	rev := slices.Clone(userIDs(all))
	slices.Reverse(rev)
	for _, tc := range []struct {
		name string
		q    storage.Query
		want []string
	}{
		{"filtered", storage.Query{Filter: odd, Offset: 1, Limit: 2}, ones[1:3]},
		{"descending", storage.Query{Descending: true, Offset: 3, Limit: 4}, rev[3:7]},
		{"last rows", storage.Query{Offset: 23, Limit: 10}, userIDs(all)[23:]},
		{"past the end", storage.Query{Offset: 25, Limit: 10}, nil},
	} {
		page, err := s.Users(ctx, f.scope, tc.q)
		if err != nil || !slices.Equal(userIDs(page.Items), tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, userIDs(page.Items), err, tc.want)
		}
	}
}

func testKeysetPaging(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	var all []storage.User
	for i := range 23 {
		all = append(all, f.user(fmt.Sprintf("user%02d", i)))
	}
	createUsers(t, s, all...)
	var seen []string
	q := storage.Query{Limit: 5}
	for i := 0; ; i++ {
		page, err := s.Users(ctx, f.scope, q)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, userIDs(page.Items)...)
		if i == 1 {
			// Deleting a seen user and creating a new one mid-listing neither repeats nor
			// skips anyone who was there all along.
			mustTx(t, s, func(tx storage.Tx) error { return tx.DeleteUser(ctx, f.scope, all[0].ID, now) })
			createUsers(t, s, f.user("zz-late"))
		}
		if page.Next == nil {
			break
		}
		q.After = page.Next
	}
	want := append(userIDs(all), "zz-late")
	if !slices.Equal(seen, want) {
		t.Errorf("keyset pages = %v, want %v", seen, want)
	}
}

// keysetAll pages through q by keyset and returns the user names seen, in order.
func keysetAll(t *testing.T, s storage.Store, scope storage.Scope, q storage.Query) []string {
	t.Helper()
	var seen []string
	for {
		page, err := s.Users(t.Context(), scope, q)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, userIDs(page.Items)...)
		if page.Next == nil {
			return seen
		}
		q.After = page.Next
	}
}

func testSortedKeysetPaging(t *testing.T, s storage.Store) {
	f := setup(t, s, "acme")
	names := []string{"delta", "Alpha", "charlie", "bravo", "echo", "alpha2"}
	var us []storage.User
	for i, n := range names {
		u := f.user(n)
		if i%2 == 0 {
			u.Profile.Title = n
		}
		us = append(us, u)
	}
	createUsers(t, s, us...)
	for _, desc := range []bool{false, true} {
		seen := keysetAll(t, s, f.scope, storage.Query{Limit: 2, SortBy: storage.FieldTitle, SortFold: true, Descending: desc})
		// Titles: delta, charlie, echo; absent ones sort last in creation order.
		want := []string{"charlie", "delta", "echo", "Alpha", "bravo", "alpha2"}
		if desc {
			want = []string{"echo", "delta", "charlie", "alpha2", "bravo", "Alpha"}
		}
		if !slices.Equal(seen, want) {
			t.Errorf("desc=%v: %v, want %v", desc, seen, want)
		}
	}

	// By a value set: the primary value, else the first.
	g := setup(t, s, "globex")
	email := func(v string, primary *bool) storage.Value {
		return storage.Value{Attr: "emails", Value: v, Primary: primary}
	}
	x, y, z, w := g.user("x"), g.user("y"), g.user("z"), g.user("w")
	x.Values = []storage.Value{email("A@example", ptr(false)), email("zed@example", ptr(true))}
	y.Values = []storage.Value{email("m@example", nil)}
	w.Values = []storage.Value{email("B@example", nil), email("y@example", nil)}
	createUsers(t, s, x, y, z, w)
	for _, desc := range []bool{false, true} {
		seen := keysetAll(t, s, g.scope, storage.Query{Limit: 1, SortBy: storage.PrimaryValue(storage.SetEmails), SortFold: true, Descending: desc})
		want := []string{"w", "y", "x", "z"} // b@, m@, zed@; z has none and sorts last
		if desc {
			want = []string{"x", "y", "w", "z"}
		}
		if !slices.Equal(seen, want) {
			t.Errorf("by the primary email, desc=%v: %v, want %v", desc, seen, want)
		}
	}

	// By a boolean and by a time: a position keeps each as its column's type (PostgreSQL
	// will not compare a boolean column with an integer).
	h := setup(t, s, "initech")
	var bs []storage.User
	for i, n := range []string{"b0", "b1", "b2", "b3", "b4"} {
		u := h.user(n)
		u.Active = i%2 == 0
		u.CreatedAt = now.Add(-time.Duration(i) * time.Second) // the later made, the earlier dated
		bs = append(bs, u)
	}
	createUsers(t, s, bs...)
	for _, desc := range []bool{false, true} {
		seen := keysetAll(t, s, h.scope, storage.Query{Limit: 2, SortBy: storage.FieldActive, Descending: desc})
		want := []string{"b1", "b3", "b0", "b2", "b4"} // false before true, then in creation order
		if desc {
			want = []string{"b4", "b2", "b0", "b3", "b1"}
		}
		if !slices.Equal(seen, want) {
			t.Errorf("by active, desc=%v: %v, want %v", desc, seen, want)
		}
		seen = keysetAll(t, s, h.scope, storage.Query{Limit: 2, SortBy: storage.FieldCreated, Descending: desc})
		want = []string{"b4", "b3", "b2", "b1", "b0"}
		if desc {
			want = []string{"b0", "b1", "b2", "b3", "b4"}
		}
		if !slices.Equal(seen, want) {
			t.Errorf("by created, desc=%v: %v, want %v", desc, seen, want)
		}
	}
}

func testGroupNameUnique(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	g := f.group("data_engineers")
	mustTx(t, s, func(tx storage.Tx) error { return tx.CreateGroup(ctx, g) })
	dup := f.group("data_engineers")
	dup.DisplayName = "Data Engineers"
	err := s.Tx(ctx, func(tx storage.Tx) error { return tx.CreateGroup(ctx, dup) })
	var ce *storage.ConflictError
	if !errors.As(err, &ce) || ce.Constraint != storage.UniqueGroupName {
		t.Fatalf("same normalized name: %v, want ConflictError(group name)", err)
	}
	got, err := s.GroupByName(ctx, f.scope, "data_engineers")
	if err != nil || got.ID != g.ID {
		t.Errorf("GroupByName = %+v, %v", got, err)
	}
}

func memberIDs(t *testing.T, s storage.Store, scope storage.Scope, groupID string) []string {
	t.Helper()
	var out []string
	err := s.Members(t.Context(), scope, groupID, func(m storage.Member) error {
		out = append(out, m.ID)
		return nil
	})
	if err != nil {
		t.Fatalf("Members: %v", err)
	}
	sort.Strings(out)
	return out
}

func testMembers(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	var us []storage.User
	var uids []string
	for i := range 5 {
		u := f.user(fmt.Sprintf("m%d", i))
		us = append(us, u)
		uids = append(uids, u.ID)
	}
	createUsers(t, s, us...)
	sorted := slices.Clone(uids)
	sort.Strings(sorted)
	g := f.group("g")
	nested := f.group("nested")
	stranger := setup(t, s, "globex").user("stranger")
	createUsers(t, s, stranger)
	mustTx(t, s, func(tx storage.Tx) error {
		if err := tx.CreateGroup(ctx, g); err != nil {
			return err
		}
		return tx.CreateGroup(ctx, nested)
	})
	var added, removed, missing []string
	mustTx(t, s, func(tx storage.Tx) error {
		var err error
		added, missing, err = tx.AddMembers(ctx, f.scope, g.ID, []string{uids[0], uids[1], uids[1], "ghost", stranger.ID, g.ID})
		return err
	})
	if len(added) != 2 || !slices.Equal(missing, []string{"ghost", stranger.ID, g.ID}) {
		t.Errorf("AddMembers = %v, %v; want 2 added, ghost+stranger+self missing", added, missing)
	}
	mustTx(t, s, func(tx storage.Tx) error {
		var err error
		added, _, err = tx.AddMembers(ctx, f.scope, g.ID, []string{uids[0], nested.ID})
		return err
	})
	if !slices.Equal(added, []string{nested.ID}) {
		t.Errorf("re-adding a member added %v, want only the new one", added)
	}
	var m []storage.Member
	_ = s.Members(ctx, f.scope, g.ID, func(x storage.Member) error { m = append(m, x); return nil })
	types := map[string]string{}
	for _, x := range m {
		types[x.ID] = x.Type + ":" + x.Display
	}
	if types[nested.ID] != "Group:nested" || types[uids[0]] != "User:m0" {
		t.Errorf("member types/display = %v", types)
	}
	mustTx(t, s, func(tx storage.Tx) error {
		var err error
		removed, err = tx.RemoveMembers(ctx, f.scope, g.ID, []string{nested.ID, "not-a-member"})
		return err
	})
	if !slices.Equal(removed, []string{nested.ID}) {
		t.Errorf("RemoveMembers removed %v, want the nested group", removed)
	}
	mustTx(t, s, func(tx storage.Tx) error {
		var err error
		added, removed, missing, err = tx.ReplaceMembers(ctx, f.scope, g.ID, []string{uids[2], uids[3], uids[1], "ghost"})
		return err
	})
	want := []string{uids[1], uids[2], uids[3]}
	sort.Strings(want)
	if got := memberIDs(t, s, f.scope, g.ID); !slices.Equal(got, want) || len(added) != 2 || !slices.Equal(removed, []string{uids[0]}) || !slices.Equal(missing, []string{"ghost"}) {
		t.Errorf("ReplaceMembers: members %v (added %v removed %v missing %v), want %v", got, added, removed, missing, want)
	}
	mustTx(t, s, func(tx storage.Tx) error {
		var err error
		removed, err = tx.RemoveMembersWhere(ctx, f.scope, g.ID, storage.Or{
			Left:  storage.Compare{Field: storage.ElemValue, Op: storage.OpEq, Value: uids[2]},
			Right: storage.Compare{Field: storage.ElemDisplay, Op: storage.OpEq, Value: "m3"},
		})
		return err
	})
	if got := memberIDs(t, s, f.scope, g.ID); len(removed) != 2 || !slices.Equal(got, []string{uids[1]}) {
		t.Errorf("RemoveMembersWhere: removed %v, left %v", removed, got)
	}
	refs, err := s.GroupsOfUsers(ctx, f.scope, []string{uids[1], uids[4]})
	if err != nil || len(refs[uids[1]]) != 1 || refs[uids[1]][0].ID != g.ID || len(refs[uids[4]]) != 0 {
		t.Errorf("GroupsOfUsers = %v, %v", refs, err)
	}
	mustTx(t, s, func(tx storage.Tx) error {
		n, err := tx.CountMembersWhere(ctx, f.scope, g.ID, nil)
		if err == nil && n != 1 {
			return fmt.Errorf("CountMembersWhere = %d, want 1", n)
		}
		_, _, _, err = tx.ReplaceMembers(ctx, f.scope, g.ID, nil)
		return err
	})
	if got := memberIDs(t, s, f.scope, g.ID); len(got) != 0 {
		t.Errorf("replace with nothing left %v", got)
	}
}

// Ensure a listing with WithGroups, User and LockUser give a user the groups GroupsOfUsers
// gives: in creation order, of the scope only; and a listing none when not asked.
func testUsersWithGroups(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	us := []storage.User{f.user("wg0"), f.user("wg1"), f.user("wg2")}
	createUsers(t, s, us...)
	zeta, odd := f.group("zeta"), f.group(`"Ünïcode" \ group`)
	other := storage.Connection{ID: storage.NewID(), TenantID: f.tenant.ID, Name: "entra", Kind: storage.KindEntra, CreatedAt: now, UpdatedAt: now}
	elsewhere := f.group("elsewhere")
	elsewhere.ConnectionID = other.ID
	tenantScope := storage.Scope{TenantID: f.tenant.ID}
	mustTx(t, s, func(tx storage.Tx) error {
		if err := tx.CreateConnection(ctx, other); err != nil {
			return err
		}
		for _, g := range []storage.Group{zeta, odd, elsewhere} {
			if err := tx.CreateGroup(ctx, g); err != nil {
				return err
			}
		}
		// Added in the other order than the groups were made, which is the order listed.
		for _, m := range []struct {
			g   storage.Group
			ids []string
		}{{odd, []string{us[0].ID, us[1].ID}}, {zeta, []string{us[0].ID}}, {elsewhere, []string{us[0].ID}}} {
			if _, missing, err := tx.AddMembers(ctx, tenantScope, m.g.ID, m.ids); err != nil || len(missing) > 0 {
				return fmt.Errorf("AddMembers(%s): missing %v, %w", m.g.DisplayName, missing, err)
			}
		}
		return nil
	})
	ref := func(g storage.Group) storage.GroupRef { return storage.GroupRef{ID: g.ID, DisplayName: g.DisplayName} }
	for _, c := range []struct {
		name  string
		scope storage.Scope
		q     storage.Query
		order []int
		want  map[string][]storage.GroupRef
	}{
		{"connection", f.scope, storage.Query{Limit: 10, WithGroups: true}, []int{0, 1, 2},
			map[string][]storage.GroupRef{us[0].ID: {ref(zeta), ref(odd)}, us[1].ID: {ref(odd)}}},
		{"tenant", tenantScope, storage.Query{Limit: 10, WithGroups: true}, []int{0, 1, 2},
			map[string][]storage.GroupRef{us[0].ID: {ref(zeta), ref(odd), ref(elsewhere)}, us[1].ID: {ref(odd)}}},
		{"sorted, filtered", f.scope, storage.Query{Limit: 10, WithGroups: true, SortBy: storage.FieldUserName, Descending: true,
			Filter: storage.Compare{Field: storage.FieldUserName, Op: storage.OpSw, Value: "wg", Fold: true}}, []int{2, 1, 0},
			map[string][]storage.GroupRef{us[0].ID: {ref(zeta), ref(odd)}, us[1].ID: {ref(odd)}}},
		{"not asked", f.scope, storage.Query{Limit: 10}, []int{0, 1, 2}, map[string][]storage.GroupRef{}},
	} {
		page, err := s.Users(ctx, c.scope, c.q)
		if err != nil {
			t.Fatalf("%s: Users: %v", c.name, err)
		}
		if len(page.Items) != len(c.order) {
			t.Fatalf("%s: %d users, want %d", c.name, len(page.Items), len(c.order))
		}
		for i, u := range page.Items {
			if u.ID != us[c.order[i]].ID {
				t.Errorf("%s: user %d is %s, want %s", c.name, i, u.UserName, us[c.order[i]].UserName)
			}
			if want := c.want[u.ID]; !slices.Equal(u.Groups, want) {
				t.Errorf("%s: groups of %s = %v, want %v", c.name, u.UserName, u.Groups, want)
			}
		}
		if !c.q.WithGroups {
			continue
		}
		refs, err := s.GroupsOfUsers(ctx, c.scope, []string{us[0].ID, us[1].ID, us[2].ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Items {
			if !slices.Equal(u.Groups, refs[u.ID]) {
				t.Errorf("%s: listed groups of %s = %v, GroupsOfUsers = %v", c.name, u.UserName, u.Groups, refs[u.ID])
			}
		}
	}
	// User and LockUser read the groups of their scope too.
	for _, c := range []struct {
		scope storage.Scope
		want  []storage.GroupRef
	}{{f.scope, []storage.GroupRef{ref(zeta), ref(odd)}}, {tenantScope, []storage.GroupRef{ref(zeta), ref(odd), ref(elsewhere)}}} {
		if u, err := s.User(ctx, c.scope, us[0].ID); err != nil || !slices.Equal(u.Groups, c.want) {
			t.Errorf("User in %+v: groups %v, %v; want %v", c.scope, u.Groups, err, c.want)
		}
		mustTx(t, s, func(tx storage.Tx) error {
			if u, err := tx.LockUser(ctx, c.scope, us[0].ID); err != nil || !slices.Equal(u.Groups, c.want) {
				return fmt.Errorf("LockUser in %+v: groups %v, %v; want %v", c.scope, u.Groups, err, c.want)
			}
			return nil
		})
	}
	if u, err := s.User(ctx, f.scope, us[2].ID); err != nil || u.Groups != nil {
		t.Errorf("User of no group: groups %v, %v", u.Groups, err)
	}
	// Second pages, by index (with the count) and by cursor, sorted and not.
	for _, sortBy := range []storage.Field{"", storage.FieldUserName} {
		q := storage.Query{Limit: 1, Offset: 1, Count: true, WithGroups: true, SortBy: sortBy}
		byIndex, err := s.Users(ctx, f.scope, q)
		if err != nil || byIndex.Total != 3 || len(byIndex.Items) != 1 || byIndex.Items[0].ID != us[1].ID ||
			!slices.Equal(byIndex.Items[0].Groups, []storage.GroupRef{ref(odd)}) {
			t.Errorf("sortBy %q: second page by index = %+v, %v", sortBy, byIndex, err)
		}
		q.Offset, q.Count = 0, false
		first, err := s.Users(ctx, f.scope, q)
		if err != nil || first.Next == nil {
			t.Fatalf("sortBy %q: first page = %+v, %v", sortBy, first, err)
		}
		q.After = first.Next
		byCursor, err := s.Users(ctx, f.scope, q)
		if err != nil || len(byCursor.Items) != 1 || byCursor.Items[0].ID != us[1].ID ||
			!slices.Equal(byCursor.Items[0].Groups, []storage.GroupRef{ref(odd)}) {
			t.Errorf("sortBy %q: second page by cursor = %+v, %v", sortBy, byCursor, err)
		}
	}
}

// Ensure LockUser, when it waited for another transaction that changed the user, returns
// that transaction's values with its row: a write of what it read must not bring back the
// values the other transaction replaced.
func testLockUserSeesCommittedValues(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	u := f.user("racer")
	u.Values = []storage.Value{{Attr: "emails", Value: "old@example.com"}}
	createUsers(t, s, u)
	release, first := holdTx(t, s, func(tx storage.Tx) error {
		l, err := tx.LockUser(ctx, f.scope, u.ID)
		if err != nil {
			return err
		}
		l.Values = []storage.Value{{Attr: "emails", Value: "new@example.com"}}
		l.Version++
		return tx.UpdateUser(ctx, l)
	})
	var got storage.User
	second := make(chan error, 1)
	go func() {
		second <- s.Tx(ctx, func(tx storage.Tx) error {
			var err error
			got, err = tx.LockUser(ctx, f.scope, u.ID)
			return err
		})
	}()
	// Give the second transaction time to reach the lock and wait on it; if it has not, it
	// reads after the commit and the test checks less, but cannot fail wrongly.
	time.Sleep(300 * time.Millisecond)
	release()
	if err := <-first; err != nil {
		t.Fatalf("first transaction: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("second transaction: %v", err)
	}
	if got.Version != 2 || len(got.Values) != 1 || got.Values[0].Value != "new@example.com" {
		t.Errorf("LockUser after the writer committed: version %d, values %+v; want version 2 with new@example.com",
			got.Version, got.Values)
	}
}

func testDeleteCascades(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	u := f.user("u")
	createUsers(t, s, u)
	g, h, other := f.group("g"), f.group("h"), f.group("other")
	mustTx(t, s, func(tx storage.Tx) error {
		for _, x := range []storage.Group{g, h, other} {
			if err := tx.CreateGroup(ctx, x); err != nil {
				return err
			}
		}
		if _, _, err := tx.AddMembers(ctx, f.scope, g.ID, []string{u.ID, h.ID}); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, storage.AuditEvent{TenantID: f.tenant.ID, At: now, ActorType: "connection",
			ActorID: f.conn.ID, Action: "scim.user.create", TargetType: "user", TargetID: u.ID, Result: "success", Cause: "scim"})
	})
	// Each deletion changes g's members, so each moves its version and lastModified.
	later := now.Add(time.Hour)
	mustTx(t, s, func(tx storage.Tx) error { return tx.DeleteUser(ctx, f.scope, u.ID, later) })
	if got, err := s.Group(ctx, f.scope, g.ID); err != nil || got.Version != g.Version+1 || !got.UpdatedAt.Equal(later) {
		t.Errorf("the group a deleted user was in: version %d, updated %v, %v; want %d, %v", got.Version, got.UpdatedAt, err, g.Version+1, later)
	}
	mustTx(t, s, func(tx storage.Tx) error { return tx.DeleteGroup(ctx, f.scope, h.ID, later.Add(time.Hour)) })
	if got, err := s.Group(ctx, f.scope, g.ID); err != nil || got.Version != g.Version+2 || !got.UpdatedAt.Equal(later.Add(time.Hour)) {
		t.Errorf("the group a deleted group was in: version %d, updated %v, %v; want %d", got.Version, got.UpdatedAt, err, g.Version+2)
	}
	if got, err := s.Group(ctx, f.scope, other.ID); err != nil || got.Version != other.Version || !got.UpdatedAt.Equal(other.UpdatedAt) {
		t.Errorf("a group neither was in: version %d, updated %v, %v; want it unchanged", got.Version, got.UpdatedAt, err)
	}
	if got := memberIDs(t, s, f.scope, g.ID); len(got) != 0 {
		t.Errorf("members after deleting them: %v", got)
	}
	var n int
	_ = s.AuditEvents(ctx, f.tenant.ID, storage.AuditQuery{TargetID: u.ID}, func(storage.AuditEvent) error { n++; return nil })
	if n != 1 {
		t.Errorf("audit events of a deleted user: %d, want 1 (kept)", n)
	}
}

func testTxRollsBack(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, f.user("ghost")); err != nil {
			return err
		}
		// The transaction sees its own write.
		page, err := tx.Users(ctx, f.scope, storage.Query{Limit: 1, Count: true})
		if err != nil || page.Total != 1 {
			return fmt.Errorf("in-tx read: %+v, %v", page, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx error = %v, want fn's error", err)
	}
	page, err := s.Users(ctx, f.scope, storage.Query{Count: true})
	if err != nil || page.Total != 0 {
		t.Errorf("after rollback: %+v, %v", page, err)
	}
}

func testAudit(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	mustTx(t, s, func(tx storage.Tx) error {
		for i, action := range []string{"scim.user.create", "scim.user.patch", "scim.group.create"} {
			e := storage.AuditEvent{TenantID: f.tenant.ID, At: now.Add(time.Duration(i) * time.Second), ActorType: "connection",
				ActorID: f.conn.ID, Action: action, TargetType: "user", TargetID: fmt.Sprint("t", i%2), Result: "success",
				Cause: "scim", RequestID: "req", SourceIP: "10.0.0.1", After: json.RawMessage(`{"userName":"x"}`)}
			if err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	var got []string
	collect := func(e storage.AuditEvent) error { got = append(got, e.Action); return nil }
	if err := s.AuditEvents(ctx, f.tenant.ID, storage.AuditQuery{}, collect); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"scim.group.create", "scim.user.patch", "scim.user.create"}) {
		t.Errorf("all events newest first = %v", got)
	}
	// Paging by position visits each event once, also among events of one instant.
	mustTx(t, s, func(tx storage.Tx) error {
		for range 3 {
			if err := tx.AppendAudit(ctx, storage.AuditEvent{TenantID: f.tenant.ID, At: now, ActorType: "system", ActorID: "x",
				Action: "same.instant", TargetType: "user", TargetID: "t9", Result: "success", Cause: "test"}); err != nil {
				return err
			}
		}
		return nil
	})
	var pos *storage.AuditPosition
	var paged []int64
	for range 10 {
		n := 0
		err := s.AuditEvents(ctx, f.tenant.ID, storage.AuditQuery{Limit: 2, Before: pos}, func(e storage.AuditEvent) error {
			paged = append(paged, e.Seq)
			pos = &storage.AuditPosition{At: e.At, Seq: e.Seq}
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n < 2 {
			break
		}
	}
	if len(paged) != 6 || len(slices.Compact(slices.Clone(paged))) != 6 {
		t.Errorf("paging the audit log by position gave seqs %v, want 6 distinct events", paged)
	}
	got = nil
	_ = s.AuditEvents(ctx, f.tenant.ID, storage.AuditQuery{TargetID: "t0", Since: now.Add(time.Second)}, collect)
	if !slices.Equal(got, []string{"scim.group.create"}) {
		t.Errorf("filtered = %v", got)
	}
	got = nil
	_ = s.AuditEvents(ctx, setup(t, s, "other").tenant.ID, storage.AuditQuery{}, collect)
	if len(got) != 0 {
		t.Errorf("another tenant sees %v", got)
	}
}

func testConcurrentCreates(t *testing.T, s storage.Store) {
	f := setup(t, s, "acme")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, conflict int
	var other []error
	for range 16 {
		wg.Go(func() {
			err := s.Tx(context.Background(), func(tx storage.Tx) error { return tx.CreateUser(context.Background(), f.user("same")) })
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, storage.ErrConflict):
				conflict++
			default:
				other = append(other, err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || conflict != 15 || len(other) > 0 {
		t.Errorf("16 concurrent creates: %d ok, %d conflicts, other errors %v; want 1 and 15", ok, conflict, other)
	}
}

// testAddMembersRacesDelete deletes a user and a group while another transaction adds them to
// a group, in both orders: the member must never outlive its deletion (group_members has no
// foreign key to keep it from doing so).
func testAddMembersRacesDelete(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	target := f.group("target")
	mustTx(t, s, func(tx storage.Tx) error { return tx.CreateGroup(ctx, target) })
	for _, addFirst := range []bool{true, false} {
		u, g := f.user(fmt.Sprintf("racer-%v", addFirst)), f.group(fmt.Sprintf("racing-%v", addFirst))
		createUsers(t, s, u)
		mustTx(t, s, func(tx storage.Tx) error { return tx.CreateGroup(ctx, g) })
		add := func(tx storage.Tx) error {
			_, _, err := tx.AddMembers(ctx, f.scope, target.ID, []string{u.ID, g.ID})
			return err
		}
		del := func(tx storage.Tx) error {
			if err := tx.DeleteUser(ctx, f.scope, u.ID, now); err != nil {
				return err
			}
			return tx.DeleteGroup(ctx, f.scope, g.ID, now)
		}
		first, second := add, del
		if !addFirst {
			first, second = del, add
		}
		// The first transaction does its work and waits; the second starts meanwhile (on
		// SQLite it waits to begin) and can only finish after the first commits.
		release, done := holdTx(t, s, first)
		done2 := make(chan error, 1)
		go func() { done2 <- s.Tx(ctx, second) }()
		time.Sleep(100 * time.Millisecond) // the second transaction reaches its conflict
		release()
		for _, d := range []<-chan error{done, done2} {
			if err := <-d; err != nil {
				t.Fatalf("addFirst=%v: %v", addFirst, err)
			}
		}
		var members []string
		err := s.Members(ctx, f.scope, target.ID, func(m storage.Member) error {
			members = append(members, m.ID)
			return nil
		})
		if err != nil || len(members) != 0 {
			t.Errorf("addFirst=%v: the group has members %v (%v) after they were deleted", addFirst, members, err)
		}
	}
}

// testMembersInChunks reads a group of several chunks' worth of members: each once, in id
// order, with no connection held while fn runs (fn reads the store itself, which on a store
// of one connection, as SQLite's in-memory one is, would otherwise wait forever).
func testMembersInChunks(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	var us []storage.User
	var ids []string
	for i := range 12345 { // more than two chunks
		u := f.user(fmt.Sprintf("m%04d", i))
		us, ids = append(us, u), append(ids, u.ID)
	}
	createUsers(t, s, us...)
	g := f.group("big")
	mustTx(t, s, func(tx storage.Tx) error {
		if err := tx.CreateGroup(ctx, g); err != nil {
			return err
		}
		_, _, err := tx.AddMembers(ctx, f.scope, g.ID, ids)
		return err
	})
	var got []string
	err := s.Members(ctx, f.scope, g.ID, func(m storage.Member) error {
		if len(got)%5000 == 0 {
			if _, err := s.User(ctx, f.scope, m.ID); err != nil {
				return err
			}
		}
		got = append(got, m.ID)
		return nil
	})
	slices.Sort(ids)
	if err != nil || !slices.Equal(got, ids) {
		t.Errorf("Members: %d members, %v; want all %d once, in id order", len(got), err, len(ids))
	}
}

func testConcurrentMemberAdds(t *testing.T, s storage.Store) {
	ctx := t.Context()
	f := setup(t, s, "acme")
	var us []storage.User
	for i := range 40 {
		us = append(us, f.user(fmt.Sprintf("c%02d", i)))
	}
	createUsers(t, s, us...)
	g := f.group("g")
	mustTx(t, s, func(tx storage.Tx) error { return tx.CreateGroup(ctx, g) })
	var wg sync.WaitGroup
	errs := make(chan error, len(us))
	for _, u := range us {
		wg.Go(func() {
			errs <- s.Tx(context.Background(), func(tx storage.Tx) error {
				if _, err := tx.LockGroup(context.Background(), f.scope, g.ID); err != nil {
					return err
				}
				_, _, err := tx.AddMembers(context.Background(), f.scope, g.ID, []string{u.ID})
				return err
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent add: %v", err)
		}
	}
	if got := memberIDs(t, s, f.scope, g.ID); len(got) != len(us) {
		t.Errorf("after %d concurrent adds the group has %d members", len(us), len(got))
	}
}

func countAttempt(t *testing.T, s storage.Store, keys []storage.AttemptLimit, at time.Time) time.Duration {
	t.Helper()
	var wait time.Duration
	mustTx(t, s, func(tx storage.Tx) error {
		var err error
		wait, err = tx.CountAttempt(t.Context(), keys, 15*time.Minute, at)
		return err
	})
	return wait
}

// Ensure attempts are counted per key against its limit within a window that starts with
// the first attempt, and that uncounting, clearing and sweeping work.
func testAttemptCounts(t *testing.T, s storage.Store) {
	ctx := t.Context()
	email, addr := storage.AttemptLimit{Key: "e:a@x:1.2.3.4", Limit: 2}, storage.AttemptLimit{Key: "c:1.2.3.4", Limit: 3}
	both := []storage.AttemptLimit{email, addr}
	for i := range 2 {
		if w := countAttempt(t, s, both, now.Add(time.Duration(i)*time.Minute)); w != 0 {
			t.Fatalf("attempt %d refused (wait %v)", i+1, w)
		}
	}
	if w := countAttempt(t, s, both, now.Add(5*time.Minute)); w != 10*time.Minute {
		t.Errorf("third attempt: wait %v, want the 10 minutes left of the first attempt's window", w)
	}
	// Another email from the address: the address's count is past its limit of 3 now.
	other := storage.AttemptLimit{Key: "e:b@x:1.2.3.4", Limit: 2}
	if w := countAttempt(t, s, []storage.AttemptLimit{other, addr}, now.Add(6*time.Minute)); w != 9*time.Minute {
		t.Errorf("another email from the address: wait %v, want 9m", w)
	}
	// The window's end starts the count over.
	if w := countAttempt(t, s, both, now.Add(15*time.Minute)); w != 0 {
		t.Errorf("after the window: wait %v", w)
	}
	// Uncount and clear.
	countAttempt(t, s, both, now.Add(16*time.Minute)) // email at 2 in the new window
	mustTx(t, s, func(tx storage.Tx) error { return tx.UncountAttempt(ctx, []string{email.Key}, nil) })
	if w := countAttempt(t, s, []storage.AttemptLimit{email}, now.Add(17*time.Minute)); w != 0 {
		t.Errorf("after an uncount: wait %v", w)
	}
	mustTx(t, s, func(tx storage.Tx) error { return tx.UncountAttempt(ctx, nil, []string{email.Key}) })
	for i := range 2 {
		if w := countAttempt(t, s, []storage.AttemptLimit{email}, now.Add(18*time.Minute)); w != 0 {
			t.Errorf("attempt %d after a clear: wait %v", i+1, w)
		}
	}
	// Expired counts are swept with sessions.
	mustTx(t, s, func(tx storage.Tx) error {
		n, err := tx.DeleteExpiredSessions(ctx, now.Add(time.Hour))
		if err == nil && n != 3 {
			t.Errorf("swept %d, want the 3 counts", n)
		}
		return err
	})
	if w := countAttempt(t, s, []storage.AttemptLimit{{Key: email.Key, Limit: 0}}, now.Add(time.Hour)); w != 15*time.Minute {
		t.Errorf("a limit of 0 refuses the first attempt for the whole window: wait %v", w)
	}
}

// Ensure concurrent attempts each see the others': of 20 at once under a limit of 5, exactly
// 5 are let through, also when the key had no count before.
func testConcurrentAttempts(t *testing.T, s storage.Store) {
	for _, start := range []int{0, 1} {
		key := fmt.Sprintf("c:concurrent:%d", start)
		for range start {
			countAttempt(t, s, []storage.AttemptLimit{{Key: key, Limit: 5}}, now)
		}
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				err := s.Tx(t.Context(), func(tx storage.Tx) error {
					w, err := tx.CountAttempt(t.Context(), []storage.AttemptLimit{{Key: key, Limit: 5}}, 15*time.Minute, now)
					if err == nil && w == 0 {
						allowed.Add(1)
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := int(allowed.Load()); got != 5-start {
			t.Errorf("%d earlier attempts: %d of 20 concurrent attempts let through, want %d", start, got, 5-start)
		}
	}
}

// holdTx runs fn in a transaction of its own and, once fn has done its work, keeps the
// transaction open until release is called: what another transaction meets while one holds
// its locks. It returns when fn is done (failing the test if fn failed); done then receives
// the transaction's result.
func holdTx(t *testing.T, s storage.Store, fn func(storage.Tx) error) (release func(), done <-chan error) {
	t.Helper()
	held, released := make(chan struct{}), make(chan struct{})
	result := make(chan error, 1)
	go func() {
		result <- s.Tx(t.Context(), func(tx storage.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			close(held)
			<-released
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-result:
		t.Fatalf("first transaction: %v", err)
	}
	return func() { close(released) }, result
}

// SQLStore is a store whose database can be written to directly, as a migration test must.
type SQLStore interface {
	storage.Store
	DB() *sql.DB
}

// Refold checks a case-folding migration on a store's database: names stored with the former
// fold (lower-casing alone) are folded again when the migration runs, and names that fold
// alike since then make it refuse, saying so and naming them. open opens the store on the
// same database each time, running the migrations not recorded as applied; migration is the
// file's name in schema_migrations.
func Refold(t *testing.T, migration string, open func() (SQLStore, error)) {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	exec := func(q string) {
		t.Helper()
		if _, err := s.DB().ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	reopen := func() error {
		s.Close()
		reopened, err := open()
		if err == nil {
			s = reopened
		}
		return err
	}
	exec(`INSERT INTO tenants (id, name, name_fold, created_at) VALUES ('rt1', 'Acme', 'acme', 0)`)
	exec(`INSERT INTO users (id, tenant_id, kind, auth, user_name, user_name_fold, active, version, created_at, updated_at)
		VALUES ('ru1', 'rt1', 'human', 'sso', 'Straſse', 'straſse', true, 1, 0, 0),
		       ('ru2', 'rt1', 'human', 'sso', 'ΟΔΟΣ', 'οδοσ', true, 1, 0, 0)`)
	exec(`INSERT INTO connections (id, tenant_id, name, name_fold, kind, created_at, updated_at)
		VALUES ('rc1', 'rt1', 'okta', 'okta', 'okta', 0, 0)`)
	exec(`INSERT INTO groups (id, tenant_id, connection_id, display_name, display_name_fold, normalized_name, scim, version, created_at, updated_at, last_seen_at)
		VALUES ('rg1', 'rt1', 'rc1', 'Straſse Team', 'straſse team', 'straſse_team', true, 1, 0, 0, 0)`)
	exec(`DELETE FROM schema_migrations WHERE name = '` + migration + `'`)
	if err := reopen(); err != nil {
		t.Fatalf("%s on names that stay distinct: %v", migration, err)
	}
	scope := storage.Scope{TenantID: "rt1"}
	for name, want := range map[string]string{"STRASSE": "ru1", "οδος": "ru2"} {
		page, err := s.Users(t.Context(), scope, storage.Query{Limit: 2,
			Filter: storage.Compare{Field: storage.FieldUserName, Op: storage.OpEq, Value: rbac.Fold(name), Fold: true}})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != want {
			t.Errorf("after %s, userName eq %q finds %v (%v), want %s", migration, name, userIDs(page.Items), err, want)
		}
	}
	if g, err := s.GroupByName(t.Context(), storage.Scope{TenantID: "rt1", ConnectionID: "rc1"}, rbac.NormalizeGroupName("STRASSE Team")); err != nil || g.ID != "rg1" {
		t.Errorf("after %s, the group normalized as %q: %+v, %v", migration, rbac.NormalizeGroupName("STRASSE Team"), g, err)
	}
	// A userName that folds like another since the change, stored as the former fold had it.
	exec(`INSERT INTO users (id, tenant_id, kind, auth, user_name, user_name_fold, active, version, created_at, updated_at)
		VALUES ('ru3', 'rt1', 'human', 'sso', 'οδος', 'οδος', true, 1, 0, 0)`)
	exec(`DELETE FROM schema_migrations WHERE name = '` + migration + `'`)
	if err := reopen(); err == nil || !strings.Contains(err.Error(), "now one name") ||
		!strings.Contains(err.Error(), "ru2") || !strings.Contains(err.Error(), "ru3") {
		t.Errorf("%s with two userNames that now fold alike: %v, want a refusal that says so and names them", migration, err)
	}
}
