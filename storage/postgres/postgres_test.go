package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/rbac"
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

// A database that lower-cases ASCII only (LC_CTYPE C) is refused before anything is written,
// with what to do about it; the test database (a UTF-8 LC_CTYPE) is accepted by every test
// above.
func TestOpen_RefusesASCIIOnlyFolding(t *testing.T) {
	db := ownDatabase(t, "TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")
	u := db.url
	s, err := postgres.Open(t.Context(), u.String(), postgres.Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a database whose lower() folds ASCII only")
	}
	if !strings.Contains(err.Error(), `LC_CTYPE "C"`) {
		t.Errorf("error does not say what to change: %v", err)
	}
	check, err := pgx.Connect(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close(context.Background())
	var tables int
	if err := check.QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil || tables != 0 {
		t.Errorf("the refused database holds %d tables (%v), want none", tables, err)
	}
}

// A database whose default collation lower-cases I and İ its own way (ICU, here Turkish) is
// refused too: names folded in SQL would not match names folded in Go.
func TestOpen_RefusesTurkishFolding(t *testing.T) {
	base := pgtest.URL(t)
	admin, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var icu bool
	if err := admin.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collprovider = 'i')`).Scan(&icu); err != nil {
		t.Fatal(err)
	}
	if !icu {
		t.Skip("this PostgreSQL is built without ICU")
	}
	db := ownDatabase(t, "TEMPLATE template0 LOCALE 'C.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE 'tr'")
	s, err := postgres.Open(t.Context(), db.url.String(), postgres.Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a database whose lower() folds I as Turkish does")
	}
	if !strings.Contains(err.Error(), "does not lower-case as Rollcall does") {
		t.Errorf("error does not say what is wrong: %v", err)
	}
}

// Ensure every way PostgreSQL refuses the store's new connections is ErrUnavailable (the
// client's 503), not an internal error: the database closed to connections (55000) and the
// database gone (3D000). Reopened, the same store works again by itself.
func TestStore_RefusedConnectionsAreUnavailable(t *testing.T) {
	db := ownDatabase(t, "")
	name, exec := db.name, db.exec
	s, err := postgres.Open(t.Context(), db.url.String(), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	scope := storage.Scope{TenantID: "t", ConnectionID: "c"}
	users := func() error {
		_, err := s.Users(t.Context(), scope, storage.Query{Limit: 1})
		return err
	}
	if err := users(); err != nil {
		t.Fatal(err)
	}

	exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false")
	exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name + "'")
	for i := range 3 { // the first calls may meet the terminated connections
		if err := users(); !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("call %d with the database closed to connections: %v, want ErrUnavailable", i, err)
		}
	}
	if err := s.Ping(t.Context()); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Ping with the database closed to connections: %v, want ErrUnavailable", err)
	}
	exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true")
	if err := users(); err != nil {
		t.Errorf("after connections are allowed again: %v", err)
	}

	exec("DROP DATABASE " + name + " WITH (FORCE)")
	for i := range 3 {
		if err := users(); !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("call %d with the database gone: %v, want ErrUnavailable", i, err)
		}
	}
}

// database is a database of a test's own on the server of POSTGRES_TEST_URL, for what a
// schema cannot show (its locale, connections to it): its name, its URL, and exec, which
// runs a statement on the server as the administrator and fails the test on an error.
type database struct {
	name string
	url  *url.URL
	exec func(sql string)
}

// ownDatabase creates a database (CREATE DATABASE name options), dropped when the test ends.
func ownDatabase(t *testing.T, options string) database {
	t.Helper()
	base := pgtest.URL(t) // skips without POSTGRES_TEST_URL, fails in CI
	u, err := url.Parse(base)
	if err != nil {
		t.Skip("POSTGRES_TEST_URL is not a URL")
	}
	admin, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	db := database{name: "rollcall_test_" + strings.ToLower(rand.Text()[:12])}
	db.exec = func(sql string) {
		t.Helper()
		if _, err := admin.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	db.exec("CREATE DATABASE " + db.name + " " + options)
	t.Cleanup(func() { db.exec("DROP DATABASE IF EXISTS " + db.name + " WITH (FORCE)") }) // before the Close above
	u.Path = "/" + db.name
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	db.url = u
	return db
}

// Ensure the case-folding migration folds stored names again, refuses names that now fold
// alike, and folds in SQL with the table Go folds with.
func TestOpen_Refold(t *testing.T) {
	url := ownDatabase(t, "").url.String()
	storagetest.Refold(t, "0004_fold.sql", func() (storagetest.SQLStore, error) {
		return postgres.Open(t.Context(), url, postgres.Options{})
	})
}

// Ensure SQL's fold() is rbac.Fold: on every letter it maps, in both cases.
func TestFoldMatchesGo(t *testing.T) {
	s, err := postgres.Open(t.Context(), pgtest.URL(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	probe := rbac.FoldFrom + strings.ToUpper(rbac.FoldFrom) + rbac.FoldTo + strings.ToUpper(rbac.FoldTo) + " ÀÉÎ ΣΟΦΊΑ ДОМ Straße İı"
	var got string
	if err := s.DB().QueryRowContext(t.Context(), `SELECT fold($1)`, probe).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := rbac.Fold(probe); got != want {
		t.Errorf("fold(%q) = %q in SQL, %q in Go", probe, got, want)
	}
}
