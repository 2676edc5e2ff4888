package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// mappingJSON is a role's IdP group on one connection.
type mappingJSON struct {
	ConnectionID   string    `json:"connection_id"`
	ConnectionName string    `json:"connection_name"`
	GroupID        string    `json:"group_id"`
	GroupName      string    `json:"group_name"`
	NormalizedName string    `json:"normalized_name"`
	CreatedAt      time.Time `json:"created_at"`
}

type roleJSON struct {
	ID               string        `json:"id"`
	Name             string        `json:"name"`
	Description      string        `json:"description"`
	Builtin          bool          `json:"builtin"`
	PermissionSetIDs []string      `json:"permission_set_ids"`
	Mappings         []mappingJSON `json:"mappings"`
	// Users is how many users hold the role (from any source).
	Users     int       `json:"users"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func roleAudit(ro storage.Role) map[string]any {
	return map[string]any{"id": ro.ID, "name": ro.Name, "description": ro.Description, "builtin": ro.Builtin,
		"permission_set_ids": ro.PermissionSetIDs}
}

// roleJSONs renders roles with the names of their mapped groups and connections.
func (h *Handler) roleJSONs(ctx context.Context, tenantID string, roles []storage.Role) ([]roleJSON, error) {
	conns, err := h.store.Connections(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	connNames := make(map[string]string, len(conns))
	for _, c := range conns {
		connNames[c.ID] = c.Name
	}
	out := make([]roleJSON, 0, len(roles))
	for _, ro := range roles {
		j := roleJSON{ID: ro.ID, Name: ro.Name, Description: ro.Description, Builtin: ro.Builtin,
			PermissionSetIDs: ro.PermissionSetIDs, Mappings: []mappingJSON{}, Users: ro.Users,
			CreatedAt: ro.CreatedAt, UpdatedAt: ro.UpdatedAt}
		if j.PermissionSetIDs == nil {
			j.PermissionSetIDs = []string{}
		}
		for _, m := range ro.Mappings {
			g, err := h.store.Group(ctx, storage.Scope{TenantID: tenantID}, m.GroupID)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return nil, err
			}
			j.Mappings = append(j.Mappings, mappingJSON{ConnectionID: m.ConnectionID, ConnectionName: connNames[m.ConnectionID],
				GroupID: m.GroupID, GroupName: g.DisplayName, NormalizedName: g.NormalizedName, CreatedAt: m.CreatedAt})
		}
		out = append(out, j)
	}
	return out, nil
}

func (h *Handler) roleJSON(ctx context.Context, tenantID, id string) (roleJSON, error) {
	ro, err := h.store.Role(ctx, tenantID, id)
	if err != nil {
		return roleJSON{}, notFoundAs(err, "role", id)
	}
	js, err := h.roleJSONs(ctx, tenantID, []storage.Role{ro})
	if err != nil {
		return roleJSON{}, err
	}
	return js[0], nil
}

func (h *Handler) handleListRoles(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	if err := allowParams(r.URL.Query(), "limit", "cursor"); err != nil {
		return err
	}
	pg, err := pagingOf(r)
	if err != nil {
		return err
	}
	roles, err := h.store.Roles(ctx, p.tenantID())
	if err != nil {
		return err
	}
	// Page before rendering, so that only the page's mapped groups are read.
	page, err := pageByKey("roles", roles, func(ro storage.Role) string { return sortKey(ro.Name, ro.ID) }, pg)
	if err != nil {
		return err
	}
	items, err := h.roleJSONs(ctx, p.tenantID(), page.Items)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listJSON[roleJSON]{Items: items, NextCursor: page.NextCursor, Total: page.Total})
	return nil
}

func (h *Handler) handleGetRole(w http.ResponseWriter, r *http.Request) error {
	j, err := h.roleJSON(r.Context(), principalFrom(r.Context()).tenantID(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

type roleRequest struct {
	Name             *string   `json:"name"`
	Description      *string   `json:"description"`
	PermissionSetIDs *[]string `json:"permission_set_ids"`
}

// apply checks the request and applies it to ro, reading the tenant's permission sets.
func (req roleRequest) apply(ctx context.Context, r storage.Reader, ro *storage.Role) error {
	if req.Name != nil {
		if err := rbac.CheckName("role", *req.Name); err != nil {
			return err
		}
		ro.Name = strings.TrimSpace(*req.Name)
	}
	if req.Description != nil {
		if err := checkText("description", *req.Description, maxDescription); err != nil {
			return err
		}
		ro.Description = *req.Description
	}
	if req.PermissionSetIDs != nil {
		sets, err := r.PermissionSets(ctx, ro.TenantID)
		if err != nil {
			return err
		}
		ids, unknown := []string{}, []string(nil)
		for _, id := range *req.PermissionSetIDs {
			switch {
			case slices.Contains(ids, id):
			case slices.ContainsFunc(sets, func(ps storage.PermissionSet) bool { return ps.ID == id }):
				ids = append(ids, id)
			default:
				unknown = append(unknown, id)
			}
		}
		if len(unknown) > 0 {
			return invalid(ruleUnknownPermissionSet, "permission_set_ids: no permission set of this tenant has the id %s", quoteAll(unknown))
		}
		ro.PermissionSetIDs = ids
	}
	return nil
}

func (h *Handler) handleCreateRole(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	var req roleRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req.Name == nil {
		return required("name")
	}
	now, actor := h.now(), h.actor(r)
	ro := storage.Role{ID: storage.NewID(), TenantID: p.tenantID(), PermissionSetIDs: []string{}, CreatedAt: now, UpdatedAt: now}
	err := h.store.Tx(ctx, func(tx storage.Tx) error {
		if err := req.apply(ctx, tx, &ro); err != nil {
			return err
		}
		if err := checkSetsGrant(ctx, tx, ro.TenantID, nil, ro.PermissionSetIDs); err != nil {
			return err
		}
		if err := tx.CreateRole(ctx, ro); err != nil {
			return nameTaken(err, "role", ro.Name)
		}
		return tx.AppendAudit(ctx, actor.event(p.tenantID(), now, "admin.role.create", "role", ro.ID, nil, roleAudit(ro), nil))
	})
	if err != nil {
		return err
	}
	j, err := h.roleJSON(ctx, p.tenantID(), ro.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/roles/"+ro.ID)
	writeJSON(w, http.StatusCreated, j)
	return nil
}

// handleUpdateRole changes a role; its holders have the new permissions on their next
// request.
func (h *Handler) handleUpdateRole(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	id := mux.Vars(r)["id"]
	var req roleRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req.Name == nil && req.Description == nil && req.PermissionSetIDs == nil {
		return invalid(ruleNothingToChange, "the body names nothing to change (name, description, permission_set_ids)")
	}
	now, actor := h.now(), h.actor(r)
	err := h.store.Tx(ctx, keepAdministrator(ctx, p.tenantID(), func(tx storage.Tx) error {
		before, err := tx.Role(ctx, p.tenantID(), id)
		if err != nil {
			return notFoundAs(err, "role", id)
		}
		ro := before
		ro.PermissionSetIDs = slices.Clone(before.PermissionSetIDs)
		if err := req.apply(ctx, tx, &ro); err != nil {
			return err
		}
		if err := checkSetsGrant(ctx, tx, ro.TenantID, before.PermissionSetIDs, ro.PermissionSetIDs); err != nil {
			return err
		}
		ro.UpdatedAt = now
		if err := tx.UpdateRole(ctx, ro); err != nil {
			return nameTaken(err, "role", ro.Name)
		}
		return tx.AppendAudit(ctx, actor.event(p.tenantID(), now, "admin.role.update", "role", id, roleAudit(before), roleAudit(ro), nil))
	}))
	if err != nil {
		return err
	}
	j, err := h.roleJSON(ctx, p.tenantID(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

// handleDeleteRole deletes a role no user holds, with its IdP group mappings. Builtin roles
// are the seed's examples and are deleted like any other.
func (h *Handler) handleDeleteRole(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	id := mux.Vars(r)["id"]
	now, actor := h.now(), h.actor(r)
	err := h.store.Tx(ctx, func(tx storage.Tx) error {
		ro, err := tx.Role(ctx, p.tenantID(), id)
		if err != nil {
			return notFoundAs(err, "role", id)
		}
		inUse := conflict(rbac.RuleRoleInUse, "role %q is assigned to %s; remove it from them first", ro.Name, count(ro.Users, "user"))
		if rbac.CheckRoleDeletable(ro.Users) != nil {
			return inUse
		}
		if err := tx.DeleteRole(ctx, p.tenantID(), id); err != nil {
			if storageInUse(err) {
				return inUse
			}
			return notFoundAs(err, "role", id)
		}
		before := roleAudit(ro)
		ms := make([]map[string]string, len(ro.Mappings))
		for i, m := range ro.Mappings {
			ms[i] = map[string]string{"connection_id": m.ConnectionID, "group_id": m.GroupID}
		}
		before["mappings"] = ms
		return tx.AppendAudit(ctx, actor.event(p.tenantID(), now, "admin.role.delete", "role", id, before, nil, nil))
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
