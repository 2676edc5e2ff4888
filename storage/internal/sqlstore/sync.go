package sqlstore

import (
	"context"
	"strings"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// Role recomputation as set-based SQL. rbac.Sync states the rules for one user; these
// statements apply them to any number of users at once, so mapping a group of 100 000
// members is a handful of statements, not 100 000 round trips.
//
// subjects are the users a connection's mapping governs (its human SSO users, or the listed
// ones among them); maps the connection's group→role mappings; desired what the subjects
// should hold: one assignment per role mapped to a group they are in.

// syncCTE writes that WITH clause and returns the connection's assignment source. override,
// when set, replaces the role's mapping on the connection (GroupID "": removes it).
func (r reader) syncCTE(b *builder, tenantID, connectionID string, userIDs []string, override *storage.RoleMapping) string {
	t, c := b.arg(tenantID), b.arg(connectionID)
	b.w("WITH subjects AS (SELECT u.id FROM users u WHERE u.tenant_id = ", t, " AND u.connection_id = ", c,
		" AND u.kind = 'human' AND u.auth = 'sso'")
	if userIDs != nil {
		b.w(" AND ", r.in(b, "u.id", userIDs))
	}
	b.w("), maps AS (SELECT rm.role_id, rm.group_id FROM role_mappings rm WHERE rm.connection_id = ", c)
	if override != nil {
		role := b.arg(override.RoleID)
		b.w(" AND rm.role_id <> ", role)
		if override.GroupID != "" {
			g := b.arg(override.GroupID)
			b.w(" AND rm.group_id <> ", g, " UNION ALL SELECT CAST(", role, " AS TEXT), CAST(", g, " AS TEXT)")
		}
	}
	b.w("), desired AS (SELECT DISTINCT gm.member_id AS user_id, maps.role_id FROM maps",
		" JOIN group_members gm ON gm.group_id = maps.group_id WHERE gm.member_id IN (SELECT id FROM subjects))")
	return string(rbac.SourceIdP(connectionID))
}

// toGrant selects the desired assignments not yet held; toRevoke the held ones that must go:
// the connection's own that are no longer desired, and every manual one. $SRC is replaced by
// the placeholder of the connection's source.
const (
	toGrant = ` FROM desired d WHERE NOT EXISTS (SELECT 1 FROM role_assignments ra
		WHERE ra.user_id = d.user_id AND ra.role_id = d.role_id AND ra.source = $SRC)`
	toRevoke = ` FROM role_assignments ra WHERE ra.tenant_id = $TENANT AND ra.source IN ('manual', $SRC)
		AND ra.user_id IN (SELECT id FROM subjects)
		AND (ra.source = 'manual' OR (ra.source = $SRC AND NOT EXISTS
			(SELECT 1 FROM desired d WHERE d.user_id = ra.user_id AND d.role_id = ra.role_id)))`
)

func withSource(b *builder, sql, source string) string {
	return strings.ReplaceAll(sql, "$SRC", b.arg(source))
}

// withTenant replaces $TENANT with the placeholder of the tenant id.
func withTenant(b *builder, sql, tenantID string) string {
	return strings.ReplaceAll(sql, "$TENANT", b.arg(tenantID))
}

// auditSelect writes an INSERT … SELECT that records one audit event per selected row.
func (r reader) auditSelect(b *builder, tmpl storage.AuditEvent, action, userCol, roleCol, sourceCol string) {
	b.w(` INSERT INTO audit_events (id, tenant_id, at, actor_type, actor_id, action, target_type, target_id,
		result, cause, request_id, source_ip, detail) SELECT `, r.d.NewIDExpr, ", ", b.arg(tmpl.TenantID), ", ",
		b.arg(micros(tmpl.At)), ", ", b.arg(tmpl.ActorType), ", ", b.arg(tmpl.ActorID), ", ", b.arg(action),
		", 'user', ", userCol, ", 'success', ", b.arg(tmpl.Cause), ", ", b.arg(tmpl.RequestID), ", ", b.arg(tmpl.SourceIP),
		// Role ids and sources are ids Rollcall made: there are no quotes to escape.
		`, '{"role_id":"' || `, roleCol, ` || '","source":"' || `, sourceCol, ` || '"}'`)
}

func (t *txn) SyncRoles(ctx context.Context, tenantID, connectionID string, userIDs []string, tmpl storage.AuditEvent) (int, int, error) {
	if userIDs != nil && len(userIDs) == 0 {
		return 0, 0, nil
	}
	// The changes are computed once, into a temporary table the planner has statistics for,
	// then audited and applied from it. (Computing them in each statement made PostgreSQL
	// plan the revocations of 100 000 freshly loaded users as a loop over all of them.)
	exec := func(op, sql string, args ...any) (int, error) {
		b := builder{args: args}
		b.w(sql)
		return t.execCount(ctx, op, &b)
	}
	if _, err := exec("sync roles", `DROP TABLE IF EXISTS rc_role_changes`); err != nil {
		return 0, 0, err
	}
	if _, err := exec("sync roles", `CREATE TEMP TABLE rc_role_changes (user_id TEXT NOT NULL, role_id TEXT NOT NULL,
		source TEXT NOT NULL, granted BOOLEAN NOT NULL)`); err != nil {
		return 0, 0, err
	}
	for _, grant := range []bool{true, false} {
		var b builder
		src := t.syncCTE(&b, tenantID, connectionID, userIDs, nil)
		if grant {
			b.w(" INSERT INTO rc_role_changes (user_id, role_id, source, granted) SELECT d.user_id, d.role_id, CAST(",
				b.arg(src), " AS TEXT), TRUE", withSource(&b, toGrant, src))
		} else {
			b.w(" INSERT INTO rc_role_changes (user_id, role_id, source, granted) SELECT ra.user_id, ra.role_id, ra.source, FALSE",
				withTenant(&b, withSource(&b, toRevoke, src), tenantID))
		}
		if _, err := t.execCount(ctx, "compute role changes", &b); err != nil {
			return 0, 0, err
		}
	}
	if _, err := exec("sync roles", `ANALYZE rc_role_changes`); err != nil {
		return 0, 0, err
	}
	for _, grant := range []bool{true, false} {
		var b builder
		action, where := "role.grant", " FROM rc_role_changes c WHERE c.granted"
		if !grant {
			action, where = "role.revoke", " FROM rc_role_changes c WHERE NOT c.granted"
		}
		t.auditSelect(&b, tmpl, action, "c.user_id", "c.role_id", "c.source")
		b.w(where)
		if _, err := t.execCount(ctx, "audit role changes", &b); err != nil {
			return 0, 0, err
		}
	}
	granted, err := exec("grant roles", `INSERT INTO role_assignments (user_id, role_id, source, tenant_id, created_at)
		SELECT c.user_id, c.role_id, c.source, $1, $2 FROM rc_role_changes c WHERE c.granted ON CONFLICT DO NOTHING`,
		tenantID, micros(tmpl.At))
	if err != nil {
		return 0, 0, err
	}
	revoked, err := exec("revoke roles", `DELETE FROM role_assignments WHERE (user_id, role_id, source) IN
		(SELECT c.user_id, c.role_id, c.source FROM rc_role_changes c WHERE NOT c.granted)`)
	if err != nil {
		return 0, 0, err
	}
	_, err = exec("sync roles", `DROP TABLE rc_role_changes`)
	return granted, revoked, err
}

func (t *txn) ReleaseRoles(ctx context.Context, tenantID, connectionID string, tmpl storage.AuditEvent) (int, error) {
	source := string(rbac.SourceIdP(connectionID))
	var a builder
	a.w(`INSERT INTO role_assignments (user_id, role_id, source, tenant_id, created_at)
		SELECT ra.user_id, ra.role_id, 'manual', ra.tenant_id, ra.created_at FROM role_assignments ra
		WHERE ra.tenant_id = `, a.arg(tenantID), " AND ra.source = ", a.arg(source), " ON CONFLICT DO NOTHING")
	if _, err := t.execCount(ctx, "release roles", &a); err != nil {
		return 0, err
	}
	var e builder
	t.auditSelect(&e, tmpl, "role.release", "ra.user_id", "ra.role_id", "'manual'")
	e.w(" FROM role_assignments ra WHERE ra.tenant_id = ", e.arg(tenantID), " AND ra.source = ", e.arg(source))
	if _, err := t.execCount(ctx, "audit released roles", &e); err != nil {
		return 0, err
	}
	var d builder
	d.w("DELETE FROM role_assignments WHERE tenant_id = ", d.arg(tenantID), " AND source = ", d.arg(source))
	return t.execCount(ctx, "release roles", &d)
}

func (r reader) PreviewRoleSync(ctx context.Context, tenantID, connectionID string, override *storage.RoleMapping, limit int) (storage.RoleSyncPreview, error) {
	var p storage.RoleSyncPreview
	query := func(granted bool) ([]storage.RoleChange, int, error) {
		var b builder
		src := r.syncCTE(&b, tenantID, connectionID, nil, override)
		var sel string
		if granted {
			sel = " SELECT d.user_id, d.role_id, CAST(" + b.arg(src) + " AS TEXT)" + withSource(&b, toGrant, src)
		} else {
			sel = " SELECT ra.user_id, ra.role_id, ra.source" + withTenant(&b, withSource(&b, toRevoke, src), tenantID)
		}
		count := builder{args: append([]any(nil), b.args...)}
		count.w(b.String(), " SELECT count(*) FROM (", sel, ") x")
		var n int
		if err := r.q.QueryRowContext(ctx, count.String(), count.args...).Scan(&n); err != nil {
			return nil, 0, r.fail("preview role sync", err)
		}
		b.w(sel, " ORDER BY 1, 2 LIMIT ", b.arg(limit))
		var out []storage.RoleChange
		err := r.each(ctx, &b, "preview role sync", func(scan func(...any) error) error {
			c := storage.RoleChange{Granted: granted}
			var s string
			if err := scan(&c.UserID, &c.RoleID, &s); err != nil {
				return err
			}
			c.Source = rbac.Source(s)
			out = append(out, c)
			return nil
		})
		return out, n, err
	}
	var err error
	if p.Gains, p.GainCount, err = query(true); err != nil {
		return p, err
	}
	p.Losses, p.LossCount, err = query(false)
	return p, err
}
