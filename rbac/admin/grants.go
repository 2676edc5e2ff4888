package admin

import (
	"context"
	"errors"
	"slices"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// The checks here keep the power over a tenant where it is: no administrator hands out or
// takes away tenant-management permissions they do not hold (rbac.CheckGrant), whether by
// assigning a role, mapping an IdP group to a role, changing a role's sets or a set's
// permissions, or controlling a connection whose mapped roles hold them; no administrator
// changes or removes a user stronger than themselves (rbac.CheckPowerOver); and no change
// leaves the tenant without a full administrator (keepAdministrator). They read only when
// tenant-management permissions are involved.

// checkGrant checks that the caller of ctx may hand out granted, reading what it holds in r.
func checkGrant(ctx context.Context, r storage.Reader, granted []rbac.Permission) error {
	if !slices.ContainsFunc(granted, rbac.IsTenantManagement) {
		return nil
	}
	held, err := callerPermissions(ctx, r)
	if err != nil {
		return err
	}
	return rbac.CheckGrant(held, granted)
}

func callerPermissions(ctx context.Context, r storage.Reader) (rbac.Permissions, error) {
	p := principalFrom(ctx)
	perms, err := r.Permissions(ctx, p.tenantID(), p.userID)
	if err != nil {
		return nil, err
	}
	held := make(rbac.Permissions, len(perms))
	for _, perm := range perms {
		held[perm] = true
	}
	return held, nil
}

// checkPowerOver checks that the caller may change or remove user u (rbac.CheckPowerOver);
// callers acting on themselves hold what they hold.
func checkPowerOver(ctx context.Context, r storage.Reader, u storage.User) error {
	if u.ID == principalFrom(ctx).userID {
		return nil
	}
	target, err := r.Permissions(ctx, u.TenantID, u.ID)
	if err != nil || !slices.ContainsFunc(target, rbac.IsTenantManagement) {
		return err
	}
	held, err := callerPermissions(ctx, r)
	if err != nil {
		return err
	}
	return rbac.CheckPowerOver(held, u.UserName, target)
}

// checkConnectionControl checks that the caller may control connection c: its tokens push
// members into the groups mapped on it, and its sign-in settings decide who signs in as
// whom, so controlling it confers every role mapped on it.
func checkConnectionControl(ctx context.Context, r storage.Reader, tenantID, connectionID string) error {
	roles, err := r.Roles(ctx, tenantID)
	if err != nil {
		return err
	}
	var mapped []string
	for _, ro := range roles {
		if slices.ContainsFunc(ro.Mappings, func(m storage.RoleMapping) bool { return m.ConnectionID == connectionID }) {
			mapped = append(mapped, ro.ID)
		}
	}
	perms, err := rolePermissions(ctx, r, tenantID, mapped)
	if err != nil {
		return err
	}
	// Its tokens also change and delete its users, whatever roles they hold and however
	// they got them.
	held, err := r.ConnectionPermissions(ctx, tenantID, connectionID, tenantManagement())
	if err != nil {
		return err
	}
	return checkGrant(ctx, r, append(perms, held...))
}

// tenantManagement is every permission of the built-in tenant-management area.
func tenantManagement() []rbac.Permission {
	return rbac.Catalog{Areas: []rbac.Area{rbac.TenantManagement()}}.Permissions()
}

// setPermissions returns the permissions of the permission sets ids of the tenant (a set
// that is gone grants nothing).
func setPermissions(ctx context.Context, r storage.Reader, tenantID string, ids []string) ([]rbac.Permission, error) {
	var out []rbac.Permission
	for _, id := range ids {
		ps, err := r.PermissionSet(ctx, tenantID, id)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			continue
		case err != nil:
			return nil, err
		}
		out = append(out, ps.Permissions...)
	}
	return out, nil
}

// rolePermissions returns the permissions the roles ids of the tenant confer.
func rolePermissions(ctx context.Context, r storage.Reader, tenantID string, ids []string) ([]rbac.Permission, error) {
	var out []rbac.Permission
	for _, id := range ids {
		ro, err := r.Role(ctx, tenantID, id)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			continue
		case err != nil:
			return nil, err
		}
		ps, err := setPermissions(ctx, r, tenantID, ro.PermissionSetIDs)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

// checkRoleGrant checks that the caller may give the roles ids to someone.
func checkRoleGrant(ctx context.Context, r storage.Reader, tenantID string, ids []string) error {
	perms, err := rolePermissions(ctx, r, tenantID, ids)
	if err != nil {
		return err
	}
	return checkGrant(ctx, r, perms)
}

// changed returns the permissions in one of before and after but not the other: what a
// change to a role or permission set hands out or takes away from its holders.
func changed(before, after []rbac.Permission) []rbac.Permission {
	var out []rbac.Permission
	for _, p := range after {
		if !slices.Contains(before, p) {
			out = append(out, p)
		}
	}
	for _, p := range before {
		if !slices.Contains(after, p) {
			out = append(out, p)
		}
	}
	return out
}

// checkSetsGrant checks that the caller may change a role's permission sets from before to
// after: the permissions the change adds or removes change every holder of the role.
func checkSetsGrant(ctx context.Context, r storage.Reader, tenantID string, before, after []string) error {
	if slices.Equal(before, after) {
		return nil
	}
	was, err := setPermissions(ctx, r, tenantID, before)
	if err != nil {
		return err
	}
	now, err := setPermissions(ctx, r, tenantID, after)
	if err != nil {
		return err
	}
	return checkGrant(ctx, r, changed(was, now))
}

// keepAdministrator wraps a transaction of the admin API: a change that leaves the tenant
// with no active user holding every tenant-management permission, where it had one, is
// refused (409 last-administrator), so that no administrator, however strong, can lock the
// tenant out of its own administration. A tenant that splits those permissions among users
// on purpose is not held to it. Changes an identity provider pushes over SCIM are the IdP's
// to make and are not checked.
func keepAdministrator(ctx context.Context, tenantID string, fn func(storage.Tx) error) func(storage.Tx) error {
	all := tenantManagement()
	return func(tx storage.Tx) error {
		// Changes that could each leave the other administrator last take turns.
		if err := tx.LockTenant(ctx, tenantID); err != nil {
			return err
		}
		had, err := tx.HasActiveHolder(ctx, tenantID, all)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil || !had {
			return err
		}
		has, err := tx.HasActiveHolder(ctx, tenantID, all)
		if err != nil || has {
			return err
		}
		return conflict(ruleLastAdministrator,
			"this would leave the tenant without an active user holding every tenant-management permission; give them to another user first")
	}
}
