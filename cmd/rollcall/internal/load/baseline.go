package load

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	neturl "net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/storage"
	"github.com/rollcall/rollcall/storage/postgres"
)

// baselineTable is a users row as Rollcall's PostgreSQL schema has it (same columns and
// types), with the unique (tenant, folded userName) key and no foreign keys, in a scratch
// schema.
const baselineTable = `CREATE TABLE %[1]s.users (
    seq                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                 TEXT NOT NULL UNIQUE,
    tenant_id          TEXT NOT NULL,
    connection_id      TEXT,
    kind               TEXT NOT NULL,
    auth               TEXT NOT NULL,
    user_name          TEXT NOT NULL,
    user_name_fold     TEXT NOT NULL,
    external_id        TEXT,
    active             BOOLEAN NOT NULL,
    email              TEXT,
    org_group          TEXT,
    password_hash      TEXT,
    oidc_issuer        TEXT,
    oidc_subject       TEXT,
    display_name       TEXT,
    nick_name          TEXT,
    profile_url        TEXT,
    title              TEXT,
    user_type          TEXT,
    preferred_language TEXT,
    locale             TEXT,
    timezone           TEXT,
    name_formatted     TEXT,
    family_name        TEXT,
    given_name         TEXT,
    middle_name        TEXT,
    honorific_prefix   TEXT,
    honorific_suffix   TEXT,
    employee_number    TEXT,
    cost_center        TEXT,
    organization       TEXT,
    division           TEXT,
    department         TEXT,
    manager_id         TEXT,
    scim_doc           TEXT NOT NULL DEFAULT '{}',
    version            BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (tenant_id, user_name_fold)
)`

const (
	baselineInsert = `INSERT INTO %[1]s.users (id, tenant_id, connection_id, kind, auth, user_name, user_name_fold,
		active, email, display_name, given_name, family_name, locale, scim_doc, version, created_at, updated_at)
		VALUES ($1, $2, $3, 'human', 'sso', $4, $5, true, $6, $7, $8, $9, 'en-US', $10, 1, $11, $11)`
	baselineSelect = `SELECT seq, id, tenant_id, connection_id, kind, auth, user_name, external_id, active, email,
		org_group, password_hash, oidc_issuer, oidc_subject, display_name, nick_name, profile_url, title, user_type,
		preferred_language, locale, timezone, name_formatted, family_name, given_name, middle_name, honorific_prefix,
		honorific_suffix, employee_number, cost_center, organization, division, department, manager_id, scim_doc,
		version, created_at, updated_at
		FROM %[1]s.users WHERE tenant_id = $1 AND user_name_fold = $2`
)

// baseline measures bare PostgreSQL on the server's database: one client per worker inserts
// a users row and selects it back by its indexed key (what one Okta create costs the
// database at the least), then selects random rows by that key. The scratch schema is
// dropped afterwards.
func baseline(ctx context.Context, cfg *Config, log func(string, ...any)) ([]Result, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	pcfg.MaxConns = int32(cfg.Concurrency)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	defer pool.Close()
	schema := pgx.Identifier{"rollcall_load_baseline_" + strings.ToLower(rand.Text()[:8])}.Sanitize()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, err := pool.Exec(dctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			log("baseline: drop scratch schema %s: %v", schema, err)
		}
	}()
	if _, err := pool.Exec(ctx, fmt.Sprintf(baselineTable, schema)); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	insert, sel := fmt.Sprintf(baselineInsert, schema), fmt.Sprintf(baselineSelect, schema)
	const tenant, conn = "0190f000-0000-7000-8000-000000000001", "0190f000-0000-7000-8000-000000000002"
	name := func(i int) string { return fmt.Sprintf("%s-b-%08d@example.com", cfg.Prefix, i) }
	var inserted atomic.Int64

	selectOne := func(ctx context.Context, userName string) error {
		rows, err := pool.Query(ctx, sel, tenant, strings.ToLower(userName))
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			if _, err := rows.Values(); err != nil {
				rows.Close()
				return err
			}
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("select %s: %d rows, want 1", userName, n)
		}
		return nil
	}
	insertSelect := measure(ctx, cfg, workload{
		name: "baseline pgx insert+select", concurrency: cfg.Concurrency,
		op: func(ctx context.Context, i int) (time.Duration, error) {
			return timed(func() error {
				u := name(i)
				doc := seedDoc(u, i)
				if _, err := pool.Exec(ctx, insert, newID(), tenant, conn, u, strings.ToLower(u), u,
					doc.DisplayName, doc.Name.GivenName, doc.Name.FamilyName, string(mustJSON(doc)),
					time.Now().UnixMicro()); err != nil {
					return err
				}
				inserted.Add(1)
				return selectOne(ctx, u)
			})
		},
	})
	insertSelect.Key = keyBaseInsert
	insertSelect.Note = "INSERT one users row, then SELECT it by (tenant_id, user_name_fold); autocommit each"
	rows := int(inserted.Load())
	if rows == 0 {
		return []Result{insertSelect}, nil
	}
	// name(i) exists for every i below rows, unless inserts failed (counted as errors above).
	pointSelect := measure(ctx, cfg, workload{
		name: "baseline pgx point select", concurrency: cfg.Concurrency,
		op: func(ctx context.Context, _ int) (time.Duration, error) {
			return timed(func() error { return selectOne(ctx, name(mrand.IntN(rows))) })
		},
	})
	pointSelect.Key, pointSelect.Users = keyBaseSelect, rows
	pointSelect.Note = "SELECT a random row by (tenant_id, user_name_fold)"
	rowsResult, err := rowsBaseline(ctx, cfg, log)
	if err != nil {
		return []Result{insertSelect, pointSelect}, err
	}
	return []Result{insertSelect, pointSelect, rowsResult}, nil
}

