package postgres_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rollcall/rollcall/storage"
	"github.com/rollcall/rollcall/storage/postgres"
	"github.com/rollcall/rollcall/storage/postgres/pgtest"
)

type bulkFixture struct {
	store *postgres.Store
	scope storage.Scope
	now   time.Time
}

func newBulkFixture(t *testing.T) bulkFixture {
	t.Helper()
	s, err := postgres.Open(t.Context(), pgtest.URL(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.UTC)
	tenant := storage.Tenant{ID: storage.NewID(), Name: "acme", CreatedAt: now}
	conn := storage.Connection{ID: storage.NewID(), TenantID: tenant.ID, Name: "okta", Kind: storage.KindOkta,
		CreatedAt: now, UpdatedAt: now}
	err = s.Tx(t.Context(), func(tx storage.Tx) error {
		if err := tx.CreateTenant(t.Context(), tenant); err != nil {
			return err
		}
		return tx.CreateConnection(t.Context(), conn)
	})
	if err != nil {
		t.Fatal(err)
	}
	return bulkFixture{store: s, scope: storage.Scope{TenantID: tenant.ID, ConnectionID: conn.ID}, now: now}
}

// user is a user as the SCIM endpoint would create it from an Okta POST.
func (f bulkFixture) user(name string) storage.User {
	yes := true
	email := name + "@example.com"
	doc, _ := json.Marshal(map[string]any{
		"userName": name, "active": true, "displayName": "User " + name,
		"name":   map[string]any{"givenName": "Given", "familyName": name},
		"emails": []any{map[string]any{"value": email, "type": "work", "primary": true}, map[string]any{"value": "home." + email, "type": "home"}},
	})
	return storage.User{
		ID: storage.NewID(), TenantID: f.scope.TenantID, ConnectionID: f.scope.ConnectionID, Kind: storage.UserHuman,
		Auth: storage.AuthSSO, UserName: name, Active: true, Email: email, Doc: doc,
		Profile: storage.Profile{DisplayName: "User " + name, GivenName: "Given", FamilyName: name},
		Values: []storage.Value{
			{Attr: "emails", Value: email, Type: "work", Primary: &yes},
			{Attr: "emails", Value: "home." + email, Type: "home"},
		},
		Version: 1, CreatedAt: f.now, UpdatedAt: f.now,
	}
}

// Ensure bulk-loaded users read back through the Store API exactly like users created one by
// one, across more than one batch.
func TestBulkLoadUsers(t *testing.T) {
	f := newBulkFixture(t)
	ctx := t.Context()

	ref := f.user("Reference")
	if err := f.store.Tx(ctx, func(tx storage.Tx) error { return tx.CreateUser(ctx, ref) }); err != nil {
		t.Fatal(err)
	}
	n := postgres.BulkBatch + 7
	users := make([]storage.User, n)
	for i := range users {
		users[i] = f.user(fmt.Sprintf("Bulk.User-%06d", i))
	}
	if err := f.store.BulkLoadUsers(ctx, users); err != nil {
		t.Fatalf("BulkLoadUsers: %v", err)
	}

	// The last user of the second batch, read back, is the same record CreateUser stored.
	twin := users[n-1]
	got, err := f.store.User(ctx, f.scope, twin.ID)
	if err != nil {
		t.Fatalf("User(bulk): %v", err)
	}
	want, err := f.store.User(ctx, f.scope, ref.ID)
	if err != nil {
		t.Fatalf("User(reference): %v", err)
	}
	ignore := cmpopts.IgnoreFields(storage.User{}, "ID", "Seq", "UserName", "Email", "Doc", "Profile", "Values")
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("bulk-loaded user differs from a created one (-created +bulk):\n%s", diff)
	}
	if diff := cmp.Diff(twin, got, cmpopts.IgnoreFields(storage.User{}, "Seq"), cmpopts.EquateEmpty(),
		cmp.Transformer("doc", func(d json.RawMessage) string { return string(d) })); diff != "" {
		t.Errorf("User(bulk) (-loaded +read):\n%s", diff)
	}

	// Filters see the bulk-loaded rows: userName ignoring case, and an email value.
	page, err := f.store.Users(ctx, f.scope, storage.Query{
		Filter: storage.Compare{Field: storage.FieldUserName, Op: storage.OpEq, Value: "BULK.USER-000042", Fold: true},
		Limit:  10, Count: true,
	})
	if err != nil || page.Total != 1 || len(page.Items) != 1 || page.Items[0].ID != users[42].ID {
		t.Errorf("Users(userName eq BULK.USER-000042) = %d items, total %d, %v; want users[42]", len(page.Items), page.Total, err)
	}
	page, err = f.store.Users(ctx, f.scope, storage.Query{
		Filter: storage.Any{Set: storage.SetEmails, Where: storage.Compare{Field: storage.ElemValue, Op: storage.OpEq,
			Value: "home.bulk.user-000007@example.com", Fold: true}},
		Limit: 10, Count: true,
	})
	if err != nil || page.Total != 1 || len(page.Items) != 1 || page.Items[0].ID != users[7].ID {
		t.Errorf("Users(emails.value eq …) = %d items, total %d, %v; want users[7]", len(page.Items), page.Total, err)
	}
	page, err = f.store.Users(ctx, f.scope, storage.Query{Limit: 0, Count: true})
	if err != nil || page.Total != n+1 {
		t.Errorf("Users(count) total = %d, %v; want %d", page.Total, err, n+1)
	}

	// New users still get sequence numbers after the bulk-loaded ones (creation order).
	late := f.user("late")
	if err := f.store.Tx(ctx, func(tx storage.Tx) error { return tx.CreateUser(ctx, late) }); err != nil {
		t.Fatalf("CreateUser after bulk load: %v", err)
	}
	page, err = f.store.Users(ctx, f.scope, storage.Query{Offset: n + 1, Limit: 5})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != late.ID {
		t.Errorf("last page = %d items, %v; want only the user created last", len(page.Items), err)
	}
}

