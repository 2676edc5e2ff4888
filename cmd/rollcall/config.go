package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/rollcall/rollcall/rbac/secret"
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

// The database and listen address used when neither a flag nor the environment names one.
// The connection create command serve prints names the server's only where they differ.
const (
	defaultDatabase = "rollcall.db"
	defaultAddr     = "127.0.0.1:8080"
)

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
	fs.StringVar(&c.Database, "database", envOr(getenv, "ROLLCALL_DATABASE", defaultDatabase),
		"an SQLite file path, or a postgres:// URL (env ROLLCALL_DATABASE)")
	fs.StringVar(&c.BaseURL, "base-url", getenv("ROLLCALL_BASE_URL"),
		"the URL clients reach this server at; default http://ADDR (env ROLLCALL_BASE_URL)")
	fs.StringVar(&c.Catalog, "catalog", getenv("ROLLCALL_CATALOG"),
		"a permission catalog file (JSON) adding the platform's application areas; default: the example areas (env ROLLCALL_CATALOG)")
	return fs
}

// parseFlags parses a command's arguments. A bad flag is a usage error that the flag package
// has printed, with the command's flags. So is a positional argument, which no command takes:
// the flag package stops at it, so running the command anyway would also drop the flags after
// it, doing something other than what the operator asked for.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q (%s -h lists its flags)\n", fs.Name(), fs.Arg(0), fs.Name())
		return errUsage
	}
	return nil
}

// Validate checks the configuration.
func (c *config) Validate() error {
	if c.Database == "" {
		return errors.New("-database is empty")
	}
	if !isPostgres(c.Database) && keywordSetting.MatchString(c.Database) {
		// Taken for a file name, it would make an SQLite file named with the password.
		return errors.New("-database is a keyword/value connection string (host=… dbname=…): give PostgreSQL a postgres:// URL, or SQLite a file path")
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		return fmt.Errorf("-base-url %q must start with http:// or https://", c.BaseURL)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return nil
}

// keywordSetting matches a libpq keyword/value connection string, which Rollcall does not take.
var keywordSetting = regexp.MustCompile(`(?i)(^|\s)(host|hostaddr|port|dbname|user|password|sslmode)\s*=`)

// openStore opens the backend the database setting names: PostgreSQL for a postgres:// URL,
// an SQLite file otherwise.
func openStore(ctx context.Context, database string) (storage.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if isPostgres(database) {
		return postgres.Open(ctx, database, postgres.Options{})
	}
	return sqlite.Open(ctx, strings.TrimPrefix(database, "sqlite://"))
}

// requireDatabase refuses an SQLite file that does not exist. Only serve creates one: an
// operator command run in another directory, or without --database, would otherwise make a
// new, empty database and write a tenant, connection or token into it that no server reads.
func requireDatabase(database string) error {
	if isPostgres(database) {
		return nil
	}
	path := strings.TrimPrefix(database, "sqlite://")
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return nil // any other failure is sqlite.Open's to report
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return fmt.Errorf("no database at %s: rollcall serve creates it; pass --database (or set ROLLCALL_DATABASE) "+
		"naming the server's database", redactDSN(path))
}

// secretBox is the Box that seals OIDC client secrets: from the key itself (ROLLCALL_SECRET_KEY),
// from a key file, or, on SQLite, from DATABASE.key, made at first start beside the database
// (owner-only) so that `make run` needs no setup. PostgreSQL deployments, whose replicas must
// share the key, get none unless one is given: client secrets are then refused. mayCreate is
// false when the database already holds sealed secrets: a new key could not open them, so a
// missing default key file is an error, not a new key.
func secretBox(database, key, keyFile string, mayCreate bool) (*secret.Box, error) {
	if key == "" {
		if keyFile == "" && !isPostgres(database) {
			keyFile = strings.TrimPrefix(database, "sqlite://") + ".key"
			if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) {
				if !mayCreate {
					return nil, fmt.Errorf("secret key file %s is missing, and this database holds OIDC client secrets "+
						"sealed with the key it held: restore the file (or give that key as ROLLCALL_SECRET_KEY)", keyFile)
				}
				if err := os.WriteFile(keyFile, []byte(secret.NewKey()+"\n"), 0o600); err != nil {
					return nil, fmt.Errorf("secret key file: %w", err)
				}
			}
		}
		if keyFile == "" {
			return nil, nil
		}
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("secret key file: %w", err)
		}
		key = string(b)
	}
	k, err := secret.ParseKey(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return secret.NewBox(k)
}

// checkSecretKey refuses to serve with a key that cannot open sealed, an OIDC client secret
// the database holds (storage.Reader.StoredClientSecret), or with none when it holds one: sign-ins through those connections would
// fail one by one, long after the start, instead of the start failing now.
func checkSecretKey(sealed string, box *secret.Box) error {
	if sealed == "" {
		return nil
	}
	if box == nil {
		return errors.New("secret key: connections of this database hold sealed OIDC client secrets and no key is set; " +
			"start with the key they were sealed with (ROLLCALL_SECRET_KEY or -secret-key-file)")
	}
	if _, err := box.Open(sealed); err != nil {
		return errors.New("secret key: the key given does not open the OIDC client secrets this database holds, which " +
			"were sealed with another key; start with that key (ROLLCALL_SECRET_KEY or -secret-key-file)")
	}
	return nil
}

func isPostgres(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}
