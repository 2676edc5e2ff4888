package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

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
		seeder = pgSeeder{st: st, scope: storage.Scope{TenantID: conn.TenantID, ConnectionID: conn.ID}}
	}
	return load.Run(ctx, cfg, seeder, stdout, stderr)
}

// pgSeeder seeds a PostgreSQL store with COPY, as one connection of one tenant.
type pgSeeder struct {
	st    *postgres.Store
	scope storage.Scope
}

var _ load.Seeder = pgSeeder{}

func (p pgSeeder) Scope() storage.Scope { return p.scope }

func (p pgSeeder) LoadUsers(ctx context.Context, users []storage.User) error {
	return p.st.BulkLoadUsers(ctx, users)
}

func (p pgSeeder) AddMembers(ctx context.Context, groupID string, ids []string) error {
	return p.st.BulkAddMembers(ctx, p.scope, groupID, ids)
}

// Settle vacuums and analyzes the tables a seed filled: a production database that grew to
// this size over time has current statistics and a current visibility map, and queries
// planned or run without them would measure the seeding, not the server.
func (p pgSeeder) Settle(ctx context.Context) error {
	_, err := p.st.Pool().Exec(ctx, "VACUUM (ANALYZE) users, user_values, group_members")
	return err
}
