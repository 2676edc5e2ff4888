package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rollcall/rollcall/storage"
)

// userColumns lists the users columns in the order userScan and userArgs use.
const userColumns = `u.seq, u.id, u.tenant_id, u.connection_id, u.kind, u.auth, u.user_name, u.external_id, u.active,
	u.email, u.org_group, u.password_hash, u.oidc_issuer, u.oidc_subject,
	u.display_name, u.nick_name, u.profile_url, u.title, u.user_type, u.preferred_language, u.locale, u.timezone,
	u.name_formatted, u.family_name, u.given_name, u.middle_name, u.honorific_prefix, u.honorific_suffix,
	u.employee_number, u.cost_center, u.organization, u.division, u.department, u.manager_id,
	u.scim_doc, u.version, u.created_at, u.updated_at`

type userScan struct {
	u                                           storage.User
	connection, kind, auth, externalID, email   text
	orgGroup, passwordHash, oidcIssuer, oidcSub text
	p                                           [20]text
	doc                                         string
	created, updated                            int64
}

func (s *userScan) dest() []any {
	u := &s.u
	d := []any{&u.Seq, &u.ID, &u.TenantID, &s.connection, &s.kind, &s.auth, &u.UserName, &s.externalID, &u.Active,
		&s.email, &s.orgGroup, &s.passwordHash, &s.oidcIssuer, &s.oidcSub}
	for i := range s.p {
		d = append(d, &s.p[i])
	}
	return append(d, &s.doc, &u.Version, &s.created, &s.updated)
}

func (s *userScan) user() storage.User {
	u := s.u
	u.ConnectionID = string(s.connection)
	u.Kind, u.Auth = storage.UserKind(s.kind), storage.AuthMethod(s.auth)
	u.ExternalID, u.Email, u.OrgGroup = string(s.externalID), string(s.email), string(s.orgGroup)
	u.PasswordHash, u.OIDCIssuer, u.OIDCSubject = string(s.passwordHash), string(s.oidcIssuer), string(s.oidcSub)
	p := &u.Profile
	for i, f := range profileFields(p) {
		*f = string(s.p[i])
	}
	u.Doc = json.RawMessage(s.doc)
	u.CreatedAt, u.UpdatedAt = fromMicros(s.created), fromMicros(s.updated)
	return u
}

// profileFields lists the Profile fields in column order (display_name … manager_id).
func profileFields(p *storage.Profile) [20]*string {
	return [20]*string{&p.DisplayName, &p.NickName, &p.ProfileURL, &p.Title, &p.UserType, &p.PreferredLanguage,
		&p.Locale, &p.Timezone, &p.NameFormatted, &p.FamilyName, &p.GivenName, &p.MiddleName, &p.HonorificPrefix,
		&p.HonorificSuffix, &p.EmployeeNumber, &p.CostCenter, &p.Organization, &p.Division, &p.Department, &p.ManagerID}
}

func docText(doc json.RawMessage) string {
	if len(doc) == 0 {
		return "{}"
	}
	return string(doc)
}

// userArgs returns the bind arguments of every writable users column, from connection_id on,
// in the order of userWritable.
func userArgs(u *storage.User) []any {
	args := []any{null(u.ConnectionID), string(u.Kind), string(u.Auth), u.UserName, fold(u.UserName),
		null(u.ExternalID), u.Active, null(u.Email), null(u.OrgGroup), null(u.PasswordHash), null(u.OIDCIssuer),
		null(u.OIDCSubject)}
	for _, f := range profileFields(&u.Profile) {
		args = append(args, null(*f))
	}
	return append(args, docText(u.Doc), u.Version, micros(u.CreatedAt), micros(u.UpdatedAt))
}

