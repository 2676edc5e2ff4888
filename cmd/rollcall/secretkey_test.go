package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rollcall/rollcall/rbac/secret"
)

// Ensure the key that seals client secrets comes from the environment, a file, or on SQLite
// a file made beside the database at first start and read again after.
func TestSecretBox(t *testing.T) {
	db := filepath.Join(t.TempDir(), "rollcall.db")
	b1, err := secretBox(db, "", "")
	if err != nil || b1 == nil {
		t.Fatalf("SQLite default: %v, %v", b1, err)
	}
	fi, err := os.Stat(db + ".key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	b2, err := secretBox(db, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b2.Open(b1.Seal("x")); err != nil || got != "x" {
		t.Errorf("the key changed between starts: %q, %v", got, err)
	}
	if b, err := secretBox("postgres://db.example/rollcall", "", ""); err != nil || b != nil {
		t.Errorf("PostgreSQL without a key: %v, %v; want none", b, err)
	}
	key := secret.NewKey()
	b3, err := secretBox("postgres://db.example/rollcall", key, "")
	b4, err2 := secretBox(db, key, "")
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	if got, err := b4.Open(b3.Seal("y")); err != nil || got != "y" {
		t.Errorf("ROLLCALL_SECRET_KEY is not the key: %q, %v", got, err)
	}
	if _, err := secretBox(db, "too short", ""); err == nil {
		t.Error("a bad key was accepted")
	}
	if _, err := secretBox(db, "", filepath.Join(t.TempDir(), "missing.key")); err == nil {
		t.Error("a missing key file was accepted")
	}
}
