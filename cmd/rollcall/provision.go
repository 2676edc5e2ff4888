package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/rbac/admin"
	"github.com/rollcall/rollcall/storage"
)

// provisioner runs the operator commands' writes through rbac/admin, the one
// implementation the admin API uses too.
type provisioner struct {
	store   storage.Store
	catalog rbac.Catalog
	now     func() time.Time
}

// cliActor is who the audit log says made a change from the command line.
var cliActor = admin.Actor{Type: admin.ActorSystem, ID: "rollcall-cli"}

// tenant returns the tenant named, provisioning it (with the default permission sets and
// roles) if there is none.
func (p provisioner) tenant(ctx context.Context, tx storage.Tx, name string) (storage.Tenant, bool, error) {
	t, err := tx.TenantByName(ctx, name)
	if err == nil {
		return t, false, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return t, false, err
	}
	t, err = admin.ProvisionTenant(ctx, tx, name, p.catalog, p.now(), cliActor)
	return t, err == nil, err
}

// issuedToken is what the CLI prints on stdout when it makes a token, in the documented shape
// and nothing else, so that it can be fed to an IdP's settings as is. The secret appears only
// here.
type issuedToken struct {
	SCIMBaseURL string `json:"scim_base_url"`
	Token       string `json:"token"`
}

// createConnection adds an IdP connection (provisioning the tenant if needed) with a first
// SCIM token.
func (p provisioner) createConnection(ctx context.Context, tenant, name string, kind storage.ConnectionKind) (c storage.Connection, secret string, tk storage.Token, newTenant bool, err error) {
	err = p.store.Tx(ctx, func(tx storage.Tx) error {
		t, created, err := p.tenant(ctx, tx, tenant)
		newTenant = created
		if err != nil {
			return err
		}
		if c, err = admin.CreateConnection(ctx, tx, t.ID, name, kind, p.now(), cliActor); err != nil {
			return err
		}
		secret, tk, err = admin.IssueSCIMToken(ctx, tx, c, p.now(), cliActor)
		return err
	})
	return c, secret, tk, newTenant, err
}

// connection finds a connection by tenant and connection name.
func (p provisioner) connection(ctx context.Context, tenant, name string) (storage.Connection, error) {
	t, err := p.store.TenantByName(ctx, tenant)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Connection{}, fmt.Errorf("there is no tenant %q", tenant)
	}
	if err != nil {
		return storage.Connection{}, fmt.Errorf("tenant %q: %w", tenant, err)
	}
	c, err := p.store.ConnectionByName(ctx, t.ID, name)
	if errors.Is(err, storage.ErrNotFound) {
		return c, fmt.Errorf("tenant %q has no connection %q (rollcall connection create makes one)", tenant, name)
	}
	if err != nil {
		return c, fmt.Errorf("connection %q of tenant %q: %w", name, tenant, err)
	}
	return c, nil
}

// loadCatalog reads the permission catalog file, or returns the default catalog.
func loadCatalog(path string) (rbac.Catalog, error) {
	if path == "" {
		return rbac.DefaultCatalog(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return rbac.Catalog{}, err
	}
	defer f.Close()
	c, err := rbac.LoadCatalog(f)
	if err != nil {
		return c, fmt.Errorf("catalog %s: %w", path, err)
	}
	return c, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
