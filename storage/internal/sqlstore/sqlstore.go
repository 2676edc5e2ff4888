// Package sqlstore is the SQL implementation of storage.Store shared by the SQLite and
// PostgreSQL backends. The SQL is written once, in the subset both databases speak ($n
// placeholders, ON CONFLICT, RETURNING, row values); a Dialect supplies the few fragments that
// differ and turns each driver's errors into storage's sentinels.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// Dialect is what differs between the databases.
type Dialect struct {
	Name string
	// InList returns SQL that is true when expr is one of the strings bound at placeholder
	// param (bound with ListArg).
	InList func(expr, param string) string
	// ListArg turns a list of strings into one bind argument for InList.
	ListArg func([]string) any
	// ForUpdate and ForShare are appended to a SELECT that must lock the rows it reads,
	// exclusively or shared. (SQLite locks the whole database for a writing transaction.)
	ForUpdate, ForShare string
	// LockKey is appended to a SELECT to keep the rows it reads from being deleted (or their
	// keys changed) until the transaction ends, without blocking other updates of them: what
	// a foreign key check takes. It names the table alias to lock, e.g. " FOR KEY SHARE OF ".
	LockKey string
	// SetsAsIn writes a filter on a user's emails (and the other values users are looked up
	// by) that pins the value as "u.id IN (SELECT user_id … WHERE value_fold = …)" rather
	// than a correlated EXISTS. SQLite does not turn EXISTS into a join: it would probe the
	// values of every user of the connection instead of finding the value in its index.
	SetsAsIn bool
	// Collate is appended to string comparisons and sort keys so that ordering is by code
	// point on every database (the same order as Go's string comparison).
	Collate string
	// Contains, HasPrefix and HasSuffix return case-sensitive substring tests.
	Contains, HasPrefix, HasSuffix func(col, arg string) string
	// Classify returns the storage error for a driver error (a *storage.ConflictError,
	// storage.ErrUnavailable), or nil when the error is none of those.
	Classify func(error) error
	// Retryable reports whether a transaction failed only because it raced another one and
	// should simply run again (PostgreSQL serialization failures and deadlocks).
	Retryable func(error) bool
	// JSONArray and JSONAgg name the functions that make a JSON array of their arguments
	// and aggregate values into a JSON array.
	JSONArray, JSONAgg string
	// NewIDExpr is an SQL expression giving a new unique id, for rows made in bulk.
	NewIDExpr string
	// MigrationLock, when set, is run first in every migration transaction so that replicas
	// starting together migrate one at a time.
	MigrationLock string
}

// Store implements storage.Store on a database/sql handle.
type Store struct {
	reader
	db *sql.DB
}

var _ storage.Store = (*Store)(nil)

// New returns a Store on db, which must already be migrated (see Migrate).
func New(db *sql.DB, d *Dialect) *Store {
	return &Store{reader: reader{q: db, d: d}, db: db}
}

// DB returns the underlying handle, for backends that need it.
func (s *Store) DB() *sql.DB { return s.db }

// Ping implements storage.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return s.fail("ping", err)
	}
	return nil
}

// Close implements storage.Store.
func (s *Store) Close() error { return s.db.Close() }

// maxAttempts bounds how often Tx re-runs a transaction that lost a race.
const maxAttempts = 4

// Tx implements storage.Store.
func (s *Store) Tx(ctx context.Context, fn func(storage.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tx(ctx, fn)
		if err == nil {
			return nil
		}
		if attempt < maxAttempts && s.d.Retryable != nil && s.d.Retryable(err) && ctx.Err() == nil {
			time.Sleep(time.Duration(attempt*attempt) * time.Millisecond)
			continue
		}
		return err
	}
}

func (s *Store) tx(ctx context.Context, fn func(storage.Tx) error) (err error) {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail("begin", err)
	}
	defer func() {
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(&txn{reader: reader{q: sqlTx, d: s.d, lock: true}}); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return s.fail("commit", err)
	}
	return nil
}

