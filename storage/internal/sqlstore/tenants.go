package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/rollcall/rollcall/storage"
)

func (t *txn) CreateTenant(ctx context.Context, tn storage.Tenant) error {
	const q = `INSERT INTO tenants (id, name, name_fold, created_at) VALUES ($1, $2, $3, $4)`
	_, err := t.q.ExecContext(ctx, q, tn.ID, tn.Name, fold(tn.Name), micros(tn.CreatedAt))
	return t.fail("create tenant", err)
}

const tenantColumns = `id, name, created_at`

func scanTenant(row interface{ Scan(...any) error }) (storage.Tenant, error) {
	var tn storage.Tenant
	var created int64
	err := row.Scan(&tn.ID, &tn.Name, &created)
	tn.CreatedAt = fromMicros(created)
	return tn, err
}

func (r reader) Tenant(ctx context.Context, id string) (storage.Tenant, error) {
	tn, err := scanTenant(r.q.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id))
	return tn, r.fail("tenant", err)
}

func (r reader) TenantByName(ctx context.Context, name string) (storage.Tenant, error) {
	tn, err := scanTenant(r.q.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE name_fold = $1`, fold(name)))
	return tn, r.fail("tenant by name", err)
}

const connectionColumns = `id, tenant_id, name, kind, group_mapping, oidc_issuer, oidc_client_id,
	oidc_client_secret, oidc_scopes, oidc_groups_claim, created_at, updated_at`

// connScan collects a connection row; dest lists its scan targets in connectionColumns order.
type connScan struct {
	c                storage.Connection
	kind, scopes     string
	created, updated int64
}

func (s *connScan) dest() []any {
	c := &s.c
	return []any{&c.ID, &c.TenantID, &c.Name, &s.kind, &c.GroupMapping, &c.OIDC.Issuer, &c.OIDC.ClientID,
		&c.OIDC.ClientSecret, &s.scopes, &c.OIDC.GroupsClaim, &s.created, &s.updated}
}

func (s *connScan) connection() storage.Connection {
	s.c.Kind = storage.ConnectionKind(s.kind)
	s.c.OIDC.Scopes = strings.Fields(s.scopes)
	s.c.CreatedAt, s.c.UpdatedAt = fromMicros(s.created), fromMicros(s.updated)
	return s.c
}

func scanConnection(row interface{ Scan(...any) error }) (storage.Connection, error) {
	var s connScan
	err := row.Scan(s.dest()...)
	return s.connection(), err
}

func (t *txn) CreateConnection(ctx context.Context, c storage.Connection) error {
	const q = `INSERT INTO connections (id, tenant_id, name, name_fold, kind, group_mapping, oidc_issuer,
		oidc_client_id, oidc_client_secret, oidc_scopes, oidc_groups_claim, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`
	_, err := t.q.ExecContext(ctx, q, c.ID, c.TenantID, c.Name, fold(c.Name), string(c.Kind), c.GroupMapping,
		c.OIDC.Issuer, c.OIDC.ClientID, c.OIDC.ClientSecret, strings.Join(c.OIDC.Scopes, " "), c.OIDC.GroupsClaim,
		micros(c.CreatedAt), micros(c.UpdatedAt))
	return t.fail("create connection", err)
}

func (t *txn) UpdateConnection(ctx context.Context, c storage.Connection) error {
	const q = `UPDATE connections SET name = $3, name_fold = $4, kind = $5, group_mapping = $6, oidc_issuer = $7,
		oidc_client_id = $8, oidc_client_secret = $9, oidc_scopes = $10, oidc_groups_claim = $11, updated_at = $12
		WHERE tenant_id = $1 AND id = $2`
	res, err := t.q.ExecContext(ctx, q, c.TenantID, c.ID, c.Name, fold(c.Name), string(c.Kind), c.GroupMapping,
		c.OIDC.Issuer, c.OIDC.ClientID, c.OIDC.ClientSecret, strings.Join(c.OIDC.Scopes, " "), c.OIDC.GroupsClaim,
		micros(c.UpdatedAt))
	if err != nil {
		return t.fail("update connection", err)
	}
	return t.mustAffect(res)
}

func (r reader) Connection(ctx context.Context, tenantID, id string) (storage.Connection, error) {
	c, err := scanConnection(r.q.QueryRowContext(ctx,
		`SELECT `+connectionColumns+` FROM connections WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	return c, r.fail("connection", err)
}

func (t *txn) LockConnection(ctx context.Context, tenantID, id string) (storage.Connection, error) {
	c, err := scanConnection(t.q.QueryRowContext(ctx,
		`SELECT `+connectionColumns+` FROM connections WHERE tenant_id = $1 AND id = $2`+t.d.ForShare, tenantID, id))
	return c, t.fail("lock connection", err)
}

func (t *txn) LockTenant(ctx context.Context, tenantID string) error {
	var id string
	err := t.q.QueryRowContext(ctx, `SELECT id FROM tenants WHERE id = $1`+t.d.ForUpdate, tenantID).Scan(&id)
	if err != nil {
		return t.fail("lock tenant", err)
	}
	if t.d.ForUpdate == "" {
		// No row locks (SQLite): take the database's write lock now, as a write would, so
		// that a concurrent transaction waits here rather than deciding on what it read.
		_, err = t.q.ExecContext(ctx, `UPDATE tenants SET id = id WHERE id = $1`, tenantID)
	}
	return t.fail("lock tenant", err)
}

func (r reader) ConnectionByName(ctx context.Context, tenantID, name string) (storage.Connection, error) {
	c, err := scanConnection(r.q.QueryRowContext(ctx,
		`SELECT `+connectionColumns+` FROM connections WHERE tenant_id = $1 AND name_fold = $2`, tenantID, fold(name)))
	return c, r.fail("connection by name", err)
}

func (r reader) StoredClientSecret(ctx context.Context) (string, error) {
	var secret string
	err := r.q.QueryRowContext(ctx, `SELECT oidc_client_secret FROM connections WHERE oidc_client_secret <> '' LIMIT 1`).Scan(&secret)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return secret, r.fail("stored client secret", err)
}

func (r reader) Connections(ctx context.Context, tenantID string) ([]storage.Connection, error) {
	rows, err := r.q.QueryContext(ctx,
		`SELECT `+connectionColumns+` FROM connections WHERE tenant_id = $1 ORDER BY name_fold`, tenantID)
	if err != nil {
		return nil, r.fail("connections", err)
	}
	defer rows.Close()
	var out []storage.Connection
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, r.fail("connections", err)
		}
		out = append(out, c)
	}
	return out, r.fail("connections", rows.Err())
}

