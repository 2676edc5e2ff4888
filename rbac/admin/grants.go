package admin

import (
	"context"
	"errors"
	"slices"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// The checks here keep an administrator from handing out tenant-management permissions they
// do not hold (rbac.CheckGrant): by assigning a role, mapping an IdP group to a role, or
// adding permissions to a role or permission set. They read only when a grant includes a
// tenant-management permission.

// checkGrant checks that the caller of ctx may hand out granted, reading what it holds in r.
func checkGrant(ctx context.Context, r storage.Reader, granted []rbac.Permission) error {
	if !slices.ContainsFunc(granted, rbac.IsTenantManagement) {
		return nil
	}
	p := principalFrom(ctx)
	perms, err := r.Permissions(ctx, p.tenantID(), p.userID)
	if err != nil {
		return err
	}
	held := make(rbac.Permissions, len(perms))
	for _, perm := range perms {
		held[perm] = true
	}
	return rbac.CheckGrant(held, granted)
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

// added returns the permissions of after that before lacks.
func added(before, after []rbac.Permission) []rbac.Permission {
	var out []rbac.Permission
	for _, p := range after {
		if !slices.Contains(before, p) {
			out = append(out, p)
		}
	}
	return out
}

// checkSetsGrant checks that the caller may change a role's permission sets from before to
// after: the permissions the change adds go to every holder of the role.
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
	return checkGrant(ctx, r, added(was, now))
}