var userWritable = []string{"connection_id", "kind", "auth", "user_name", "user_name_fold", "external_id", "active",
	"email", "org_group", "password_hash", "oidc_issuer", "oidc_subject",
	"display_name", "nick_name", "profile_url", "title", "user_type", "preferred_language", "locale", "timezone",
	"name_formatted", "family_name", "given_name", "middle_name", "honorific_prefix", "honorific_suffix",
	"employee_number", "cost_center", "organization", "division", "department", "manager_id",
	"scim_doc", "version", "created_at", "updated_at"}

func (t *txn) CreateUser(ctx context.Context, u storage.User) error {
	for _, st := range createUserStatements(&u) {
		if _, err := t.q.ExecContext(ctx, st.SQL, st.Args...); err != nil {
			return t.fail(st.Op, err)
		}
	}
	return nil
}

// createUserStatements returns the statements that write a new user: its row and, when it
// has any, its multi-valued attributes.
func createUserStatements(u *storage.User) []Statement {
	var b builder
	b.w("INSERT INTO users (id, tenant_id")
	for _, c := range userWritable {
		b.w(", ", c)
	}
	b.w(") VALUES (", b.arg(u.ID), ", ", b.arg(u.TenantID))
	for _, a := range userArgs(u) {
		b.w(", ", b.arg(a))
	}
	b.w(")")
	out := []Statement{{SQL: b.String(), Args: b.args, Op: "create user"}}
	if len(u.Values) > 0 {
		out = append(out, valuesStatement(u))
	}
	return out
}

func (t *txn) UpdateUser(ctx context.Context, u storage.User) error {
	if err := t.UpdateUserRow(ctx, u); err != nil {
		return err
	}
	if _, err := t.q.ExecContext(ctx, `DELETE FROM user_values WHERE user_id = $1`, u.ID); err != nil {
		return t.fail("update user values", err)
	}
	return t.insertValues(ctx, &u)
}

func (t *txn) UpdateUserRow(ctx context.Context, u storage.User) error {
	var b builder
	b.w("UPDATE users SET ")
	for i, a := range userArgs(&u) {
		if i > 0 {
			b.w(", ")
		}
		b.w(userWritable[i], " = ", b.arg(a))
	}
	b.w(" WHERE tenant_id = ", b.arg(u.TenantID), " AND id = ", b.arg(u.ID))
	res, err := t.q.ExecContext(ctx, b.String(), b.args...)
	if err != nil {
		return t.fail("update user", err)
	}
	if err := t.mustAffect(res); err != nil {
		return err
	}
	if !u.Active {
		// Deactivation signs the user out everywhere, in the same transaction.
		if _, err := t.q.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, u.ID); err != nil {
			return t.fail("end sessions", err)
		}
	}
	return nil
}

func (t *txn) insertValues(ctx context.Context, u *storage.User) error {
	if len(u.Values) == 0 {
		return nil
	}
	st := valuesStatement(u)
	_, err := t.q.ExecContext(ctx, st.SQL, st.Args...)
	return t.fail(st.Op, err)
}

// valuesStatement inserts the rows of u's multi-valued attributes (u.Values is not empty).
func valuesStatement(u *storage.User) Statement {
	var b builder
	b.w(`INSERT INTO user_values (user_id, tenant_id, attr, pos, value, value_fold, display, type, is_primary,
		formatted, street_address, locality, region, postal_code, country) VALUES `)
	pos := map[string]int{}
	for i, v := range u.Values {
		if i > 0 {
			b.w(", ")
		}
		p := pos[v.Attr]
		pos[v.Attr] = p + 1
		b.w("(", b.arg(u.ID), ", ", b.arg(u.TenantID), ", ", b.arg(v.Attr), ", ", b.arg(p), ", ",
			b.arg(null(v.Value)), ", ", b.arg(null(fold(v.Value))), ", ", b.arg(null(v.Display)), ", ",
			b.arg(null(v.Type)), ", ", b.arg(boolOrNil(v.Primary)), ", ", b.arg(null(v.Formatted)), ", ",
			b.arg(null(v.StreetAddress)), ", ", b.arg(null(v.Locality)), ", ", b.arg(null(v.Region)), ", ",
			b.arg(null(v.PostalCode)), ", ", b.arg(null(v.Country)), ")")
	}
	return Statement{SQL: b.String(), Args: b.args, Op: "insert user values"}
}

