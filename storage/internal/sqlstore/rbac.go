package sqlstore

import (
	"context"
	"slices"
	"time"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// Permission sets.

func (t *txn) CreatePermissionSet(ctx context.Context, ps storage.PermissionSet) error {
	const q = `INSERT INTO permission_sets (id, tenant_id, name, name_fold, description, builtin, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	if _, err := t.q.ExecContext(ctx, q, ps.ID, ps.TenantID, ps.Name, fold(ps.Name), ps.Description, ps.Builtin,
		micros(ps.CreatedAt), micros(ps.UpdatedAt)); err != nil {
		return t.fail("create permission set", err)
	}
	return t.setPermissions(ctx, ps.ID, ps.Permissions)
}

func (t *txn) UpdatePermissionSet(ctx context.Context, ps storage.PermissionSet) error {
	const q = `UPDATE permission_sets SET name = $3, name_fold = $4, description = $5, updated_at = $6
		WHERE tenant_id = $1 AND id = $2`
	res, err := t.q.ExecContext(ctx, q, ps.TenantID, ps.ID, ps.Name, fold(ps.Name), ps.Description, micros(ps.UpdatedAt))
	if err != nil {
		return t.fail("update permission set", err)
	}
	if err := t.mustAffect(res); err != nil {
		return err
	}
	if _, err := t.q.ExecContext(ctx, `DELETE FROM permission_set_permissions WHERE permission_set_id = $1`, ps.ID); err != nil {
		return t.fail("update permission set", err)
	}
	return t.setPermissions(ctx, ps.ID, ps.Permissions)
}

func (t *txn) setPermissions(ctx context.Context, setID string, ps []rbac.Permission) error {
	if len(ps) == 0 {
		return nil
	}
	var b builder
	b.w("INSERT INTO permission_set_permissions (permission_set_id, permission) VALUES ")
	for i, p := range ps {
		if i > 0 {
			b.w(", ")
		}
		b.w("(", b.arg(setID), ", ", b.arg(string(p)), ")")
	}
	b.w(" ON CONFLICT DO NOTHING")
	_, err := t.q.ExecContext(ctx, b.String(), b.args...)
	return t.fail("set permissions", err)
}

func (t *txn) DeletePermissionSet(ctx context.Context, tenantID, id string) error {
	var n int
	if err := t.q.QueryRowContext(ctx, `SELECT count(*) FROM role_permission_sets WHERE permission_set_id = $1`, id).Scan(&n); err != nil {
		return t.fail("delete permission set", err)
	}
	if n > 0 {
		return storage.ErrInUse
	}
	res, err := t.q.ExecContext(ctx, `DELETE FROM permission_sets WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err != nil {
		return t.fail("delete permission set", err)
	}
	return t.mustAffect(res)
}

const permissionSetColumns = `ps.id, ps.tenant_id, ps.name, ps.description, ps.builtin, ps.created_at, ps.updated_at,
	(SELECT count(*) FROM role_permission_sets rps WHERE rps.permission_set_id = ps.id)`

func (r reader) permissionSets(ctx context.Context, tenantID, id string) ([]storage.PermissionSet, error) {
	var b builder
	b.w("SELECT ", permissionSetColumns, " FROM permission_sets ps WHERE ps.tenant_id = ", b.arg(tenantID))
	if id != "" {
		b.w(" AND ps.id = ", b.arg(id))
	}
	b.w(" ORDER BY ps.name_fold")
	rows, err := r.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, r.fail("permission sets", err)
	}
	var out []storage.PermissionSet
	index := map[string]int{}
	for rows.Next() {
		var ps storage.PermissionSet
		var created, updated int64
		if err := rows.Scan(&ps.ID, &ps.TenantID, &ps.Name, &ps.Description, &ps.Builtin, &created, &updated, &ps.Roles); err != nil {
			rows.Close()
			return nil, r.fail("permission sets", err)
		}
		ps.CreatedAt, ps.UpdatedAt = fromMicros(created), fromMicros(updated)
		index[ps.ID] = len(out)
		out = append(out, ps)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, r.fail("permission sets", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	b = builder{}
	b.w(`SELECT psp.permission_set_id, psp.permission FROM permission_set_permissions psp
		JOIN permission_sets ps ON ps.id = psp.permission_set_id WHERE ps.tenant_id = `, b.arg(tenantID))
	if id != "" {
		b.w(" AND ps.id = ", b.arg(id))
	}
	b.w(" ORDER BY psp.permission")
	prow, err := r.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, r.fail("permission set permissions", err)
	}
	defer prow.Close()
	for prow.Next() {
		var setID, perm string
		if err := prow.Scan(&setID, &perm); err != nil {
			return nil, r.fail("permission set permissions", err)
		}
		if i, ok := index[setID]; ok {
			out[i].Permissions = append(out[i].Permissions, rbac.Permission(perm))
		}
	}
	return out, r.fail("permission set permissions", prow.Err())
}

func (r reader) PermissionSet(ctx context.Context, tenantID, id string) (storage.PermissionSet, error) {
	sets, err := r.permissionSets(ctx, tenantID, id)
	if err != nil {
		return storage.PermissionSet{}, err
	}
	if len(sets) == 0 {
		return storage.PermissionSet{}, storage.ErrNotFound
	}
	return sets[0], nil
}

func (r reader) PermissionSets(ctx context.Context, tenantID string) ([]storage.PermissionSet, error) {
	return r.permissionSets(ctx, tenantID, "")
}

// Roles.

func (t *txn) CreateRole(ctx context.Context, ro storage.Role) error {
	const q = `INSERT INTO roles (id, tenant_id, name, name_fold, description, builtin, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	if _, err := t.q.ExecContext(ctx, q, ro.ID, ro.TenantID, ro.Name, fold(ro.Name), ro.Description, ro.Builtin,
		micros(ro.CreatedAt), micros(ro.UpdatedAt)); err != nil {
		return t.fail("create role", err)
	}
	return t.setRoleSets(ctx, ro)
}

func (t *txn) UpdateRole(ctx context.Context, ro storage.Role) error {
	const q = `UPDATE roles SET name = $3, name_fold = $4, description = $5, updated_at = $6 WHERE tenant_id = $1 AND id = $2`
	res, err := t.q.ExecContext(ctx, q, ro.TenantID, ro.ID, ro.Name, fold(ro.Name), ro.Description, micros(ro.UpdatedAt))
	if err != nil {
		return t.fail("update role", err)
	}
	if err := t.mustAffect(res); err != nil {
		return err
	}
	if _, err := t.q.ExecContext(ctx, `DELETE FROM role_permission_sets WHERE role_id = $1`, ro.ID); err != nil {
		return t.fail("update role", err)
	}
	return t.setRoleSets(ctx, ro)
}

// setRoleSets links a role to its permission sets; a set that is not the tenant's is
// ErrNotFound.
func (t *txn) setRoleSets(ctx context.Context, ro storage.Role) error {
	if len(ro.PermissionSetIDs) == 0 {
		return nil
	}
	var b builder
	b.w("INSERT INTO role_permission_sets (role_id, permission_set_id) SELECT ", b.arg(ro.ID),
		", ps.id FROM permission_sets ps WHERE ps.tenant_id = ", b.arg(ro.TenantID), " AND ", t.in(&b, "ps.id", ro.PermissionSetIDs),
		" ON CONFLICT DO NOTHING")
	n, err := t.execCount(ctx, "set role permission sets", &b)
	if err != nil {
		return err
	}
	if n != len(dedupe(ro.PermissionSetIDs)) {
		return storage.ErrNotFound
	}
	return nil
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func (t *txn) DeleteRole(ctx context.Context, tenantID, id string) error {
	var n int
	if err := t.q.QueryRowContext(ctx, `SELECT count(*) FROM role_assignments WHERE role_id = $1`, id).Scan(&n); err != nil {
		return t.fail("delete role", err)
	}
	if n > 0 {
		return storage.ErrInUse
	}
	res, err := t.q.ExecContext(ctx, `DELETE FROM roles WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err != nil {
		return t.fail("delete role", err)
	}
	return t.mustAffect(res)
}

const roleColumns = `ro.id, ro.tenant_id, ro.name, ro.description, ro.builtin, ro.created_at, ro.updated_at,
	(SELECT count(DISTINCT ra.user_id) FROM role_assignments ra WHERE ra.role_id = ro.id)`

func (r reader) roles(ctx context.Context, tenantID, id string) ([]storage.Role, error) {
	var b builder
	b.w("SELECT ", roleColumns, " FROM roles ro WHERE ro.tenant_id = ", b.arg(tenantID))
	if id != "" {
		b.w(" AND ro.id = ", b.arg(id))
	}
	b.w(" ORDER BY ro.name_fold")
	rows, err := r.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, r.fail("roles", err)
	}
	var out []storage.Role
	index := map[string]int{}
	for rows.Next() {
		var ro storage.Role
		var created, updated int64
		if err := rows.Scan(&ro.ID, &ro.TenantID, &ro.Name, &ro.Description, &ro.Builtin, &created, &updated, &ro.Users); err != nil {
			rows.Close()
			return nil, r.fail("roles", err)
		}
		ro.CreatedAt, ro.UpdatedAt = fromMicros(created), fromMicros(updated)
		index[ro.ID] = len(out)
		out = append(out, ro)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, r.fail("roles", err)
	}
	b = builder{}
	b.w(`SELECT rps.role_id, rps.permission_set_id FROM role_permission_sets rps JOIN roles ro ON ro.id = rps.role_id
		WHERE ro.tenant_id = `, b.arg(tenantID))
	if id != "" {
		b.w(" AND ro.id = ", b.arg(id))
	}
	b.w(" ORDER BY rps.permission_set_id")
	if err := r.each(ctx, &b, "role permission sets", func(scan func(...any) error) error {
		var roleID, setID string
		if err := scan(&roleID, &setID); err != nil {
			return err
		}
		out[index[roleID]].PermissionSetIDs = append(out[index[roleID]].PermissionSetIDs, setID)
		return nil
	}); err != nil {
		return nil, err
	}
	b = builder{}
	b.w(`SELECT rm.role_id, rm.connection_id, rm.group_id, rm.created_at FROM role_mappings rm WHERE rm.tenant_id = `, b.arg(tenantID))
	if id != "" {
		b.w(" AND rm.role_id = ", b.arg(id))
	}
	b.w(" ORDER BY rm.connection_id")
	err = r.each(ctx, &b, "role mappings", func(scan func(...any) error) error {
		var m storage.RoleMapping
		var created int64
		if err := scan(&m.RoleID, &m.ConnectionID, &m.GroupID, &created); err != nil {
			return err
		}
		m.CreatedAt = fromMicros(created)
		if i, ok := index[m.RoleID]; ok {
			out[i].Mappings = append(out[i].Mappings, m)
		}
		return nil
	})
	return out, err
}

