package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rollcall/rollcall/rbac/secret"
	"github.com/rollcall/rollcall/storage"
)

// Ensure the key that seals client secrets comes from the environment, a file, or on SQLite
// a file made beside the database at first start and read again after.
func TestSecretBox(t *testing.T) {
	db := filepath.Join(t.TempDir(), "rollcall.db")
	b1, err := secretBox(db, "", "", true)
	if err != nil || b1 == nil {
		t.Fatalf("SQLite default: %v, %v", b1, err)
	}
	fi, err := os.Stat(db + ".key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	b2, err := secretBox(db, "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b2.Open(b1.Seal("x")); err != nil || got != "x" {
		t.Errorf("the key changed between starts: %q, %v", got, err)
	}
	if b, err := secretBox("postgres://db.example/rollcall", "", "", true); err != nil || b != nil {
		t.Errorf("PostgreSQL without a key: %v, %v; want none", b, err)
	}
	key := secret.NewKey()
	b3, err := secretBox("postgres://db.example/rollcall", key, "", true)
	b4, err2 := secretBox(db, key, "", true)
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	if got, err := b4.Open(b3.Seal("y")); err != nil || got != "y" {
		t.Errorf("ROLLCALL_SECRET_KEY is not the key: %q, %v", got, err)
	}
	if _, err := secretBox(db, "too short", "", true); err == nil {
		t.Error("a bad key was accepted")
	}
	if _, err := secretBox(db, "", filepath.Join(t.TempDir(), "missing.key"), true); err == nil {
		t.Error("a missing key file was accepted")
	}
	// The default key file gone while the database holds secrets sealed with it: refused,
	// and no new key file is made.
	fresh := filepath.Join(t.TempDir(), "rollcall.db")
	if _, err := secretBox(fresh, "", "", false); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing default key file with sealed secrets: %v, want a refusal", err)
	}
	if _, err := os.Stat(fresh + ".key"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key file was made that opens nothing: %v", err)
	}
}

// Ensure serve refuses a key that does not open the client secrets the database holds, and
// no key when it holds some; any key does while it holds none.
func TestCheckSecretKey(t *testing.T) {
	ctx := t.Context()
	st, err := openStore(ctx, filepath.Join(t.TempDir(), "rollcall.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k1, _ := secret.ParseKey(secret.NewKey())
	k2, _ := secret.ParseKey(secret.NewKey())
	right, _ := secret.NewBox(k1)
	wrong, _ := secret.NewBox(k2)
	check := func(box *secret.Box) error {
		sealed, err := st.StoredClientSecret(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return checkSecretKey(sealed, box)
	}
	if err := check(wrong); err != nil {
		t.Errorf("no secrets stored, any key: %v", err)
	}
	if err := check(nil); err != nil {
		t.Errorf("no secrets stored, no key: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	tn := storage.Tenant{ID: storage.NewID(), Name: "acme", CreatedAt: now}
	conn := storage.Connection{ID: storage.NewID(), TenantID: tn.ID, Name: "okta", Kind: storage.KindOkta,
		OIDC:      storage.OIDCSettings{Issuer: "https://idp.example", ClientID: "c", ClientSecret: right.Seal("s3cret"), GroupsClaim: "groups"},
		CreatedAt: now, UpdatedAt: now}
	if err := st.Tx(ctx, func(tx storage.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		return tx.CreateConnection(ctx, conn)
	}); err != nil {
		t.Fatal(err)
	}
	if err := check(right); err != nil {
		t.Errorf("the key the secret was sealed with: %v", err)
	}
	if err := check(wrong); err == nil || !strings.Contains(err.Error(), "another key") {
		t.Errorf("another key: %v, want a refusal", err)
	}
	if err := check(nil); err == nil || !strings.Contains(err.Error(), "no key is set") {
		t.Errorf("no key: %v, want a refusal", err)
	}
}