func (t *txn) DeleteUser(ctx context.Context, scope storage.Scope, id string, at time.Time) error {
	var b builder
	b.w("DELETE FROM users WHERE id = ", b.arg(id))
	scopeWhere(&b, "users", scope)
	res, err := t.q.ExecContext(ctx, b.String(), b.args...)
	if err != nil {
		return t.fail("delete user", err)
	}
	if err := t.mustAffect(res); err != nil {
		return err
	}
	return t.leaveGroups(ctx, id, at)
}

// leaveGroups removes a deleted member (a user or a group) from the groups it was in, and
// moves their version and lastModified to at: their members changed, as a member PATCH
// changes them. Memberships name members without a foreign key (a member is a user or a
// group), so nothing else removes them. The groups are locked in id order, so that two
// deletions cannot lock them in opposite orders.
func (t *txn) leaveGroups(ctx context.Context, memberID string, at time.Time) error {
	var del builder
	del.w("DELETE FROM group_members WHERE member_id = ", del.arg(memberID), " RETURNING group_id")
	groups, err := t.returnedIDs(ctx, "delete memberships", &del)
	if err != nil || len(groups) == 0 {
		return err
	}
	var b builder
	b.w("UPDATE groups SET version = version + 1, updated_at = ", b.arg(micros(at)),
		" WHERE id IN (SELECT id FROM groups WHERE ", t.in(&b, "id", groups), " ORDER BY id", t.d.ForUpdate, ")")
	_, err = t.q.ExecContext(ctx, b.String(), b.args...)
	return t.fail("touch groups", err)
}

// scopeWhere appends the scope's conditions on the table (or alias) named.
func scopeWhere(b *builder, table string, scope storage.Scope) {
	b.w(" AND ", table, ".tenant_id = ", b.arg(scope.TenantID))
	if scope.ConnectionID != "" {
		b.w(" AND ", table, ".connection_id = ", b.arg(scope.ConnectionID))
	}
}

func (r reader) User(ctx context.Context, scope storage.Scope, id string) (storage.User, error) {
	return r.user(ctx, scope, id, false)
}

func (t *txn) LockUser(ctx context.Context, scope storage.Scope, id string) (storage.User, error) {
	return t.user(ctx, scope, id, true)
}

func (r reader) user(ctx context.Context, scope storage.Scope, id string, lock bool) (storage.User, error) {
	// A locking read on PostgreSQL locks the row first and reads its values and groups in a
	// second statement. Under READ COMMITTED, SELECT … FOR UPDATE that waited for another
	// transaction's lock returns the row as that transaction committed it, but subqueries of
	// the same statement still see the data as of the statement's start: the values would be
	// those the other transaction replaced, and a write of them would bring them back.
	// SQLite takes the database's write lock before a transaction reads anything.
	lockFirst := lock && r.lock && r.d.ForUpdate != ""
	var s userScan
	var vals, groups []byte
	dest := s.dest()
	var b builder
	b.w("SELECT ", userColumns)
	if !lockFirst {
		b.w(", ")
		r.valuesAndGroupsOf(&b, "u.id", scope)
		dest = append(dest, &vals, &groups)
	}
	b.w(" FROM users u WHERE u.id = ", b.arg(id))
	scopeWhere(&b, "u", scope)
	if lockFirst {
		b.w(r.d.ForUpdate)
	}
	if err := r.q.QueryRowContext(ctx, b.String(), b.args...).Scan(dest...); err != nil {
		return storage.User{}, r.fail("user", err)
	}
	u := s.user()
	if lockFirst {
		var b builder
		b.w("SELECT ")
		r.valuesAndGroupsOf(&b, b.arg(u.ID), scope)
		if err := r.q.QueryRowContext(ctx, b.String(), b.args...).Scan(&vals, &groups); err != nil {
			return storage.User{}, r.fail("user", err)
		}
	}
	var err error
	if u.Values, err = decodeValues(vals); err != nil {
		return u, err
	}
	u.Groups, err = decodeGroupRefs(groups)
	return u, err
}