// each runs a query and calls fn with each row's Scan.
func (r reader) each(ctx context.Context, b *builder, op string, fn func(scan func(...any) error) error) error {
	rows, err := r.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return r.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return r.fail(op, err)
		}
	}
	return r.fail(op, rows.Err())
}

func (r reader) Role(ctx context.Context, tenantID, id string) (storage.Role, error) {
	roles, err := r.roles(ctx, tenantID, id)
	if err != nil {
		return storage.Role{}, err
	}
	if len(roles) == 0 {
		return storage.Role{}, storage.ErrNotFound
	}
	return roles[0], nil
}

func (r reader) Roles(ctx context.Context, tenantID string) ([]storage.Role, error) {
	return r.roles(ctx, tenantID, "")
}

func (t *txn) SetRoleMapping(ctx context.Context, tenantID string, m storage.RoleMapping) error {
	// Both ends must be the tenant's, and the group must be the connection's.
	var ok int
	const check = `SELECT count(*) FROM roles ro, groups g WHERE ro.tenant_id = $1 AND ro.id = $2
		AND g.tenant_id = $1 AND g.id = $3 AND g.connection_id = $4`
	if err := t.q.QueryRowContext(ctx, check, tenantID, m.RoleID, m.GroupID, m.ConnectionID).Scan(&ok); err != nil {
		return t.fail("set role mapping", err)
	}
	if ok == 0 {
		return storage.ErrNotFound
	}
	if err := t.DeleteRoleMapping(ctx, tenantID, m.RoleID, m.ConnectionID); err != nil {
		return err
	}
	const q = `INSERT INTO role_mappings (role_id, connection_id, group_id, tenant_id, created_at) VALUES ($1, $2, $3, $4, $5)`
	_, err := t.q.ExecContext(ctx, q, m.RoleID, m.ConnectionID, m.GroupID, tenantID, micros(m.CreatedAt))
	return t.fail("set role mapping", err)
}

