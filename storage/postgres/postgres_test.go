package postgres_test

import (
	"testing"

	"github.com/rollcall/rollcall/storage"
	"github.com/rollcall/rollcall/storage/postgres"
	"github.com/rollcall/rollcall/storage/postgres/pgtest"
	"github.com/rollcall/rollcall/storage/storagetest"
)

func TestStore(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := postgres.Open(t.Context(), pgtest.URL(t), postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Ensure migrating an already migrated database is a no-op, also when replicas race.
func TestOpen_MigrateTwice(t *testing.T) {
	url := pgtest.URL(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			s, err := postgres.Open(t.Context(), url, postgres.Options{})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent open: %v", err)
		}
	}
}
