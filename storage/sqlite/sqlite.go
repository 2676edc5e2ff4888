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
		if strings.Contains(err.Error(), "now one name under case folding") {
			err = fmt.Errorf("%w: %s", err, foldClashes(ctx, db))
		}
		db.Close()
		return nil, fmt.Errorf("sqlite: migrate: %w", err)
	}
	return &Store{Store: sqlstore.New(db, dialect)}, nil
}

// foldClashes names the pairs of names the case-folding migration (0003_fold.sql) refused,
// which SQLite's refusal (a failed CHECK) cannot: the migration's own comparison, for each
// kind of name unique in its scope.
func foldClashes(ctx context.Context, db *sql.DB) string {
	var pairs []string
	for _, t := range []struct{ table, name, fold, scope string }{
		{"users", "user_name", "user_name_fold", "tenant_id"},
		{"tenants", "name", "name_fold", ""}, // unique across tenants
		{"connections", "name", "name_fold", "tenant_id"},
		{"permission_sets", "name", "name_fold", "tenant_id"},
		{"roles", "name", "name_fold", "tenant_id"},
		{"groups", "normalized_name", "normalized_name", "connection_id"},
	} {
		scope, sameScope := "''", ""
		if t.scope != "" {
			scope, sameScope = t.scope, " AND o."+t.scope+" = c.scope"
		}
		q := fmt.Sprintf(`WITH c AS MATERIALIZED (SELECT id, %[2]s AS name, fold(%[2]s) AS f, %[4]s AS scope FROM %[1]s WHERE %[3]s <> fold(%[2]s))
			SELECT c.id, c.name, o.id, o.%[2]s FROM c JOIN %[1]s o ON o.%[3]s = c.f AND o.id <> c.id%[5]s
			UNION SELECT c.id, c.name, d.id, d.name FROM c JOIN c d ON d.f = c.f AND d.id < c.id AND d.scope = c.scope`,
			t.table, t.name, t.fold, scope, sameScope)
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return "(the pairs could not be listed: " + err.Error() + ")"
		}
		for rows.Next() {
			var a, an, b, bn string
			if rows.Scan(&a, &an, &b, &bn) == nil {
				pairs = append(pairs, fmt.Sprintf("%s %q (%s) and %q (%s)", t.table, an, a, bn, b))
			}
		}
		rows.Close()
	}
	return strings.Join(pairs, "; ")
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
