// Package postgres is Rollcall's production storage backend: PostgreSQL through a pgx/v5
// connection pool. Any number of stateless Rollcall replicas can share one database.
package postgres

import (
	"context"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/rollcall/rollcall/storage"
	"github.com/rollcall/rollcall/storage/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the PostgreSQL backend.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
}

var _ storage.Store = (*Store)(nil)

var dialect = &sqlstore.Dialect{
	Name:      "postgres",
	InList:    func(expr, param string) string { return expr + " = ANY(" + param + "::text[])" },
	ListArg:   func(list []string) any { return list },
	ForUpdate: " FOR UPDATE",
	ForShare:  " FOR SHARE",
	LockKey:   " FOR KEY SHARE OF ",
	// Compare and sort by code point, as Go does, whatever the database's locale.
	Collate:   ` COLLATE "C"`,
	Contains:  func(col, arg string) string { return "strpos(" + col + ", " + arg + ") > 0" },
	HasPrefix: func(col, arg string) string { return "starts_with(" + col + ", " + arg + ")" },
	HasSuffix: func(col, arg string) string { return "right(" + col + ", length(" + arg + ")) = " + arg },
	JSONArray: "json_build_array",
	JSONAgg:   "json_agg",
	NewIDExpr: "gen_random_uuid()::text",
	Classify:  classify,
	Retryable: func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
	},
	// Replicas starting together take turns; the key is arbitrary but fixed.
	MigrationLock: `SELECT pg_advisory_xact_lock(7382110542)`,
}

// DefaultMaxConns is the pool's default size. Each connection is a PostgreSQL backend
// process: past a few per database core, more of them only add context switches and lock
// waits, and requests are better queued in Go for a free connection. Measured with sixteen
// concurrent Okta creates on two cores, a pool of 8 left PostgreSQL 20-25 % less CPU per
// create than a pool of 16 and served the most creates per second (a pool of 4 starved the
// commits). A database server with more cores takes a larger pool_max_conns.
const DefaultMaxConns = 8

// Options tune the pool. Zero values take defaults.
type Options struct {
	// MaxConns bounds the pool (default DefaultMaxConns; pool_max_conns in the URL also
	// sets it).
	MaxConns int32
	// ConnectTimeout bounds each attempt to reach the server, so that a database that has
	// gone away fails requests fast (as 503) instead of holding them.
	ConnectTimeout time.Duration
}

// Open connects to the database at url (a postgres:// URL or key=value DSN) and applies
// pending migrations.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	switch {
	case opt.MaxConns > 0:
		cfg.MaxConns = opt.MaxConns
	case !strings.Contains(url, "pool_max_conns"):
		cfg.MaxConns = DefaultMaxConns
	}
	if opt.ConnectTimeout == 0 {
		opt.ConnectTimeout = 3 * time.Second
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > opt.ConnectTimeout {
		cfg.ConnConfig.ConnectTimeout = opt.ConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := checkCaseFolding(ctx, pool); err != nil {
		db.Close()
		pool.Close()
		return nil, err
	}
	sub, _ := fs.Sub(migrations, "migrations")
	if _, err := sqlstore.Migrate(ctx, db, dialect, sub); err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return &Store{Store: sqlstore.New(db, dialect), pool: pool}, nil
}

// foldProbe holds letters of several scripts, in upper case, and the letters locales
// lower-case their own way: I (ı in Turkish) and İ (i and a combining dot in ICU's root
// locale, i in Go).
const foldProbe = "ÀÉÎÕÜ ΑΒΓΔ ΟΔΟΣ ДОМ Ǆ I İ"

// checkCaseFolding refuses a database whose lower() does not lower-case as Rollcall does in Go
// (strings.ToLower, the first step of rbac.Fold, whose second step SQL's fold() repeats
// with translate()). Rollcall stores the folded copies it compares names by, and filters on
// other attributes compare fold(column) in SQL with a value folded in Go: under an
// LC_CTYPE such as C, lower() changes ASCII letters only, so "ÉMILE" would not find "émile"
// and a name could be taken twice; under a Turkish or ICU locale, "IAN" folded in SQL would
// not find "ian" folded in Go. The check reads nothing and writes nothing, and runs before
// the migrations, which fold stored names in SQL.
func checkCaseFolding(ctx context.Context, pool *pgxpool.Pool) error {
	var same bool
	if err := pool.QueryRow(ctx, `SELECT lower($1::text) = $2::text`, foldProbe, strings.ToLower(foldProbe)).Scan(&same); err != nil {
		return fmt.Errorf("postgres: check case folding: %w", err)
	}
	if same {
		return nil
	}
	// pg_database names the database's character classification on every version
	// (the lc_ctype setting is gone since PostgreSQL 16).
	var ctype string
	_ = pool.QueryRow(ctx, `SELECT datctype FROM pg_database WHERE datname = current_database()`).Scan(&ctype)
	return fmt.Errorf("postgres: this database does not lower-case as Rollcall does (LC_CTYPE %q; a C locale changes "+
		"ASCII letters only, a Turkish or ICU one treats I and İ its own way): Rollcall compares names ignoring case in "+
		"every script; create the database with "+
		"CREATE DATABASE … TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' (or another UTF-8 libc locale)", ctype)
}

// Close closes the pool.
func (s *Store) Close() error {
	err := s.Store.Close()
	s.pool.Close()
	return err
}

// CreateUser implements storage.Store in one round trip: the user's row, its values and the
// audit event go as one pipelined batch, which PostgreSQL runs as one implicit transaction
// (a failing statement rolls back those before it). Through database/sql the same writes
// take five round trips: BEGIN, three INSERTs, COMMIT.
func (s *Store) CreateUser(ctx context.Context, u storage.User, event storage.AuditEvent) error {
	stmts := sqlstore.CreateUserStatements(u, event)
	var b pgx.Batch
	for _, st := range stmts {
		b.Queue(st.SQL, st.Args...)
	}
	br := s.pool.SendBatch(ctx, &b)
	for _, st := range stmts {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return s.Fail(st.Op, err)
		}
	}
	return s.Fail("create user", br.Close())
}

// Pool returns the pgx pool, for bulk loads that need PostgreSQL's COPY.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// classify turns pgx errors into storage errors: unique violations by constraint, and every
// way of not reaching the server (refused, reset, shutting down, too many clients) as
// ErrUnavailable.
func classify(err error) error {
	// Any failure to connect is the database being unreachable, whatever PostgreSQL said:
	// refused, shutting down, the database closed to connections (55000) or gone (3D000),
	// too many clients, authentication. The pool keeps trying; the client gets 503.
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return storage.ErrUnavailable
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return &storage.ConflictError{Constraint: sqlstore.ConstraintOf(pe.TableName + " " + pe.ConstraintName)}
		case pe.Code == "23503":
			return storage.ErrInUse
		case pe.Code[:2] == "08", pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03",
			pe.Code[:2] == "53", pe.Code == "57014":
			return storage.ErrUnavailable
		}
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return storage.ErrUnavailable
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return storage.ErrUnavailable
	}
	return nil
}
