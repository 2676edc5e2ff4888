package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rollcall/rollcall/storage"
	"github.com/rollcall/rollcall/storage/postgres"
	"github.com/rollcall/rollcall/storage/sqlite"
)

// config is what serve and the operator commands share. Each field is a flag whose default
// comes from an environment variable.
type config struct {
	Addr     string
	Database string
	BaseURL  string
	LogLevel string
	// Tenant is the tenant created at first start.
	Tenant string
	// Catalog is the permission catalog file ("": the default catalog).
	Catalog string
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// newFlags returns a flag set for a command with the shared database and base URL flags.
func newFlags(name string, getenv func(string) string, stderr io.Writer, c *config) *flag.FlagSet {
	fs := flag.NewFlagSet("rollcall "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Database, "database", envOr(getenv, "ROLLCALL_DATABASE", "rollcall.db"),
		"an SQLite file path, or a postgres:// URL (env ROLLCALL_DATABASE)")
	fs.StringVar(&c.BaseURL, "base-url", getenv("ROLLCALL_BASE_URL"),
		"the URL clients reach this server at; default http://ADDR (env ROLLCALL_BASE_URL)")
	fs.StringVar(&c.Catalog, "catalog", getenv("ROLLCALL_CATALOG"),
		"a permission catalog file (JSON) adding the platform's application areas; default: the example areas (env ROLLCALL_CATALOG)")
	return fs
}

// Validate checks the configuration.
func (c *config) Validate() error {
	if c.Database == "" {
		return errors.New("-database is empty")
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		return fmt.Errorf("-base-url %q must start with http:// or https://", c.BaseURL)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return nil
}

// openStore opens the backend the database setting names: PostgreSQL for a postgres:// URL,
// an SQLite file otherwise.
func openStore(ctx context.Context, database string) (storage.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://") {
		return postgres.Open(ctx, database, postgres.Options{})
	}
	return sqlite.Open(ctx, strings.TrimPrefix(database, "sqlite://"))
}