// CreateUser implements storage.Store: a transaction of Tx.CreateUser and Tx.AppendAudit.
// Backends that can send statements together override it (see CreateUserStatements).
func (s *Store) CreateUser(ctx context.Context, u storage.User, event storage.AuditEvent) error {
	return s.Tx(ctx, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, event)
	})
}

// Statement is one SQL statement with its arguments.
type Statement struct {
	SQL  string
	Args []any
	// Op names what it does, for errors.
	Op string
}

// CreateUserStatements returns the statements Store.CreateUser runs, in order, for a backend
// that sends them in one round trip; Fail turns an error of one of them into a storage error.
func CreateUserStatements(u storage.User, event storage.AuditEvent) []Statement {
	return append(createUserStatements(&u), auditStatement(event))
}

// Fail turns a driver error from operation op into the error storage callers see.
func (s *Store) Fail(op string, err error) error { return s.fail(op, err) }

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader implements storage.Reader on a querier; inside a transaction lock is set and the
// Lock* methods take row locks.
type reader struct {
	q    querier
	d    *Dialect
	lock bool
}

// txn implements storage.Tx.
type txn struct {
	reader
}

// fail turns a driver error into the storage error callers see: the sentinels for what
// callers act on, and a wrapped error (logged, never shown to clients) for the rest.
func (r reader) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return storage.ErrNotFound
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrConflict),
		errors.Is(err, storage.ErrUnavailable), errors.Is(err, storage.ErrInUse):
		return err
	}
	if c := r.d.Classify(err); c != nil {
		return fmt.Errorf("%w (%s: %w)", c, op, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (%s: %w)", storage.ErrUnavailable, op, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// builder accumulates SQL text and its arguments, numbering placeholders as it goes.
type builder struct {
	sb   strings.Builder
	args []any
}

func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// in appends a list argument and returns the condition that expr is in it.
func (r reader) in(b *builder, expr string, list []string) string {
	return r.d.InList(expr, b.arg(r.d.ListArg(list)))
}

func (b *builder) w(parts ...string) *builder {
	for _, p := range parts {
		b.sb.WriteString(p)
	}
	return b
}

func (b *builder) String() string { return b.sb.String() }

// micros stores times as Unix microseconds on both databases, so ordering, comparison and
// equality are the same everywhere.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func microsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// null binds an empty string as SQL NULL: absent attributes are NULL, so "pr" is IS NOT NULL.
func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// text scans a nullable text column; NULL reads as "".
type text string

func (t *text) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*t = ""
	case string:
		*t = text(v)
	case []byte:
		*t = text(v)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into text", v)
	}
	return nil
}

// optTime scans a nullable microsecond column.
type optTime struct{ t **time.Time }

func (o optTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*o.t = nil
	case int64:
		t := fromMicros(v)
		*o.t = &t
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into time", v)
	}
	return nil
}

func fold(s string) string { return rbac.Fold(s) }

// ConstraintOf names the uniqueness rule a backend's violation message is about; s holds
// the constraint or column names the database reported.
func ConstraintOf(s string) storage.Constraint {
	switch {
	case strings.Contains(s, "role_permission_sets"), strings.Contains(s, "permission_set_permissions"):
		return storage.UniqueRecord
	case strings.Contains(s, "user_name_fold"):
		return storage.UniqueUserName
	case strings.Contains(s, "oidc_subject"):
		return storage.UniqueUserSubject
	case strings.Contains(s, "normalized_name"):
		return storage.UniqueGroupName
	case strings.Contains(s, "role_mappings"):
		return storage.UniqueRoleMapping
	case strings.Contains(s, "permission_sets"):
		return storage.UniquePermissionSet
	case strings.Contains(s, "roles"):
		return storage.UniqueRoleName
	case strings.Contains(s, "connections"):
		return storage.UniqueConnectionName
	case strings.Contains(s, "tenants"):
		return storage.UniqueTenantName
	}
	return storage.UniqueRecord
}

func boolOrNil(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}