const tokenColumns = `t.id, t.tenant_id, t.connection_id, t.hint, t.created_at, t.expires_at, t.revoked_at, t.last_used_at`

func tokenDest(tk *storage.Token, created *int64) []any {
	return []any{&tk.ID, &tk.TenantID, &tk.ConnectionID, &tk.Hint, created,
		optTime{&tk.ExpiresAt}, optTime{&tk.RevokedAt}, optTime{&tk.LastUsedAt}}
}

func (t *txn) CreateToken(ctx context.Context, tk storage.Token, secretHash []byte) error {
	const q = `INSERT INTO scim_tokens (id, tenant_id, connection_id, secret_hash, hint, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`
	_, err := t.q.ExecContext(ctx, q, tk.ID, tk.TenantID, tk.ConnectionID, secretHash, tk.Hint,
		micros(tk.CreatedAt), microsPtr(tk.ExpiresAt))
	return t.fail("create token", err)
}

func (t *txn) RevokeToken(ctx context.Context, tenantID, id string, at time.Time) error {
	const q = `UPDATE scim_tokens SET revoked_at = COALESCE(revoked_at, $3) WHERE tenant_id = $1 AND id = $2`
	res, err := t.q.ExecContext(ctx, q, tenantID, id, micros(at))
	if err != nil {
		return t.fail("revoke token", err)
	}
	return t.mustAffect(res)
}

func (t *txn) TouchToken(ctx context.Context, id string, at time.Time) error {
	const q = `UPDATE scim_tokens SET last_used_at = $2 WHERE id = $1`
	_, err := t.q.ExecContext(ctx, q, id, micros(at))
	return t.fail("touch token", err)
}

func (r reader) TokenBySecretHash(ctx context.Context, hash []byte, now time.Time) (storage.Token, storage.Connection, error) {
	q := `SELECT ` + tokenColumns + `, ` + prefixed("c.", connectionColumns) + `
		FROM scim_tokens t JOIN connections c ON c.id = t.connection_id
		WHERE t.secret_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)`
	var tk storage.Token
	var created int64
	dest := tokenDest(&tk, &created)
	var cs connScan
	dest = append(dest, cs.dest()...)
	if err := r.q.QueryRowContext(ctx, q, hash, micros(now)).Scan(dest...); err != nil {
		return storage.Token{}, storage.Connection{}, r.fail("token", err)
	}
	tk.CreatedAt = fromMicros(created)
	c := cs.connection()
	return tk, c, nil
}

func (r reader) Tokens(ctx context.Context, tenantID, connectionID string) ([]storage.Token, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+tokenColumns+` FROM scim_tokens t
		WHERE t.tenant_id = $1 AND t.connection_id = $2 ORDER BY t.created_at, t.id`, tenantID, connectionID)
	if err != nil {
		return nil, r.fail("tokens", err)
	}
	defer rows.Close()
	var out []storage.Token
	for rows.Next() {
		var tk storage.Token
		var created int64
		if err := rows.Scan(tokenDest(&tk, &created)...); err != nil {
			return nil, r.fail("tokens", err)
		}
		tk.CreatedAt = fromMicros(created)
		out = append(out, tk)
	}
	return out, r.fail("tokens", rows.Err())
}

// prefixed qualifies each column of a comma-separated list with prefix.
func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

func (t *txn) mustAffect(res interface{ RowsAffected() (int64, error) }) error {
	n, err := res.RowsAffected()
	if err != nil {
		return t.fail("rows affected", err)
	}
	if n == 0 {
		return storage.ErrNotFound
	}
	return nil
}