func (t *txn) DeleteRoleMapping(ctx context.Context, tenantID, roleID, connectionID string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM role_mappings WHERE tenant_id = $1 AND role_id = $2 AND connection_id = $3`,
		tenantID, roleID, connectionID)
	return t.fail("delete role mapping", err)
}

// Assignments.

func (t *txn) AssignRoles(ctx context.Context, tenantID, userID string, roleIDs []string, source rbac.Source, at time.Time) error {
	if len(roleIDs) == 0 {
		return nil
	}
	var b builder
	b.w("INSERT INTO role_assignments (user_id, role_id, source, tenant_id, created_at) SELECT u.id, ro.id, ",
		b.arg(string(source)), ", u.tenant_id, ", b.arg(micros(at)), " FROM users u, roles ro WHERE u.tenant_id = ",
		b.arg(tenantID), " AND u.id = ", b.arg(userID), " AND ro.tenant_id = u.tenant_id AND ",
		t.in(&b, "ro.id", roleIDs), " ON CONFLICT DO NOTHING")
	if _, err := t.execCount(ctx, "assign roles", &b); err != nil {
		return err
	}
	// Every role named must be the tenant's, and the user too.
	var b2 builder
	b2.w("SELECT count(*) FROM roles ro WHERE ro.tenant_id = ", b2.arg(tenantID), " AND ", t.in(&b2, "ro.id", roleIDs),
		" AND EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = ", b2.arg(tenantID), " AND u.id = ", b2.arg(userID), ")")
	var n int
	if err := t.q.QueryRowContext(ctx, b2.String(), b2.args...).Scan(&n); err != nil {
		return t.fail("assign roles", err)
	}
	if n != len(dedupe(roleIDs)) {
		return storage.ErrNotFound
	}
	return nil
}

func (t *txn) RevokeRoles(ctx context.Context, tenantID, userID string, roleIDs []string, source rbac.Source) error {
	if len(roleIDs) == 0 {
		return nil
	}
	var b builder
	b.w("DELETE FROM role_assignments WHERE tenant_id = ", b.arg(tenantID), " AND user_id = ", b.arg(userID),
		" AND source = ", b.arg(string(source)), " AND ", t.in(&b, "role_id", roleIDs))
	_, err := t.execCount(ctx, "revoke roles", &b)
	return err
}

func (r reader) UserRoles(ctx context.Context, tenantID, userID string) ([]storage.RoleAssignment, error) {
	m, err := r.RolesOfUsers(ctx, tenantID, []string{userID})
	return m[userID], err
}

func (r reader) RolesOfUsers(ctx context.Context, tenantID string, userIDs []string) (map[string][]storage.RoleAssignment, error) {
	out := make(map[string][]storage.RoleAssignment, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	var b builder
	b.w(`SELECT ra.user_id, ra.role_id, ra.source, ra.created_at FROM role_assignments ra WHERE ra.tenant_id = `,
		b.arg(tenantID), " AND ", r.in(&b, "ra.user_id", userIDs), " ORDER BY ra.user_id, ra.role_id, ra.source")
	err := r.each(ctx, &b, "user roles", func(scan func(...any) error) error {
		var a storage.RoleAssignment
		var src string
		var created int64
		if err := scan(&a.UserID, &a.RoleID, &src, &created); err != nil {
			return err
		}
		a.Source, a.CreatedAt = rbac.Source(src), fromMicros(created)
		out[a.UserID] = append(out[a.UserID], a)
		return nil
	})
	return out, err
}

// effectivePermissions joins a user's assignments to the permissions of their roles' sets;
// every step is a primary-key lookup.
const effectivePermissions = `FROM role_assignments ra
	JOIN role_permission_sets rps ON rps.role_id = ra.role_id
	JOIN permission_set_permissions psp ON psp.permission_set_id = rps.permission_set_id
	WHERE ra.user_id = $1 AND ra.tenant_id = $2`

func (r reader) Permissions(ctx context.Context, tenantID, userID string) ([]rbac.Permission, error) {
	var b builder
	b.args = []any{userID, tenantID}
	b.w("SELECT DISTINCT psp.permission ", effectivePermissions, " ORDER BY psp.permission")
	return r.permissions(ctx, &b, "permissions")
}

// permissions runs a query of one permission column.
func (r reader) permissions(ctx context.Context, b *builder, op string) ([]rbac.Permission, error) {
	var out []rbac.Permission
	err := r.each(ctx, b, op, func(scan func(...any) error) error {
		var p string
		if err := scan(&p); err != nil {
			return err
		}
		out = append(out, rbac.Permission(p))
		return nil
	})
	return out, err
}

func (r reader) HasPermission(ctx context.Context, tenantID, userID string, p rbac.Permission) (bool, error) {
	var n int
	err := r.q.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 "+effectivePermissions+" AND psp.permission = $3 LIMIT 1) x",
		userID, tenantID, string(p)).Scan(&n)
	return n > 0, r.fail("has permission", err)
}

func (r reader) HasActiveHolder(ctx context.Context, tenantID string, perms []rbac.Permission) (bool, error) {
	var list []string
	for _, p := range perms {
		if !slices.Contains(list, string(p)) {
			list = append(list, string(p))
		}
	}
	if len(list) == 0 {
		return true, nil
	}
	// The assignments read are those of the tenant's roles that grant one of the permissions,
	// found by the role index: an administrator's change that maps a 100 000-member group to
	// a role without them no longer reads the 100 000 new assignments (1.6 s) to see that
	// the administrators still hold theirs. Roles belong to one tenant, so their assignments
	// are the tenant's.
	var b builder
	among := b.arg(r.d.ListArg(list))
	b.w(`SELECT count(*) FROM (SELECT ra.user_id FROM role_assignments ra
		JOIN users u ON u.id = ra.user_id
		JOIN role_permission_sets rps ON rps.role_id = ra.role_id
		JOIN permission_set_permissions psp ON psp.permission_set_id = rps.permission_set_id
		WHERE ra.role_id IN (SELECT gr.id FROM roles gr
			JOIN role_permission_sets grps ON grps.role_id = gr.id
			JOIN permission_set_permissions gpsp ON gpsp.permission_set_id = grps.permission_set_id
			WHERE gr.tenant_id = `, b.arg(tenantID), ` AND `, r.d.InList("gpsp.permission", among), `)
		AND u.active = `, b.arg(true), ` AND `, r.d.InList("psp.permission", among),
		` GROUP BY ra.user_id HAVING count(DISTINCT psp.permission) = `, b.arg(len(list)), ` LIMIT 1) x`)
	var n int
	err := r.q.QueryRowContext(ctx, b.String(), b.args...).Scan(&n)
	return n > 0, r.fail("active holder", err)
}

func (r reader) ConnectionPermissions(ctx context.Context, tenantID, connectionID string, among []rbac.Permission) ([]rbac.Permission, error) {
	if len(among) == 0 {
		return nil, nil
	}
	list := make([]string, len(among))
	for i, p := range among {
		list[i] = string(p)
	}
	var b builder
	b.w(`SELECT DISTINCT psp.permission FROM permission_set_permissions psp
		JOIN role_permission_sets rps ON rps.permission_set_id = psp.permission_set_id
		JOIN role_assignments ra ON ra.role_id = rps.role_id
		JOIN users u ON u.id = ra.user_id
		WHERE ra.tenant_id = `, b.arg(tenantID), ` AND u.connection_id = `, b.arg(connectionID), ` AND `,
		r.in(&b, "psp.permission", list), ` ORDER BY psp.permission`)
	return r.permissions(ctx, &b, "connection permissions")
}

func (r reader) UsersByUserName(ctx context.Context, userName string) ([]storage.User, error) {
	rows, err := r.q.QueryContext(ctx, "SELECT "+userColumns+" FROM users u WHERE u.user_name_fold = $1 ORDER BY u.seq", fold(userName))
	if err != nil {
		return nil, r.fail("users by userName", err)
	}
	defer rows.Close()
	var out []storage.User
	for rows.Next() {
		var s userScan
		if err := rows.Scan(s.dest()...); err != nil {
			return nil, r.fail("users by userName", err)
		}
		out = append(out, s.user())
	}
	return out, r.fail("users by userName", rows.Err())
}

// Sessions.

func (t *txn) CreateSession(ctx context.Context, s storage.Session) error {
	const q = `INSERT INTO sessions (id_hash, kind, tenant_id, user_id, connection_id, created_at, expires_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	_, err := t.q.ExecContext(ctx, q, s.IDHash, string(s.Kind), s.TenantID, s.UserID, null(s.ConnectionID),
		micros(s.CreatedAt), micros(s.ExpiresAt), micros(s.LastSeenAt))
	return t.fail("create session", err)
}

func (t *txn) DeleteSession(ctx context.Context, idHash []byte) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash)
	return t.fail("delete session", err)
}

