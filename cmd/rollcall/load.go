package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rollcall/rollcall/cmd/rollcall/internal/load"
	"github.com/rollcall/rollcall/rbac/secret"
	"github.com/rollcall/rollcall/storage"
	"github.com/rollcall/rollcall/storage/postgres"
)

// runLoad is "rollcall load": it replays IdP traffic against a running server and times it
// (see package load). With --database it seeds straight into the server's PostgreSQL, as the
// connection the token belongs to, and measures the bare PostgreSQL baseline there.
func runLoad(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := load.ParseArgs(args, getenv, stderr)
	if errors.Is(err, load.ErrUsage) {
		return errUsage // printed already
	}
	if err != nil {
		return err
	}
	var seeder load.Seeder
	if cfg.Database != "" {
		octx, cancel := context.WithTimeout(ctx, 30*time.Second)
		st, err := postgres.Open(octx, cfg.Database, postgres.Options{})
		cancel()
		if err != nil {
			return err
		}
		defer st.Close()
		_, conn, err := st.TokenBySecretHash(ctx, secret.Hash(cfg.Token), time.Now())
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("--token is not a live SCIM token in the database --database names: seeded users would not be the token's")
		}
		if err != nil {
			return err
		}
		seeder = &pgSeeder{st: st, scope: storage.Scope{TenantID: conn.TenantID, ConnectionID: conn.ID}, stderr: stderr}
	}
	return load.Run(ctx, cfg, seeder, stdout, stderr)
}

// pgSeeder seeds a PostgreSQL store with COPY, as one connection of one tenant.
type pgSeeder struct {
	st     *postgres.Store
	scope  storage.Scope
	stderr io.Writer
	// noCheckpoint is set once CHECKPOINT was refused to the role.
	noCheckpoint bool
}

var _ load.Seeder = (*pgSeeder)(nil)

func (p pgSeeder) Scope() storage.Scope { return p.scope }

func (p pgSeeder) LoadUsers(ctx context.Context, users []storage.User) error {
	return p.st.BulkLoadUsers(ctx, users)
}

func (p pgSeeder) AddMembers(ctx context.Context, groupID string, ids []string) error {
	return p.st.BulkAddMembers(ctx, p.scope, groupID, ids)
}

// Settle vacuums and analyzes the tables a seed filled, then checkpoints. A production
// database that grew to this size over time has current statistics and a current visibility
// map, and queries planned or run without them would measure the seeding, not the server.
// Without the CHECKPOINT, the checkpoint that a million-user seed's WAL sets off writes the
// seed's pages out during the next measurement: in one run it was still writing through the
// lookup among a million users, whose p99 was 52.8 ms against 24.5 among 10 000 (p50 6.4
// against 7.8). CHECKPOINT needs a superuser or pg_checkpoint; without it, Settle says so once
// and goes on.
func (p *pgSeeder) Settle(ctx context.Context) error {
	if _, err := p.st.Pool().Exec(ctx, "VACUUM (ANALYZE) users, user_values, group_members"); err != nil {
		return err
	}
	if p.noCheckpoint {
		return nil
	}
	_, err := p.st.Pool().Exec(ctx, "CHECKPOINT")
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "42501" { // insufficient_privilege
		p.noCheckpoint = true
		fmt.Fprintln(p.stderr, "load: this role may not CHECKPOINT: the seed's pages may be written out during a measurement")
		return nil
	}
	return err
}