// Ensure a userName already taken in the tenant, in any case, fails the load as a conflict.
func TestBulkLoadUsers_Conflict(t *testing.T) {
	f := newBulkFixture(t)
	ctx := t.Context()
	if err := f.store.BulkLoadUsers(ctx, []storage.User{f.user("Dup")}); err != nil {
		t.Fatal(err)
	}
	err := f.store.BulkLoadUsers(ctx, []storage.User{f.user("other"), f.user("DUP")})
	var ce *storage.ConflictError
	if !errors.As(err, &ce) || ce.Constraint != storage.UniqueUserName {
		t.Fatalf("BulkLoadUsers(DUP) error = %v, want ConflictError(userName)", err)
	}
	// The failed batch changed nothing.
	page, err := f.store.Users(ctx, f.scope, storage.Query{Count: true})
	if err != nil || page.Total != 1 {
		t.Errorf("users after failed batch = %d, %v; want 1", page.Total, err)
	}
}

// Ensure bulk-added members read back through Members and behave as members for AddMembers,
// RemoveMembersWhere and the members filter.
func TestBulkAddMembers(t *testing.T) {
	f := newBulkFixture(t)
	ctx := t.Context()
	users := make([]storage.User, 1500)
	ids := make([]string, len(users))
	for i := range users {
		users[i] = f.user(fmt.Sprintf("m%04d", i))
		ids[i] = users[i].ID
	}
	if err := f.store.BulkLoadUsers(ctx, users); err != nil {
		t.Fatal(err)
	}
	g := storage.Group{ID: storage.NewID(), TenantID: f.scope.TenantID, ConnectionID: f.scope.ConnectionID,
		DisplayName: "Big", NormalizedName: "big", SCIM: true, Version: 1, CreatedAt: f.now, UpdatedAt: f.now, LastSeenAt: f.now}
	if err := f.store.Tx(ctx, func(tx storage.Tx) error { return tx.CreateGroup(ctx, g) }); err != nil {
		t.Fatal(err)
	}
	if err := f.store.BulkAddMembers(ctx, f.scope, g.ID, ids[:1000]); err != nil {
		t.Fatalf("BulkAddMembers: %v", err)
	}

	var got []storage.Member
	err := f.store.Members(ctx, f.scope, g.ID, func(m storage.Member) error {
		got = append(got, m)
		return nil
	})
	if err != nil || len(got) != 1000 {
		t.Fatalf("Members = %d, %v; want 1000", len(got), err)
	}
	for _, m := range got {
		if m.Type != "User" || !strings.HasPrefix(m.Display, "User m") {
			t.Fatalf("member %+v: want type User with the user's displayName", m)
		}
	}

	err = f.store.Tx(ctx, func(tx storage.Tx) error {
		added, missing, err := tx.AddMembers(ctx, f.scope, g.ID, ids[990:1010])
		if err != nil || len(added) != 10 || len(missing) != 0 {
			return fmt.Errorf("AddMembers over the edge = %d added, %v missing, %v; want 10, none", len(added), missing, err)
		}
		removed, err := tx.RemoveMembersWhere(ctx, f.scope, g.ID,
			storage.Compare{Field: storage.ElemValue, Op: storage.OpEq, Value: ids[3]})
		if err != nil || len(removed) != 1 {
			return fmt.Errorf("RemoveMembersWhere(value eq ids[3]) = %d, %v; want 1", len(removed), err)
		}
		n, err := tx.CountMembersWhere(ctx, f.scope, g.ID, nil)
		if err != nil || n != 1009 {
			return fmt.Errorf("CountMembersWhere = %d, %v; want 1009", n, err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}

	groups, err := f.store.GroupsOfUsers(ctx, f.scope, []string{ids[0], ids[3], ids[1400]})
	if err != nil || len(groups[ids[0]]) != 1 || len(groups[ids[3]]) != 0 || len(groups[ids[1400]]) != 0 {
		t.Errorf("GroupsOfUsers = %v, %v; want only ids[0] in the group", groups, err)
	}

	other := storage.Scope{TenantID: f.scope.TenantID, ConnectionID: storage.NewID()}
	if err := f.store.BulkAddMembers(ctx, other, g.ID, ids[1000:1001]); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("BulkAddMembers(other connection) error = %v, want ErrNotFound", err)
	}
	var ce *storage.ConflictError
	if err := f.store.BulkAddMembers(ctx, f.scope, g.ID, ids[:1]); !errors.As(err, &ce) {
		t.Errorf("BulkAddMembers(existing member) error = %v, want a ConflictError", err)
	}
}