// rowsBaseline measures bare pgx writing exactly the rows a Rollcall create writes, in
// Rollcall's own schema (migrated into a scratch schema, with every index and foreign key):
// a users row, its work email's user_values row and the audit event, sent as one batch (one
// round trip, one implicit transaction), then the SELECT of the user by its key. It is what the create costs the database alone, without
// HTTP, JSON or Rollcall's code; the ratio to it is reported beside the target's.
func rowsBaseline(ctx context.Context, cfg *Config, log func(string, ...any)) (Result, error) {
	schema := "rollcall_load_rows_" + strings.ToLower(rand.Text()[:8])
	admin, err := pgxpool.New(ctx, cfg.Database)
	if err != nil {
		return Result{}, fmt.Errorf("rows baseline: %w", err)
	}
	defer admin.Close()
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return Result{}, fmt.Errorf("rows baseline: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, err := admin.Exec(dctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			log("rows baseline: drop scratch schema %s: %v", schema, err)
		}
	}()
	url, err := withSearchPath(cfg.Database, schema)
	if err != nil {
		return Result{}, err
	}
	st, err := postgres.Open(ctx, url, postgres.Options{MaxConns: int32(cfg.Concurrency)})
	if err != nil {
		return Result{}, fmt.Errorf("rows baseline: %w", err)
	}
	defer st.Close()
	now := time.Now().UTC()
	tenant := storage.Tenant{ID: storage.NewID(), Name: "load-baseline", CreatedAt: now}
	conn := storage.Connection{ID: storage.NewID(), TenantID: tenant.ID, Name: "okta", Kind: storage.KindOkta, CreatedAt: now, UpdatedAt: now}
	if err := st.Tx(ctx, func(tx storage.Tx) error {
		if err := tx.CreateTenant(ctx, tenant); err != nil {
			return err
		}
		return tx.CreateConnection(ctx, conn)
	}); err != nil {
		return Result{}, fmt.Errorf("rows baseline: %w", err)
	}
	pool := st.Pool()
	const (
		insertUser = `INSERT INTO users (id, tenant_id, connection_id, kind, auth, user_name, user_name_fold, active,
			email, display_name, given_name, family_name, locale, scim_doc, version, created_at, updated_at)
			VALUES ($1, $2, $3, 'human', 'sso', $4, $5, true, $6, $7, $8, $9, 'en-US', $10, 1, $11, $11)`
		insertValue = `INSERT INTO user_values (user_id, tenant_id, attr, pos, value, value_fold, type, is_primary)
			VALUES ($1, $2, 'emails', 0, $3, $4, 'work', true)`
		insertAudit = `INSERT INTO audit_events (id, tenant_id, at, actor_type, actor_id, action, target_type, target_id,
			result, cause, request_id, source_ip, after) VALUES ($1, $2, $3, 'connection', $4, 'scim.user.create', 'user',
			$5, 'success', 'scim', $6, '127.0.0.1', $7)`
		selectUser = `SELECT id, user_name, scim_doc, version FROM users WHERE tenant_id = $1 AND user_name_fold = $2`
	)
	name := func(i int) string { return fmt.Sprintf("%s-r-%08d@example.com", cfg.Prefix, i) }
	r := measure(ctx, cfg, workload{
		name: "baseline pgx, the rows Rollcall writes", concurrency: cfg.Concurrency,
		op: func(ctx context.Context, i int) (time.Duration, error) {
			return timed(func() error {
				u, id := name(i), newID()
				doc := seedDoc(u, i)
				docJSON := string(mustJSON(doc))
				// One pipelined batch, one implicit transaction: the fewest round trips bare
				// pgx can write these rows in, as Rollcall's PostgreSQL store does.
				var b pgx.Batch
				b.Queue(insertUser, id, tenant.ID, conn.ID, u, strings.ToLower(u), u,
					doc.DisplayName, doc.Name.GivenName, doc.Name.FamilyName, docJSON, time.Now().UnixMicro())
				b.Queue(insertValue, id, tenant.ID, u, strings.ToLower(u))
				b.Queue(insertAudit, newID(), tenant.ID, time.Now().UnixMicro(), conn.ID, id, newID(), docJSON)
				if err := pool.SendBatch(ctx, &b).Close(); err != nil {
					return err
				}
				var got, gotName, gotDoc string
				var version int64
				return pool.QueryRow(ctx, selectUser, tenant.ID, strings.ToLower(u)).Scan(&got, &gotName, &gotDoc, &version)
			})
		},
	})
	r.Key = keyBaseRows
	r.Note = "in Rollcall's schema: INSERT users, user_values, audit_events as one batch; then SELECT the user"
	return r, nil
}

// withSearchPath points a postgres URL at one schema.
func withSearchPath(database, schema string) (string, error) {
	u, err := neturl.Parse(database)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("rows baseline: --database must be a postgres:// URL")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
