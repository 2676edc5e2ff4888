package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rollcall/rollcall/storage"
)

const groupColumns = `g.seq, g.id, g.tenant_id, g.connection_id, g.display_name, g.normalized_name, g.external_id,
	g.scim, g.seen_at_login, g.scim_doc, g.version, g.created_at, g.updated_at, g.last_seen_at,
	(SELECT rm.role_id FROM role_mappings rm WHERE rm.group_id = g.id)`

type groupScan struct {
	g                          storage.Group
	externalID, mappedRole     text
	doc                        string
	created, updated, lastSeen int64
}

func (s *groupScan) dest() []any {
	g := &s.g
	return []any{&g.Seq, &g.ID, &g.TenantID, &g.ConnectionID, &g.DisplayName, &g.NormalizedName, &s.externalID,
		&g.SCIM, &g.SeenAtLogin, &s.doc, &g.Version, &s.created, &s.updated, &s.lastSeen, &s.mappedRole}
}

func (s *groupScan) group() storage.Group {
	g := s.g
	g.ExternalID, g.MappedRoleID = string(s.externalID), string(s.mappedRole)
	g.Doc = json.RawMessage(s.doc)
	g.CreatedAt, g.UpdatedAt, g.LastSeenAt = fromMicros(s.created), fromMicros(s.updated), fromMicros(s.lastSeen)
	return g
}

func (t *txn) CreateGroup(ctx context.Context, g storage.Group) error {
	const q = `INSERT INTO groups (id, tenant_id, connection_id, display_name, display_name_fold, normalized_name,
		external_id, scim, seen_at_login, scim_doc, version, created_at, updated_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`
	_, err := t.q.ExecContext(ctx, q, g.ID, g.TenantID, g.ConnectionID, g.DisplayName, fold(g.DisplayName),
		g.NormalizedName, null(g.ExternalID), g.SCIM, g.SeenAtLogin, docText(g.Doc), g.Version,
		micros(g.CreatedAt), micros(g.UpdatedAt), micros(g.LastSeenAt))
	return t.fail("create group", err)
}

func (t *txn) UpdateGroup(ctx context.Context, g storage.Group) error {
	const q = `UPDATE groups SET display_name = $3, display_name_fold = $4, normalized_name = $5, external_id = $6,
		scim = $7, seen_at_login = $8, scim_doc = $9, version = $10, updated_at = $11, last_seen_at = $12
		WHERE tenant_id = $1 AND id = $2`
	res, err := t.q.ExecContext(ctx, q, g.TenantID, g.ID, g.DisplayName, fold(g.DisplayName), g.NormalizedName,
		null(g.ExternalID), g.SCIM, g.SeenAtLogin, docText(g.Doc), g.Version, micros(g.UpdatedAt), micros(g.LastSeenAt))
	if err != nil {
		return t.fail("update group", err)
	}
	return t.mustAffect(res)
}

func (t *txn) DeleteGroup(ctx context.Context, scope storage.Scope, id string, at time.Time) error {
	var b builder
	b.w("DELETE FROM groups WHERE id = ", b.arg(id))
	scopeWhere(&b, "groups", scope)
	res, err := t.q.ExecContext(ctx, b.String(), b.args...)
	if err != nil {
		return t.fail("delete group", err)
	}
	if err := t.mustAffect(res); err != nil {
		return err
	}
	return t.leaveGroups(ctx, id, at)
}

func (r reader) Group(ctx context.Context, scope storage.Scope, id string) (storage.Group, error) {
	return r.group(ctx, scope, "g.id", id, false)
}

func (r reader) GroupByName(ctx context.Context, scope storage.Scope, normalized string) (storage.Group, error) {
	return r.group(ctx, scope, "g.normalized_name", normalized, false)
}

func (t *txn) LockGroup(ctx context.Context, scope storage.Scope, id string) (storage.Group, error) {
	return t.group(ctx, scope, "g.id", id, true)
}

func (r reader) group(ctx context.Context, scope storage.Scope, key, value string, lock bool) (storage.Group, error) {
	var b builder
	b.w("SELECT ", groupColumns, " FROM groups g WHERE ", key, " = ", b.arg(value))
	scopeWhere(&b, "g", scope)
	if lock && r.lock {
		b.w(r.d.ForUpdate)
	}
	var s groupScan
	if err := r.q.QueryRowContext(ctx, b.String(), b.args...).Scan(s.dest()...); err != nil {
		return storage.Group{}, r.fail("group", err)
	}
	return s.group(), nil
}

func (r reader) Groups(ctx context.Context, scope storage.Scope, q storage.Query) (storage.Page[storage.Group], error) {
	l := listing{r: r, table: "groups", alias: "g", fields: groupFields, sets: groupSets, scope: scope, q: q}
	return page(ctx, &l, groupColumns, func() ([]any, func() (storage.Group, int64, error)) {
		var s groupScan
		return s.dest(), func() (storage.Group, int64, error) { g := s.group(); return g, g.Seq, nil }
	})
}

// groupRefsOf writes a scalar subquery: the groups of the scope that the user whose id is
// userID is a direct member of, as a JSON array of [id, displayName] pairs in creation order
// (NULL or [] when none). A listing reads a page of users and their groups in one statement,
// where GroupsOfUsers would cost a second round trip.
func (r reader) groupRefsOf(b *builder, userID string, scope storage.Scope) {
	b.w("(SELECT ", r.d.JSONAgg, "(", r.d.JSONArray, "(ug.id, ug.display_name) ORDER BY ug.seq)",
		" FROM group_members ugm JOIN groups ug ON ug.id = ugm.group_id WHERE ugm.member_id = ", userID)
	scopeWhere(b, "ug", scope)
	b.w(")")
}

// decodeGroupRefs reads what groupRefsOf makes.
func decodeGroupRefs(b []byte) ([]storage.GroupRef, error) {
	pairs, err := decodeArrays[[2]string](b, "groups")
	if err != nil || pairs == nil {
		return nil, err
	}
	refs := make([]storage.GroupRef, len(pairs))
	for i, p := range pairs {
		refs[i] = storage.GroupRef{ID: p[0], DisplayName: p[1]}
	}
	return refs, nil
}

// decodeArrays reads a JSON array aggregated by a subquery: nil for SQL NULL (PostgreSQL's
// json_agg of no rows) and for [] (SQLite's json_group_array of none).
func decodeArrays[T any](b []byte, what string) ([]T, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var out []T
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("sqlstore: %s of a user: %w", what, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func (r reader) GroupsOfUsers(ctx context.Context, scope storage.Scope, userIDs []string) (map[string][]storage.GroupRef, error) {
	out := make(map[string][]storage.GroupRef, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	var b builder
	b.w(`SELECT m.member_id, g.id, g.display_name FROM group_members m JOIN groups g ON g.id = m.group_id
		WHERE `)
	b.w(r.in(&b, "m.member_id", userIDs))
	scopeWhere(&b, "g", scope)
	b.w(" ORDER BY m.member_id, g.seq")
	rows, err := r.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, r.fail("groups of users", err)
	}
	defer rows.Close()
	for rows.Next() {
		var uid string
		var g storage.GroupRef
		if err := rows.Scan(&uid, &g.ID, &g.DisplayName); err != nil {
			return nil, r.fail("groups of users", err)
		}
		out[uid] = append(out[uid], g)
	}
	return out, r.fail("groups of users", rows.Err())
}
