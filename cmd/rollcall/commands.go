package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rollcall/rollcall/conformance"
	"github.com/rollcall/rollcall/rbac/admin"
	"github.com/rollcall/rollcall/scim"
	"github.com/rollcall/rollcall/storage"
)

// scimBaseURL is the SCIM base URL clients use: the configured base URL, or one made of the
// address serve listens on (ROLLCALL_ADDR).
func scimBaseURL(c config, getenv func(string) string) string {
	base := c.BaseURL
	if base == "" {
		addr := envOr(getenv, "ROLLCALL_ADDR", defaultAddr)
		if strings.HasPrefix(addr, ":") {
			addr = "localhost" + addr
		}
		base = "http://" + addr
	}
	return base + scim.Prefix
}

// withStore opens the configured store for an operator command; unlike serve, it never
// creates the database.
func withStore(ctx context.Context, c *config, fn func(provisioner) error) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := requireDatabase(c.Database); err != nil {
		return err
	}
	catalog, err := loadCatalog(c.Catalog)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(provisioner{store: st, catalog: catalog, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }})
}

func runConnection(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: rollcall connection create --tenant T --name N --kind okta|entra|generic")
		return errUsage
	}
	var c config
	fs := newFlags("connection create", getenv, stderr, &c)
	tenant := fs.String("tenant", "default", "the tenant's name (created if it does not exist)")
	name := fs.String("name", "", "the connection's name, unique in the tenant (required)")
	kind := fs.String("kind", string(storage.KindGeneric), "okta, entra or generic")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	k := storage.ConnectionKind(*kind)
	switch {
	case *name == "":
		return fmt.Errorf("--name is required")
	case !k.Valid():
		return fmt.Errorf("--kind must be okta, entra or generic, not %q", *kind)
	}
	return withStore(ctx, &c, func(p provisioner) error {
		conn, secret, tk, newTenant, err := p.createConnection(ctx, *tenant, *name, k)
		var ce *storage.ConflictError
		if errors.As(err, &ce) {
			return fmt.Errorf("tenant %q already has a connection named %q", *tenant, *name)
		}
		if err != nil {
			return err
		}
		if newTenant {
			// stdout is the JSON alone; a tenant made by a typo must not go unnoticed.
			fmt.Fprintf(stderr, "rollcall: created tenant %q, which has no administrator yet (rollcall admin create --tenant %q --email …)\n", *tenant, *tenant)
		}
		return printIssued(stdout, stderr, scimBaseURL(c, getenv), secret, tk, *tenant, conn)
	})
}

// printIssued prints a new token: on stdout exactly the JSON an IdP's settings need, on
// stderr the token's id, which the operator needs to revoke it later.
func printIssued(stdout, stderr io.Writer, scimBaseURL, secret string, tk storage.Token, tenant string, conn storage.Connection) error {
	fmt.Fprintf(stderr, "rollcall: token %s of connection %q in tenant %q (rollcall token list shows it; rollcall token revoke --id revokes it)\n",
		tk.ID, conn.Name, tenant)
	return printJSON(stdout, issuedToken{SCIMBaseURL: scimBaseURL, Token: secret})
}

// newAdministrator is what `rollcall admin create` prints.
type newAdministrator struct {
	Tenant   string `json:"tenant"`
	UserID   string `json:"user_id"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// runAdmin is the operator's way back into a tenant no administrator can sign in to.
func runAdmin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: rollcall admin create --tenant T --email E")
		return errUsage
	}
	var c config
	fs := newFlags("admin create", getenv, stderr, &c)
	tenant := fs.String("tenant", "default", "the tenant's name")
	email := fs.String("email", "", "the new administrator's email, free in the tenant (required)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *email == "" {
		return fmt.Errorf("--email is required")
	}
	return withStore(ctx, &c, func(p provisioner) error {
		id, pw, err := admin.CreateAdministrator(ctx, p.store, *tenant, *email, p.now(), cliActor)
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("there is no tenant %q", *tenant)
		}
		if err != nil {
			return err
		}
		return printJSON(stdout, newAdministrator{Tenant: *tenant, UserID: id, Email: *email, Password: pw})
	})
}

func runToken(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "usage: rollcall token rotate|revoke|list --tenant T --connection N [--id TOKEN_ID]"
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "revoke" && args[0] != "list") {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	var c config
	fs := newFlags("token "+args[0], getenv, stderr, &c)
	tenant := fs.String("tenant", "default", "the tenant's name")
	connName := fs.String("connection", "", "the connection's name (required)")
	id := fs.String("id", "", "the token to revoke (revoke only)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *connName == "" {
		return fmt.Errorf("--connection is required")
	}
	return withStore(ctx, &c, func(p provisioner) error {
		conn, err := p.connection(ctx, *tenant, *connName)
		if err != nil {
			return err
		}
		switch args[0] {
		case "rotate":
			// A new token; the old ones keep working until revoked, so an IdP can be
			// switched over without a gap.
			var secret string
			var tk storage.Token
			err := p.store.Tx(ctx, func(tx storage.Tx) error {
				secret, tk, err = admin.IssueSCIMToken(ctx, tx, conn, p.now(), cliActor)
				return err
			})
			if err != nil {
				return err
			}
			return printIssued(stdout, stderr, scimBaseURL(c, getenv), secret, tk, *tenant, conn)
		case "revoke":
			if *id == "" {
				return fmt.Errorf("--id is required (see rollcall token list)")
			}
			err := p.store.Tx(ctx, func(tx storage.Tx) error {
				return admin.RevokeSCIMToken(ctx, tx, conn, *id, p.now(), cliActor)
			})
			if err != nil {
				return fmt.Errorf("revoke: %w (see rollcall token list)", err)
			}
			return printJSON(stdout, map[string]string{"revoked": *id})
		default: // list, the one left (checked above)
			tokens, err := p.store.Tokens(ctx, conn.TenantID, conn.ID)
			if err != nil {
				return err
			}
			type row struct {
				ID         string     `json:"id"`
				Hint       string     `json:"hint"`
				CreatedAt  time.Time  `json:"created_at"`
				LastUsedAt *time.Time `json:"last_used_at,omitempty"`
				RevokedAt  *time.Time `json:"revoked_at,omitempty"`
			}
			rows := []row{}
			for _, t := range tokens {
				rows = append(rows, row{t.ID, "…" + t.Hint, t.CreatedAt, t.LastUsedAt, t.RevokedAt})
			}
			return printJSON(stdout, rows)
		}
	})
}

func runConformance(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rollcall conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", getenv("SCIM_CONFORMANCE_URL"), "the SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2 (env SCIM_CONFORMANCE_URL)")
	token := fs.String("token", getenv("SCIM_CONFORMANCE_TOKEN"), "a bearer token (env SCIM_CONFORMANCE_TOKEN)")
	other := fs.String("other-token", getenv("SCIM_CONFORMANCE_TOKEN2"), "a token of another connection of the same tenant, for ownership checks (env SCIM_CONFORMANCE_TOKEN2)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *url == "" || *token == "" {
		return fmt.Errorf("--url and --token are required")
	}
	return conformance.RunReport(ctx, conformance.Target{BaseURL: *url, Token: *token, OtherToken: *other,
		Client: &http.Client{Timeout: 60 * time.Second}}, stdout)
}
