package admin

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/rbac"
)

// access is who may call a route: anyone (public), any authenticated user (no permissions
// listed; the handler applies the no-role rule where it matters, see requireRole), or a user
// holding one of the permissions listed.
type access struct {
	public bool
	anyOf  []rbac.Permission
}

// route is one operation of the API. Every route is here, with the permission that guards
// it, so that this table is the whole surface to review; openapi.json documents the same
// routes and permissions, and a test holds the two (and the router) together.
type route struct {
	method, path string
	access       access
	fn           func(http.ResponseWriter, *http.Request) error
}

// routeTable lists the routes. Connections and their groups may be read with view_role as
// well as manage_idp: a role's reader sees which IdP groups feed it (the seed's Roles page
// shows the IdP group to whoever sees roles), and neither holds secrets (a connection's
// client secret is write-only). SCIM tokens, even their hints and use, stay manage_idp.
func (h *Handler) routeTable() []route {
	public := access{public: true}
	signedIn := access{}
	need := func(ps ...rbac.Permission) access { return access{anyOf: ps} }
	const (
		get, post, put, patch, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
	)
	return []route{
		{get, "/openapi.json", public, h.handleOpenAPI},
		{post, "/auth/token", public, h.handleCreateToken},
		{del, "/auth/token", signedIn, h.handleRevokeToken},
		{get, "/me", signedIn, h.handleMe},
		{post, "/check", signedIn, h.handleCheck},

		{get, "/users", need(rbac.ViewUser), h.handleListUsers},
		{post, "/users", need(rbac.CreateUser), h.handleCreateUser},
		{get, "/users/{id}", need(rbac.ViewUser), h.handleGetUser},
		// Each field needs its own permission (org_group, active: edit_user; roles:
		// assign_role), checked by the handler; the route lets in holders of either.
		{patch, "/users/{id}", need(rbac.EditUser, rbac.AssignRole), h.handleUpdateUser},
		{del, "/users/{id}", need(rbac.DeleteUser), h.handleDeleteUser},
		{post, "/users/{id}/password", need(rbac.EditUser), h.handleResetPassword},

		{get, "/roles", need(rbac.ViewRole), h.handleListRoles},
		{post, "/roles", need(rbac.CreateRole), h.handleCreateRole},
		{get, "/roles/{id}", need(rbac.ViewRole), h.handleGetRole},
		{patch, "/roles/{id}", need(rbac.EditRole), h.handleUpdateRole},
		{del, "/roles/{id}", need(rbac.DeleteRole), h.handleDeleteRole},
		{put, "/roles/{id}/mappings/{connection_id}", need(rbac.ManageIdP), h.handleSetMapping},
		{del, "/roles/{id}/mappings/{connection_id}", need(rbac.ManageIdP), h.handleDeleteMapping},
		{post, "/roles/{id}/mappings/{connection_id}/preview", need(rbac.ManageIdP), h.handlePreviewMapping},

		{get, "/permission-sets", need(rbac.ViewPermissionSet), h.handleListPermissionSets},
		{post, "/permission-sets", need(rbac.CreatePermissionSet), h.handleCreatePermissionSet},
		{get, "/permission-sets/{id}", need(rbac.ViewPermissionSet), h.handleGetPermissionSet},
		{patch, "/permission-sets/{id}", need(rbac.EditPermissionSet), h.handleUpdatePermissionSet},
		{del, "/permission-sets/{id}", need(rbac.DeletePermissionSet), h.handleDeletePermissionSet},
		{get, "/permissions", need(rbac.ViewPermissionSet), h.handleCatalog},

		{get, "/connections", need(rbac.ViewRole, rbac.ManageIdP), h.handleListConnections},
		{post, "/connections", need(rbac.ManageIdP), h.handleCreateConnection},
		{get, "/connections/{id}", need(rbac.ViewRole, rbac.ManageIdP), h.handleGetConnection},
		{patch, "/connections/{id}", need(rbac.ManageIdP), h.handleUpdateConnection},
		{get, "/connections/{id}/sync-preview", need(rbac.ManageIdP), h.handlePreviewSync},
		{get, "/connections/{id}/tokens", need(rbac.ManageIdP), h.handleListTokens},
		{post, "/connections/{id}/tokens", need(rbac.ManageIdP), h.handleCreateSCIMToken},
		{del, "/connections/{id}/tokens/{token_id}", need(rbac.ManageIdP), h.handleRevokeSCIMToken},
		{get, "/connections/{id}/groups", need(rbac.ViewRole, rbac.ManageIdP), h.handleListGroups},
		{get, "/connections/{id}/groups/unmapped", need(rbac.ViewRole, rbac.ManageIdP), h.handleListUnmappedGroups},

		{get, "/audit", need(rbac.ViewAuditLog), h.handleListAudit},
		{get, "/audit/export", need(rbac.ViewAuditLog), h.handleExportAudit},
	}
}

// routes builds the router. Routes are registered with their whole path on one router (no
// subrouters), so that gorilla/mux answers 405 for a known path with another method.
func (h *Handler) routes() *mux.Router {
	r := mux.NewRouter().SkipClean(true) // paths as sent, never a 301 to a cleaned one
	type registered struct {
		route  *mux.Route
		method string
	}
	var all []registered
	for _, rt := range h.routeTable() {
		all = append(all, registered{r.Handle(Prefix+rt.path, h.serve(rt)).Methods(rt.method), rt.method})
		if rt.method == http.MethodGet {
			// HEAD answers what GET does, without the body (RFC 9110 section 9.3.2; net/http
			// drops the body).
			all = append(all, registered{r.Handle(Prefix+rt.path, h.serve(rt)).Methods(http.MethodHead), http.MethodHead})
		}
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, errorf(http.StatusNotFound, ruleRouteNotFound, "there is no API route %s (see %s/openapi.json)", r.URL.Path, Prefix))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A 405 names the methods the path allows (RFC 9110 section 15.5.6).
		var allow []string
		for _, reg := range all {
			r2 := *r
			r2.Method = reg.method
			var m mux.RouteMatch
			if reg.route.Match(&r2, &m) && m.MatchErr == nil && !slices.Contains(allow, reg.method) {
				allow = append(allow, reg.method)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		h.writeError(w, r, errorf(http.StatusMethodNotAllowed, ruleMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
	})
	return r
}

// serve runs a route: authentication and authorization first, then the handler; every error
// goes to writeError.
func (h *Handler) serve(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.run(rt, w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
}

func (h *Handler) run(rt route, w http.ResponseWriter, r *http.Request) error {
	if rt.access.public {
		return rt.fn(w, r)
	}
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	if len(rt.access.anyOf) > 0 {
		if err := h.authorize(r.Context(), p, rt.access.anyOf); err != nil {
			return err
		}
	}
	return rt.fn(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
}