// valuesAndGroupsOf writes two columns: the values (valuesOf) and the groups of the scope
// (groupRefsOf) of the user whose id is the SQL expression userID.
func (r reader) valuesAndGroupsOf(b *builder, userID string, scope storage.Scope) {
	b.w(r.valuesOf(userID), ", ")
	r.groupRefsOf(b, userID, scope)
}

// valuesOf is a scalar subquery: the multi-valued rows of the user whose id is userID, as a
// JSON array of [attr, value, display, type, is_primary, formatted, street_address, locality,
// region, postal_code, country] in attribute and position order (NULL or [] when none). A
// user is read with its values in one statement: a PATCH, which reads the user it locks,
// makes one round trip fewer.
func (r reader) valuesOf(userID string) string {
	return "(SELECT " + r.d.JSONAgg + "(" + r.d.JSONArray + `(v.attr, v.value, v.display, v.type, v.is_primary,
		v.formatted, v.street_address, v.locality, v.region, v.postal_code, v.country) ORDER BY v.attr, v.pos)
		FROM user_values v WHERE v.user_id = ` + userID + ")"
}

// decodeValues reads what valuesOf makes. is_primary is true or false from PostgreSQL and
// 1 or 0 from SQLite; absent fields are null.
func decodeValues(b []byte) ([]storage.Value, error) {
	rows, err := decodeArrays[[11]json.RawMessage](b, "values")
	if err != nil || rows == nil {
		return nil, err
	}
	out := make([]storage.Value, len(rows))
	for i, row := range rows {
		v := &out[i]
		text := [...]*string{&v.Attr, &v.Value, &v.Display, &v.Type, nil, &v.Formatted,
			&v.StreetAddress, &v.Locality, &v.Region, &v.PostalCode, &v.Country}
		for k, dst := range text {
			if dst == nil {
				continue
			}
			if err := json.Unmarshal(row[k], dst); err != nil {
				return nil, fmt.Errorf("sqlstore: values of a user: %w", err)
			}
		}
		switch string(row[4]) {
		case "true", "1":
			v.Primary = new(true)
		case "false", "0":
			v.Primary = new(false)
		case "null", "":
		default:
			return nil, fmt.Errorf("sqlstore: values of a user: is_primary %s", row[4])
		}
	}
	return out, nil
}

// Users implements storage.Reader. Listed users carry Profile but not Values (Values are
// indexes of Doc, which is what callers render).
func (r reader) Users(ctx context.Context, scope storage.Scope, q storage.Query) (storage.Page[storage.User], error) {
	// A sorted listing sorts its matches before it takes the page, and SQLite computes every
	// column of a row that enters the sort: the groups of a sorted page are read for its users
	// alone, with GroupsOfUsers.
	inline := q.WithGroups && q.SortBy == ""
	l := listing{r: r, table: "users", alias: "u", fields: userFields, sets: userSets, scope: scope, q: q,
		groupRefs: inline}
	p, err := page(ctx, &l, userColumns, func() ([]any, func() (storage.User, int64, error)) {
		var s userScan
		dest := s.dest()
		var groups []byte
		if inline {
			dest = append(dest, &groups)
		}
		return dest, func() (storage.User, int64, error) {
			u := s.user()
			var err error
			u.Groups, err = decodeGroupRefs(groups)
			return u, u.Seq, err
		}
	})
	if err != nil || !q.WithGroups || inline || len(p.Items) == 0 {
		return p, err
	}
	ids := make([]string, len(p.Items))
	for i, u := range p.Items {
		ids[i] = u.ID
	}
	refs, err := r.GroupsOfUsers(ctx, scope, ids)
	for i := range p.Items {
		p.Items[i].Groups = refs[p.Items[i].ID]
	}
	return p, err
}
