package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/rollcall/rollcall/storage"
	"github.com/rollcall/rollcall/storage/sqlite"
	"github.com/rollcall/rollcall/storage/storagetest"
)

func TestStore(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "rollcall.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// The same suite on an in-memory database, which has one connection: a store method that
// held its connection while calling back (Members) would wait forever on one that reads.
func TestStore_InMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := sqlite.Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Ensure opening an already migrated file applies nothing and keeps the data.
func TestOpen_Reopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rollcall.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tx(t.Context(), func(tx storage.Tx) error {
		return tx.CreateTenant(t.Context(), storage.Tenant{ID: "t1", Name: "acme"})
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.TenantByName(t.Context(), "acme"); err != nil {
		t.Errorf("tenant after reopen: %v", err)
	}
}