func (t *txn) DeleteUserSessions(ctx context.Context, tenantID, userID string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID)
	return t.fail("delete user sessions", err)
}

func (t *txn) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	var b builder
	b.w("DELETE FROM sessions WHERE expires_at <= ", b.arg(micros(now)))
	n, err := t.execCount(ctx, "delete expired sessions", &b)
	if err != nil {
		return 0, err
	}
	var f builder
	f.w("DELETE FROM login_flows WHERE expires_at <= ", f.arg(micros(now)))
	m, err := t.execCount(ctx, "delete expired sign-ins", &f)
	if err != nil {
		return 0, err
	}
	var a builder
	a.w("DELETE FROM attempts WHERE expires_at <= ", a.arg(micros(now)))
	k, err := t.execCount(ctx, "delete expired attempt counts", &a)
	return n + m + k, err
}

func (t *txn) CountAttempt(ctx context.Context, keys []storage.AttemptLimit, window time.Duration, now time.Time) (time.Duration, error) {
	// One upsert per key counts the attempt and reads the count back atomically, so that
	// concurrent attempts, on any replica, each see the others. An attempt refused is counted
	// too, which changes nothing: its window's end does not move.
	const upsert = `INSERT INTO attempts (key, n, expires_at) VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET
			n = CASE WHEN attempts.expires_at <= $3 THEN 1 ELSE attempts.n + 1 END,
			expires_at = CASE WHEN attempts.expires_at <= $3 THEN excluded.expires_at ELSE attempts.expires_at END
		RETURNING n, expires_at`
	var wait time.Duration
	for _, k := range keys {
		var n int
		var expires int64
		if err := t.q.QueryRowContext(ctx, upsert, k.Key, micros(now.Add(window)), micros(now)).Scan(&n, &expires); err != nil {
			return 0, t.fail("count attempt", err)
		}
		if n > k.Limit {
			wait = max(wait, fromMicros(expires).Sub(now), time.Microsecond)
		}
	}
	return wait, nil
}

