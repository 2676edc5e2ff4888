// Package sqlite is Rollcall's embedded storage backend: one SQLite file, through a pure-Go
// driver (modernc.org/sqlite), so `rollcall serve` needs nothing else installed.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
	"github.com/rollcall/rollcall/storage/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite backend.
type Store struct {
	*sqlstore.Store
}

var _ storage.Store = (*Store)(nil)

var dialect = &sqlstore.Dialect{
	Name: "sqlite",
	InList: func(expr, param string) string {
		return expr + " IN (SELECT value FROM json_each(" + param + "))"
	},
	ListArg: func(list []string) any {
		b, _ := json.Marshal(list) // a []string always marshals
		return string(b)
	},
	Contains:  func(col, arg string) string { return "instr(" + col + ", " + arg + ") > 0" },
	HasPrefix: func(col, arg string) string { return "substr(" + col + ", 1, length(" + arg + ")) = " + arg },
	HasSuffix: func(col, arg string) string {
		return "(length(" + col + ") >= length(" + arg + ") AND substr(" + col + ", length(" + col + ") - length(" + arg + ") + 1) = " + arg + ")"
	},
	SetsAsIn:  true,
	JSONArray: "json_array",
	JSONAgg:   "json_group_array",
	NewIDExpr: "lower(hex(randomblob(16)))",
	Classify:  classify,
}

// Open opens (creating if needed) the database file at path and applies pending migrations.
// The path ":memory:" gives a private in-memory database, for tests.
func Open(ctx context.Context, path string) (*Store, error) {
	d := &sqlite.Driver{}
	// fold is rbac.Fold, which SQLite's ASCII-only lower() is not.
	d.MustRegisterDeterministicScalarFunction("fold", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case nil:
			return nil, nil
		case string:
			return rbac.Fold(v), nil
		case []byte:
			return rbac.Fold(string(v)), nil
		default:
			return v, nil
		}
	})
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	memory := path == ":memory:"
	if !memory {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	dsn := "file:" + path + "?" + q.Encode()
	db := sql.OpenDB(connector{d: d, dsn: dsn})
	if memory {
		// Each connection to :memory: is its own database; keep exactly one.
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(8)
	}
	db.SetMaxIdleConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	if _, err := sqlstore.Migrate(ctx, db, dialect, sub); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: migrate: %w", err)
	}
	return &Store{Store: sqlstore.New(db, dialect)}, nil
}

type connector struct {
	d   *sqlite.Driver
	dsn string
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.d }

// classify turns SQLite result codes into storage errors.
func classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return &storage.ConflictError{Constraint: constraint(se.Error())}
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_BUSY_SNAPSHOT, sqlite3.SQLITE_BUSY_TIMEOUT:
		return storage.ErrUnavailable
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return storage.ErrInUse
	}
	return nil
}

// constraint names the uniqueness rule from SQLite's message, which lists the columns:
// "UNIQUE constraint failed: users.tenant_id, users.user_name_fold".
func constraint(msg string) storage.Constraint {
	_, cols, _ := strings.Cut(msg, "constraint failed: ")
	return sqlstore.ConstraintOf(cols)
}
