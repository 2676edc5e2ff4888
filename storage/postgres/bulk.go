package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// BulkBatch is how many users one transaction of BulkLoadUsers copies.
const BulkBatch = 20_000

// The columns COPY fills. They must stay in step with what storage/internal/sqlstore writes
// (userWritable, insertValues and AddMembers there): TestBulkLoad reads bulk-loaded rows back
// through the normal Store API to prove it.
var (
	bulkUserColumns = []string{"id", "tenant_id", "connection_id", "kind", "auth", "user_name", "user_name_fold",
		"external_id", "active", "email", "org_group", "password_hash", "oidc_issuer", "oidc_subject",
		"display_name", "nick_name", "profile_url", "title", "user_type", "preferred_language", "locale", "timezone",
		"name_formatted", "family_name", "given_name", "middle_name", "honorific_prefix", "honorific_suffix",
		"employee_number", "cost_center", "organization", "division", "department", "manager_id",
		"scim_doc", "version", "created_at", "updated_at"}
	bulkValueColumns = []string{"user_id", "tenant_id", "attr", "pos", "value", "value_fold", "display", "type",
		"is_primary", "formatted", "street_address", "locality", "region", "postal_code", "country"}
	bulkMemberColumns = []string{"group_id", "member_id", "member_type", "tenant_id", "created_at"}
)

// BulkLoadUsers inserts users with PostgreSQL's COPY, for seeding a database with far more
// users than SCIM POSTs could create in reasonable time. Each user is stored exactly as
// CreateUser stores it (its multi-valued attributes included), but nothing is audited and no
// rule beyond the schema's constraints is checked: callers build complete records (ID,
// TenantID, ConnectionID, Version, times). Every BulkBatch users commit in their own
// transaction, so after an error the batches before it stay loaded. A userName already taken
// in the tenant fails its batch with a *storage.ConflictError.
func (s *Store) BulkLoadUsers(ctx context.Context, users []storage.User) error {
	for len(users) > 0 {
		n := min(len(users), BulkBatch)
		if err := s.bulkLoadBatch(ctx, users[:n]); err != nil {
			return err
		}
		users = users[n:]
	}
	return nil
}

func (s *Store) bulkLoadBatch(ctx context.Context, users []storage.User) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"users"}, bulkUserColumns,
			pgx.CopyFromSlice(len(users), func(i int) ([]any, error) { return userRow(&users[i]), nil }))
		if err != nil {
			return bulkFail("copy users", err)
		}
		var rows [][]any
		for i := range users {
			rows = appendValueRows(rows, &users[i])
		}
		if len(rows) == 0 {
			return nil
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"user_values"}, bulkValueColumns, pgx.CopyFromRows(rows))
		return bulkFail("copy user values", err)
	})
}

// userRow is one users row in bulkUserColumns order, as sqlstore's userArgs binds it: absent
// strings are NULL, user_name_fold is the folded userName, times are Unix microseconds and an
// empty document is {}.
func userRow(u *storage.User) []any {
	p := &u.Profile
	doc := "{}"
	if len(u.Doc) > 0 {
		doc = string(u.Doc)
	}
	return []any{u.ID, u.TenantID, nullable(u.ConnectionID), string(u.Kind), string(u.Auth), u.UserName,
		rbac.Fold(u.UserName), nullable(u.ExternalID), u.Active, nullable(u.Email), nullable(u.OrgGroup),
		nullable(u.PasswordHash), nullable(u.OIDCIssuer), nullable(u.OIDCSubject),
		nullable(p.DisplayName), nullable(p.NickName), nullable(p.ProfileURL), nullable(p.Title),
		nullable(p.UserType), nullable(p.PreferredLanguage), nullable(p.Locale), nullable(p.Timezone),
		nullable(p.NameFormatted), nullable(p.FamilyName), nullable(p.GivenName), nullable(p.MiddleName),
		nullable(p.HonorificPrefix), nullable(p.HonorificSuffix), nullable(p.EmployeeNumber),
		nullable(p.CostCenter), nullable(p.Organization), nullable(p.Division), nullable(p.Department),
		nullable(p.ManagerID), doc, u.Version, u.CreatedAt.UnixMicro(), u.UpdatedAt.UnixMicro()}
}

// appendValueRows appends the user_values rows of u; pos counts within each attribute.
func appendValueRows(rows [][]any, u *storage.User) [][]any {
	var pos map[string]int64
	for _, v := range u.Values {
		if pos == nil {
			pos = make(map[string]int64, 2)
		}
		p := pos[v.Attr]
		pos[v.Attr] = p + 1
		rows = append(rows, []any{u.ID, u.TenantID, v.Attr, p, nullable(v.Value), nullable(rbac.Fold(v.Value)),
			nullable(v.Display), nullable(v.Type), primary(v.Primary), nullable(v.Formatted), nullable(v.StreetAddress),
			nullable(v.Locality), nullable(v.Region), nullable(v.PostalCode), nullable(v.Country)})
	}
	return rows
}

// BulkAddMembers makes the users ids members of the group with COPY, in one transaction. It is
// AddMembers for seeding: the group must be one of scope (else ErrNotFound), but the ids are
// not checked; they must name users of scope that are not members yet (a member already
// there fails the whole call with a *storage.ConflictError).
func (s *Store) BulkAddMembers(ctx context.Context, scope storage.Scope, groupID string, ids []string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := `SELECT 1 FROM groups WHERE id = $1 AND tenant_id = $2 AND ($3 = '' OR connection_id = $3) FOR UPDATE`
		var one int
		if err := tx.QueryRow(ctx, q, groupID, scope.TenantID, scope.ConnectionID).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return storage.ErrNotFound
			}
			return bulkFail("lock group", err)
		}
		now := time.Now().UnixMicro()
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"group_members"}, bulkMemberColumns,
			pgx.CopyFromSlice(len(ids), func(i int) ([]any, error) {
				return []any{groupID, ids[i], "User", scope.TenantID, now}, nil
			}))
		return bulkFail("copy members", err)
	})
}

// nullable binds an empty string as NULL, as sqlstore does: absent attributes are NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// primary binds an element's primary flag: NULL when the element does not say.
func primary(p *bool) any {
	if p == nil {
		return nil
	}
	return *p
}

// bulkFail turns a driver error into a storage error, as sqlstore does for every other
// statement.
func bulkFail(op string, err error) error {
	if err == nil {
		return nil
	}
	if c := classify(err); c != nil {
		return fmt.Errorf("%w (postgres: %s: %w)", c, op, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}
