package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// maxDescription bounds the descriptions of roles and permission sets, as the catalog's.
const maxDescription = 1000

type permissionSetJSON struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Builtin     bool              `json:"builtin"`
	Permissions []rbac.Permission `json:"permissions"`
	// Roles is how many roles hold the set.
	Roles     int       `json:"roles"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toPermissionSetJSON(ps storage.PermissionSet) permissionSetJSON {
	j := permissionSetJSON{ID: ps.ID, Name: ps.Name, Description: ps.Description, Builtin: ps.Builtin,
		Permissions: ps.Permissions, Roles: ps.Roles, CreatedAt: ps.CreatedAt, UpdatedAt: ps.UpdatedAt}
	if j.Permissions == nil {
		j.Permissions = []rbac.Permission{}
	}
	return j
}

func permissionSetAudit(ps storage.PermissionSet) map[string]any {
	return map[string]any{"id": ps.ID, "name": ps.Name, "description": ps.Description, "builtin": ps.Builtin,
		"permissions": ps.Permissions}
}

// sortKey orders named records by name ignoring case, then id (names are unique ignoring
// case, so the id only keeps the key unique).
func sortKey(name, id string) string { return strings.ToLower(name) + "\x00" + id }

func (h *Handler) handleListPermissionSets(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	if err := allowParams(r.URL.Query(), "limit", "cursor"); err != nil {
		return err
	}
	pg, err := pagingOf(r)
	if err != nil {
		return err
	}
	sets, err := h.store.PermissionSets(ctx, p.tenantID())
	if err != nil {
		return err
	}
	items := make([]permissionSetJSON, len(sets))
	for i, ps := range sets {
		items[i] = toPermissionSetJSON(ps)
	}
	out, err := pageByKey("permission-sets", items, func(j permissionSetJSON) string { return sortKey(j.Name, j.ID) }, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) handleGetPermissionSet(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["id"]
	ps, err := h.store.PermissionSet(r.Context(), principalFrom(r.Context()).tenantID(), id)
	if err != nil {
		return notFoundAs(err, "permission set", id)
	}
	writeJSON(w, http.StatusOK, toPermissionSetJSON(ps))
	return nil
}

type permissionSetRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	// Permissions names permissions and areas of the catalog; an area selects every
	// permission under it.
	Permissions *[]string `json:"permissions"`
}

// apply checks the request and applies it to ps.
func (req permissionSetRequest) apply(c rbac.Catalog, ps *storage.PermissionSet) error {
	if req.Name != nil {
		if err := rbac.CheckName("permission set", *req.Name); err != nil {
			return err
		}
		ps.Name = strings.TrimSpace(*req.Name)
	}
	if req.Description != nil {
		if err := checkText("description", *req.Description, maxDescription); err != nil {
			return err
		}
		ps.Description = *req.Description
	}
	if req.Permissions != nil {
		perms, err := c.Expand(*req.Permissions)
		if err != nil {
			return err
		}
		ps.Permissions = perms
	}
	return nil
}

func (h *Handler) handleCreatePermissionSet(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	var req permissionSetRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req.Name == nil {
		return required("name")
	}
	now := h.now()
	ps := storage.PermissionSet{ID: storage.NewID(), TenantID: p.tenantID(), Permissions: []rbac.Permission{}, CreatedAt: now, UpdatedAt: now}
	if err := req.apply(h.cfg.Catalog, &ps); err != nil {
		return err
	}
	actor := h.actor(r)
	err := h.store.Tx(ctx, func(tx storage.Tx) error {
		if err := checkGrant(ctx, tx, ps.Permissions); err != nil {
			return err
		}
		if err := tx.CreatePermissionSet(ctx, ps); err != nil {
			return nameTaken(err, "permission set", ps.Name)
		}
		return tx.AppendAudit(ctx, actor.event(p.tenantID(), now, "admin.permission_set.create", "permission_set", ps.ID,
			nil, permissionSetAudit(ps), nil))
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/permission-sets/"+ps.ID)
	writeJSON(w, http.StatusCreated, toPermissionSetJSON(ps))
	return nil
}

// handleUpdatePermissionSet changes a set; its holders have the new permissions on their
// next request, since permissions are read per request.
func (h *Handler) handleUpdatePermissionSet(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	id := mux.Vars(r)["id"]
	var req permissionSetRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req.Name == nil && req.Description == nil && req.Permissions == nil {
		return invalid(ruleNothingToChange, "the body names nothing to change (name, description, permissions)")
	}
	now, actor := h.now(), h.actor(r)
	var ps storage.PermissionSet
	err := h.store.Tx(ctx, keepAdministrator(ctx, p.tenantID(), func(tx storage.Tx) error {
		before, err := tx.PermissionSet(ctx, p.tenantID(), id)
		if err != nil {
			return notFoundAs(err, "permission set", id)
		}
		ps = before
		if err := req.apply(h.cfg.Catalog, &ps); err != nil {
			return err
		}
		if err := checkGrant(ctx, tx, changed(before.Permissions, ps.Permissions)); err != nil {
			return err
		}
		ps.UpdatedAt = now
		if err := tx.UpdatePermissionSet(ctx, ps); err != nil {
			return nameTaken(err, "permission set", ps.Name)
		}
		return tx.AppendAudit(ctx, actor.event(p.tenantID(), now, "admin.permission_set.update", "permission_set", ps.ID,
			permissionSetAudit(before), permissionSetAudit(ps), nil))
	}))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPermissionSetJSON(ps))
	return nil
}

func (h *Handler) handleDeletePermissionSet(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	id := mux.Vars(r)["id"]
	now, actor := h.now(), h.actor(r)
	err := h.store.Tx(ctx, func(tx storage.Tx) error {
		ps, err := tx.PermissionSet(ctx, p.tenantID(), id)
		if err != nil {
			return notFoundAs(err, "permission set", id)
		}
		inUse := conflict(rbac.RulePermissionSetInUse, "permission set %q is held by %s; remove it from them first", ps.Name, count(ps.Roles, "role"))
		if rbac.CheckPermissionSetDeletable(ps.Roles) != nil {
			return inUse
		}
		if err := tx.DeletePermissionSet(ctx, p.tenantID(), id); err != nil {
			if storageInUse(err) {
				return inUse
			}
			return notFoundAs(err, "permission set", id)
		}
		return tx.AppendAudit(ctx, actor.event(p.tenantID(), now, "admin.permission_set.delete", "permission_set", id,
			permissionSetAudit(ps), nil, nil))
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleCatalog serves the permission catalog: the tree of functional areas a UI draws
// when an administrator composes a permission set.
func (h *Handler) handleCatalog(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, h.cfg.Catalog)
	return nil
}
