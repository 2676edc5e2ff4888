package admin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/rbac/password"
	"github.com/rollcall/rollcall/rbac/secret"
	"github.com/rollcall/rollcall/storage"
)

// ProvisionTenant creates a tenant with its defaults: the six permission sets of
// rbac.DefaultPermissionSets(c) and the four roles of rbac.DefaultRoles, all Builtin. Each
// record is an audit event of actor, in tx. A name taken (ignoring case) is a 409 *Error
// (rule "name-unique"); an invalid name a *rbac.RuleError. The zero catalog means
// rbac.DefaultCatalog().
func ProvisionTenant(ctx context.Context, tx storage.Tx, name string, c rbac.Catalog, now time.Time, actor Actor) (storage.Tenant, error) {
	name = strings.TrimSpace(name)
	if err := rbac.CheckName("tenant", name); err != nil {
		return storage.Tenant{}, err
	}
	if len(c.Areas) == 0 {
		c = rbac.DefaultCatalog()
	}
	t := storage.Tenant{ID: storage.NewID(), Name: name, CreatedAt: now}
	if err := tx.CreateTenant(ctx, t); err != nil {
		return t, nameTaken(err, "tenant", name)
	}
	if err := tx.AppendAudit(ctx, actor.event(t.ID, now, "admin.tenant.create", "tenant", t.ID, nil,
		map[string]string{"id": t.ID, "name": t.Name}, nil)); err != nil {
		return t, err
	}
	setIDs := make(map[string]string)
	for _, s := range rbac.DefaultPermissionSets(c) {
		ps := storage.PermissionSet{ID: storage.NewID(), TenantID: t.ID, Name: s.Name, Description: s.Description,
			Builtin: true, Permissions: s.Permissions, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreatePermissionSet(ctx, ps); err != nil {
			return t, err
		}
		setIDs[s.Name] = ps.ID
		if err := tx.AppendAudit(ctx, actor.event(t.ID, now, "admin.permission_set.create", "permission_set", ps.ID,
			nil, permissionSetAudit(ps), nil)); err != nil {
			return t, err
		}
	}
	for _, spec := range rbac.DefaultRoles() {
		ro := storage.Role{ID: storage.NewID(), TenantID: t.ID, Name: spec.Name, Description: spec.Description,
			Builtin: true, CreatedAt: now, UpdatedAt: now}
		for _, name := range spec.PermissionSets {
			ro.PermissionSetIDs = append(ro.PermissionSetIDs, setIDs[name])
		}
		if err := tx.CreateRole(ctx, ro); err != nil {
			return t, err
		}
		if err := tx.AppendAudit(ctx, actor.event(t.ID, now, "admin.role.create", "role", ro.ID, nil, roleAudit(ro), nil)); err != nil {
			return t, err
		}
	}
	return t, nil
}

// CreateConnection adds an IdP connection to a tenant, with its group mapping off and the
// OIDC defaults (scopes openid, email and profile; groups claim "groups"), audited in tx.
// An invalid name or kind is a 400 *Error; a name taken in the tenant (ignoring case) a 409.
func CreateConnection(ctx context.Context, tx storage.Tx, tenantID, name string, kind storage.ConnectionKind, now time.Time, actor Actor) (storage.Connection, error) {
	c := storage.Connection{ID: storage.NewID(), TenantID: tenantID, Name: strings.TrimSpace(name), Kind: kind,
		OIDC: storage.OIDCSettings{Scopes: slices.Clone(defaultScopes), GroupsClaim: defaultGroupsClaim}, CreatedAt: now, UpdatedAt: now}
	return c, insertConnection(ctx, tx, c, actor)
}

// insertConnection checks and creates a connection, with its audit event.
func insertConnection(ctx context.Context, tx storage.Tx, c storage.Connection, actor Actor) error {
	if err := checkConnection(c); err != nil {
		return err
	}
	if err := tx.CreateConnection(ctx, c); err != nil {
		return nameTaken(err, "connection", c.Name)
	}
	return tx.AppendAudit(ctx, actor.event(c.TenantID, c.CreatedAt, "admin.connection.create", "connection", c.ID,
		nil, connectionAudit(c), nil))
}

// IssueSCIMToken makes a new SCIM bearer token for the connection and returns its secret,
// which is stored only as a hash and cannot be shown again. The connection's other tokens
// stay valid until revoked, so an IdP can be moved to the new one without a gap.
func IssueSCIMToken(ctx context.Context, tx storage.Tx, conn storage.Connection, now time.Time, actor Actor) (string, storage.Token, error) {
	s := secret.New(secret.SCIMPrefix)
	tk := storage.Token{ID: storage.NewID(), TenantID: conn.TenantID, ConnectionID: conn.ID, Hint: secret.Hint(s), CreatedAt: now}
	if err := tx.CreateToken(ctx, tk, secret.Hash(s)); err != nil {
		return "", tk, err
	}
	return s, tk, tx.AppendAudit(ctx, actor.event(conn.TenantID, now, "admin.scim_token.create", "scim_token", tk.ID, nil,
		tokenAudit(tk, conn), nil))
}

// RevokeSCIMToken revokes a token of the connection (a 404 *Error when the connection has no
// such token); revoking a revoked token changes nothing and is not an error.
func RevokeSCIMToken(ctx context.Context, tx storage.Tx, conn storage.Connection, tokenID string, now time.Time, actor Actor) error {
	tokens, err := tx.Tokens(ctx, conn.TenantID, conn.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(tokens, func(t storage.Token) bool { return t.ID == tokenID })
	if i < 0 {
		return notFound("SCIM token", tokenID)
	}
	if tokens[i].RevokedAt != nil {
		return nil
	}
	if err := tx.RevokeToken(ctx, conn.TenantID, tokenID, now); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, actor.event(conn.TenantID, now, "admin.scim_token.revoke", "scim_token", tokenID,
		tokenAudit(tokens[i], conn), nil, nil))
}

// bootstrapActor is the actor of the bootstrap administrator's creation.
var bootstrapActor = Actor{Type: ActorSystem, ID: "bootstrap"}

// EnsureBootstrapAdmin gives a tenant that nobody can administer a first administrator: a
// service user named email, with password, holding the Tenant Administrator role. It does
// nothing (created false) when some user of the tenant already holds a role granting
// assign_role (that user can grant every other permission); it fails when a user named
// email exists but the tenant has no administrator. An empty password makes it generate one that meets the policy and return it, for
// the caller to show once; it is stored only as a hash. The tenant must exist
// (storage.ErrNotFound otherwise).
//
// Role holders are counted whether active or not (storage offers no cheap way to ask
// otherwise), so a tenant whose only administrators are deactivated gets no new one.
func EnsureBootstrapAdmin(ctx context.Context, store storage.Store, tenantName, email, pw string, now time.Time) (created bool, generatedPassword string, err error) {
	if err := rbac.CheckEmail(email); err != nil {
		return false, "", err
	}
	t, err := store.TenantByName(ctx, tenantName)
	if err != nil {
		return false, "", fmt.Errorf("bootstrap administrator: tenant %q: %w", tenantName, err)
	}
	if ok, err := hasAdministrator(ctx, store, t.ID); err != nil || ok {
		return false, "", err
	}
	generated := pw == ""
	if generated {
		pw = generatePassword()
	} else if err := password.CheckPolicy(pw); err != nil {
		return false, "", err
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return false, "", err
	}
	err = store.Tx(ctx, func(tx storage.Tx) error {
		created = false
		if ok, err := hasAdministrator(ctx, tx, t.ID); err != nil || ok {
			return err
		}
		roleID, err := administratorRole(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		u := storage.User{ID: storage.NewID(), TenantID: t.ID, Kind: storage.UserService, Auth: storage.AuthPassword,
			UserName: email, Email: email, Active: true, PasswordHash: hash, Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, bootstrapActor.event(t.ID, now, "admin.user.create", "user", u.ID, nil, userAudit(u), nil)); err != nil {
			return err
		}
		if err := assignManual(ctx, tx, bootstrapActor, t.ID, u.ID, []string{roleID}, nil, now); err != nil {
			return err
		}
		created = true
		return nil
	})
	var ce *storage.ConflictError
	if errors.As(err, &ce) && ce.Constraint == storage.UniqueUserName {
		// Another replica starting at the same time made the administrator: fine. Anyone
		// else of that name is not ours to promote, and the tenant still has no
		// administrator: say so rather than start without one.
		if ok, herr := hasAdministrator(ctx, store, t.ID); herr == nil && ok {
			return false, "", nil
		}
		return false, "", fmt.Errorf("bootstrap administrator: tenant %q has no administrator, and a user named %q exists already (not one); choose another email", tenantName, email)
	}
	if err != nil || !created {
		return false, "", err
	}
	if generated {
		return true, pw, nil
	}
	return true, "", nil
}

// CreateAdministrator creates a local service user holding the tenant's Tenant Administrator
// role (or another role granting the whole tenant-management area), with a generated
// password it returns for the caller to show once. It is the operator's way back in when no
// administrator can sign in (a forgotten password, or the identity provider removed the last
// administrator from a mapped group), so it does not ask whether the tenant has one. The
// email must be free in the tenant.
func CreateAdministrator(ctx context.Context, store storage.Store, tenantName, email string, now time.Time, actor Actor) (userID, pw string, err error) {
	if err := rbac.CheckEmail(email); err != nil {
		return "", "", err
	}
	t, err := store.TenantByName(ctx, tenantName)
	if err != nil {
		return "", "", fmt.Errorf("tenant %q: %w", tenantName, err)
	}
	pw = generatePassword()
	hash, err := password.Hash(pw)
	if err != nil {
		return "", "", err
	}
	u := storage.User{ID: storage.NewID(), TenantID: t.ID, Kind: storage.UserService, Auth: storage.AuthPassword,
		UserName: email, Email: email, Active: true, PasswordHash: hash, Version: 1, CreatedAt: now, UpdatedAt: now}
	err = store.Tx(ctx, func(tx storage.Tx) error {
		roleID, err := administratorRole(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			var ce *storage.ConflictError
			if errors.As(err, &ce) && ce.Constraint == storage.UniqueUserName {
				return fmt.Errorf("tenant %q already has a user named %q; choose another email", tenantName, email)
			}
			return err
		}
		if err := tx.AppendAudit(ctx, actor.event(t.ID, now, "admin.user.create", "user", u.ID, nil, userAudit(u),
			map[string]string{"reason": "administrator created by an operator"})); err != nil {
			return err
		}
		return assignManual(ctx, tx, actor, t.ID, u.ID, []string{roleID}, nil, now)
	})
	if err != nil {
		return "", "", err
	}
	return u.ID, pw, nil
}

// hasAdministrator reports whether some user of the tenant holds a role that grants
// assign_role.
func hasAdministrator(ctx context.Context, r storage.Reader, tenantID string) (bool, error) {
	roles, sets, err := rolesAndSets(ctx, r, tenantID)
	if err != nil {
		return false, err
	}
	for _, ro := range roles {
		if ro.Users > 0 && rbac.Effective([]rbac.Role{domainRole(ro)}, sets).Allows(rbac.AssignRole) {
			return true, nil
		}
	}
	return false, nil
}

// administratorRole finds the role a bootstrap administrator gets: the builtin Tenant
// Administrator, else any role granting the whole tenant-management area.
func administratorRole(ctx context.Context, r storage.Reader, tenantID string) (string, error) {
	roles, sets, err := rolesAndSets(ctx, r, tenantID)
	if err != nil {
		return "", err
	}
	const name = "Tenant Administrator"
	for _, ro := range roles {
		if ro.Builtin && strings.EqualFold(ro.Name, name) {
			return ro.ID, nil
		}
	}
	all := rbac.Catalog{Areas: []rbac.Area{rbac.TenantManagement()}}.Permissions()
	for _, ro := range roles {
		eff := rbac.Effective([]rbac.Role{domainRole(ro)}, sets)
		if !slices.ContainsFunc(all, func(p rbac.Permission) bool { return !eff.Allows(p) }) {
			return ro.ID, nil
		}
	}
	return "", fmt.Errorf("bootstrap administrator: tenant %s has no %q role and no role granting every tenant-management permission", tenantID, name)
}

func rolesAndSets(ctx context.Context, r storage.Reader, tenantID string) ([]storage.Role, map[string]rbac.PermissionSet, error) {
	roles, err := r.Roles(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	list, err := r.PermissionSets(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	sets := make(map[string]rbac.PermissionSet, len(list))
	for _, ps := range list {
		sets[ps.ID] = rbac.PermissionSet{ID: ps.ID, Name: ps.Name, Permissions: ps.Permissions}
	}
	return roles, sets, nil
}

func domainRole(ro storage.Role) rbac.Role {
	return rbac.Role{ID: ro.ID, Name: ro.Name, PermissionSetIDs: ro.PermissionSetIDs}
}

// generatePassword returns a random password of 24 characters (about 120 bits) that meets
// the policy.
func generatePassword() string {
	for {
		// rand.Text is upper-case letters and digits; one half lower-cased and a separator
		// give the other two classes the policy asks for.
		pw := rand.Text()[:12] + "-" + strings.ToLower(rand.Text()[:12])
		if password.CheckPolicy(pw) == nil {
			return pw
		}
	}
}

// nameTaken words a uniqueness conflict on a name.
func nameTaken(err error, kind, name string) error {
	var ce *storage.ConflictError
	if errors.As(err, &ce) {
		return &Error{Status: 409, Rule: ruleNameUnique, cause: err,
			Message: fmt.Sprintf("a %s named %q already exists (names are unique ignoring case)", kind, name)}
	}
	return err
}
