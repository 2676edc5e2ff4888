// Package pgtest gives tests their own PostgreSQL schema on the server named by
// POSTGRES_TEST_URL, dropped when the test ends, so runs never see each other's data.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
)

// EnvURL names the variable that points tests at a PostgreSQL server.
const EnvURL = "POSTGRES_TEST_URL"

// URL returns a connection URL whose search_path is a fresh schema, created now and dropped
// in t.Cleanup. Without POSTGRES_TEST_URL the test is skipped, unless CI is set: there a
// missing database fails the run instead of passing it as skipped.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set, and CI is: PostgreSQL tests must run in CI", EnvURL)
		}
		t.Skipf("%s is not set; set it (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run PostgreSQL tests", EnvURL)
	}
	schema := "rollcall_test_" + strings.ToLower(rand.Text()[:12])
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		t.Fatalf("pgtest: create schema on %s: %v", EnvURL, err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(t, base, schema)
}

// WithSearchPath returns base with its search_path set to schema.
func WithSearchPath(t testing.TB, base, schema string) string {
	t.Helper()
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("pgtest: parse %s: %v", EnvURL, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return fmt.Sprintf("%s search_path=%s", base, schema)
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" database/sql driver