func (t *txn) UncountAttempt(ctx context.Context, uncount, clear []string) error {
	if len(uncount) > 0 {
		var b builder
		b.w("UPDATE attempts SET n = n - 1 WHERE n > 0 AND ", t.in(&b, "key", uncount))
		if _, err := t.execCount(ctx, "uncount attempt", &b); err != nil {
			return err
		}
	}
	if len(clear) > 0 {
		var b builder
		b.w("DELETE FROM attempts WHERE ", t.in(&b, "key", clear))
		if _, err := t.execCount(ctx, "clear attempts", &b); err != nil {
			return err
		}
	}
	return nil
}

func (r reader) Session(ctx context.Context, idHash []byte, now time.Time) (storage.Session, error) {
	const q = `SELECT id_hash, kind, tenant_id, user_id, connection_id, created_at, expires_at, last_seen_at
		FROM sessions WHERE id_hash = $1 AND expires_at > $2`
	var s storage.Session
	var kind string
	var conn text
	var created, expires, seen int64
	err := r.q.QueryRowContext(ctx, q, idHash, micros(now)).Scan(&s.IDHash, &kind, &s.TenantID, &s.UserID, &conn, &created, &expires, &seen)
	if err != nil {
		return s, r.fail("session", err)
	}
	s.Kind, s.ConnectionID = storage.SessionKind(kind), string(conn)
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt = fromMicros(created), fromMicros(expires), fromMicros(seen)
	return s, nil
}
