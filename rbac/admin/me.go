package admin

import (
	"net/http"

	"github.com/rollcall/rollcall/rbac"
)

type tenantJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// meJSON is who the caller is and what it may do: what applications ask Rollcall.
type meJSON struct {
	User        userDetailJSON    `json:"user"`
	Tenant      tenantJSON        `json:"tenant"`
	Roles       []assignmentJSON  `json:"roles"`
	Permissions []rbac.Permission `json:"permissions"`
}

func (h *Handler) handleMe(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	u, err := h.fullUser(ctx, p.tenantID(), p.userID)
	if err != nil {
		return err
	}
	if len(u.Roles) == 0 {
		return h.requireRole(ctx, p) // says why, in the words every route uses
	}
	t, err := h.store.Tenant(ctx, p.tenantID())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, meJSON{User: u, Tenant: tenantJSON{ID: t.ID, Name: t.Name}, Roles: u.Roles, Permissions: u.Permissions})
	return nil
}

type checkRequest struct {
	Permission rbac.Permission `json:"permission"`
}

type checkResponse struct {
	Allowed bool `json:"allowed"`
}

// handleCheck answers whether the caller holds a permission of the catalog, read now: the
// check applications make before an action.
func (h *Handler) handleCheck(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	var req checkRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req.Permission == "" {
		return required("permission")
	}
	if !h.known[req.Permission] {
		// A typo would otherwise read as a plain "not allowed".
		return invalid(rbac.RuleUnknownPermission, "permission %q is not in the permission catalog (see GET %s/permissions)", req.Permission, Prefix)
	}
	ok, err := h.store.HasPermission(ctx, p.tenantID(), p.userID, req.Permission)
	if err != nil {
		return err
	}
	if !ok {
		// Granted implies a role; only a refusal needs to know whether there is none.
		if err := h.requireRole(ctx, p); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, checkResponse{Allowed: ok})
	return nil
}
