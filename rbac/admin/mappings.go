package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// Mapping previews answer at most this many gains and losses (the counts are always whole).
const (
	defaultPreviewLimit = 100
	maxPreviewLimit     = 1000
)

type mappingRequest struct {
	// GroupID or Group (a name, normalized as every group name is) names the IdP group.
	GroupID *string `json:"group_id"`
	Group   *string `json:"group"`
}

type previewRequest struct {
	GroupID *string `json:"group_id"`
	Group   *string `json:"group"`
	// Remove previews deleting the role's mapping on the connection.
	Remove bool `json:"remove"`
}

// mappingResultJSON answers a mapping change: the mapping now, and what the recomputation of
// the connection's users did (nothing while its group mapping is off).
type mappingResultJSON struct {
	RoleID       string       `json:"role_id"`
	ConnectionID string       `json:"connection_id"`
	Mapping      *mappingJSON `json:"mapping"`
	Changed      bool         `json:"changed"`
	AppliedNow   bool         `json:"applied_now"`
	Granted      int          `json:"granted"`
	Revoked      int          `json:"revoked"`
}

// resolveGroup finds the group a mapping request names among the connection's groups.
func resolveGroup(ctx context.Context, r storage.Reader, conn storage.Connection, id, name *string) (storage.Group, error) {
	scope := storage.Scope{TenantID: conn.TenantID, ConnectionID: conn.ID}
	switch {
	case (id == nil) == (name == nil):
		return storage.Group{}, invalid(ruleFieldRequired, "give exactly one of group_id (a group's id) and group (a group's name)")
	case id != nil:
		g, err := r.Group(ctx, scope, *id)
		if errors.Is(err, storage.ErrNotFound) {
			return g, invalid(ruleUnknownGroup, "group_id: connection %q has no IdP group with id %q", conn.Name, *id)
		}
		return g, err
	}
	norm := rbac.NormalizeGroupName(*name)
	if norm == "" {
		return storage.Group{}, required("group")
	}
	g, err := r.GroupByName(ctx, scope, norm)
	if errors.Is(err, storage.ErrNotFound) {
		return g, invalid(ruleUnknownGroup,
			"group: connection %q has no IdP group named %q (normalized %q); a group is known once its IdP pushes it over SCIM or a sign-in's groups claim names it",
			conn.Name, *name, norm)
	}
	return g, err
}

// checkMapping checks a mapping change against the tenant's mappings (rbac.ApplyMapping),
// naming roles and groups rather than ids in the error.
func checkMapping(ctx context.Context, r storage.Reader, conn storage.Connection, change rbac.MappingChange, group storage.Group) error {
	roles, err := r.Roles(ctx, conn.TenantID)
	if err != nil {
		return err
	}
	var ms []rbac.Mapping
	for _, ro := range roles {
		for _, m := range ro.Mappings {
			ms = append(ms, rbac.Mapping{RoleID: m.RoleID, ConnectionID: m.ConnectionID, GroupID: m.GroupID})
		}
	}
	_, err = rbac.ApplyMapping(ms, change)
	var re *rbac.RuleError
	if errors.As(err, &re) && re.Rule == rbac.RuleGroupMappedOnce {
		for _, ro := range roles {
			for _, m := range ro.Mappings {
				if m.ConnectionID == conn.ID && m.GroupID == change.GroupID && ro.ID != change.RoleID {
					return groupTaken(group, conn, ro.Name)
				}
			}
		}
	}
	return err
}

func groupTaken(g storage.Group, conn storage.Connection, roleName string) *Error {
	return conflict(rbac.RuleGroupMappedOnce,
		"IdP group %q of connection %q is already mapped to role %q; a group maps to at most one role, so remove that mapping first",
		g.DisplayName, conn.Name, roleName)
}

// mappingOn returns the group a role is mapped to on a connection, or "".
func mappingOn(ro storage.Role, connectionID string) string {
	for _, m := range ro.Mappings {
		if m.ConnectionID == connectionID {
			return m.GroupID
		}
	}
	return ""
}

// lockGroups locks the groups a mapping change involves, in a fixed order. SCIM member
// changes lock their group too, so a push and a mapping change of the same group take
// turns, and whichever commits second recomputes roles with the other's change in view
// (otherwise a member added while its group was being mapped could miss the role until the
// next sync).
func lockGroups(ctx context.Context, tx storage.Tx, conn storage.Connection, ids ...string) error {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	for _, id := range ids {
		if id == "" {
			continue
		}
		if _, err := tx.LockGroup(ctx, storage.Scope{TenantID: conn.TenantID, ConnectionID: conn.ID}, id); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	return nil
}

// syncConnection recomputes the roles of every SSO user of the connection, as set-based
// SQL in tx, when its group mapping is on (off: nothing is synced; the mappings wait).
func syncConnection(ctx context.Context, tx storage.Tx, actor Actor, conn storage.Connection, now time.Time) (granted, revoked int, err error) {
	if !conn.GroupMapping {
		return 0, 0, nil
	}
	return tx.SyncRoles(ctx, conn.TenantID, conn.ID, nil, actor.syncTemplate(conn.TenantID, now))
}

// handleSetMapping maps a role to an IdP group of a connection (replacing the role's mapping
// there), and when the connection's group mapping is on, recomputes its users' roles in the
// same transaction.
func (h *Handler) handleSetMapping(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	roleID, connID := mux.Vars(r)["id"], mux.Vars(r)["connection_id"]
	var req mappingRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	now, actor := h.now(), h.actor(r)
	out := mappingResultJSON{RoleID: roleID, ConnectionID: connID}
	err := h.store.Tx(ctx, keepAdministrator(ctx, p.tenantID(), func(tx storage.Tx) error {
		ro, conn, err := roleAndConnection(ctx, tx, p.tenantID(), roleID, connID)
		if err != nil {
			return err
		}
		g, err := resolveGroup(ctx, tx, conn, req.GroupID, req.Group)
		if err != nil {
			return err
		}
		prev := mappingOn(ro, conn.ID)
		out.AppliedNow = conn.GroupMapping
		if prev == g.ID {
			out.Changed, out.Granted, out.Revoked = false, 0, 0
			return nil
		}
		if err := checkMapping(ctx, tx, conn, rbac.MappingChange{RoleID: ro.ID, ConnectionID: conn.ID, GroupID: g.ID}, g); err != nil {
			return err
		}
		// Mapping a group hands the role to its members (the caller may be one of them).
		if err := checkRoleGrant(ctx, tx, p.tenantID(), []string{ro.ID}); err != nil {
			return err
		}
		if err := lockGroups(ctx, tx, conn, g.ID, prev); err != nil {
			return err
		}
		if err := tx.SetRoleMapping(ctx, p.tenantID(), storage.RoleMapping{RoleID: ro.ID, ConnectionID: conn.ID, GroupID: g.ID, CreatedAt: now}); err != nil {
			var ce *storage.ConflictError
			if errors.As(err, &ce) {
				return conflict(rbac.RuleGroupMappedOnce, "IdP group %q of connection %q was just mapped to another role; a group maps to at most one role", g.DisplayName, conn.Name)
			}
			return err
		}
		out.Changed = true
		if out.Granted, out.Revoked, err = syncConnection(ctx, tx, actor, conn, now); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, actor.event(p.tenantID(), now, "admin.role.mapping.set", "role", ro.ID,
			mappingAudit(conn.ID, prev), mappingAudit(conn.ID, g.ID),
			map[string]any{"group_name": g.DisplayName, "synced": conn.GroupMapping, "granted": out.Granted, "revoked": out.Revoked}))
	}))
	if err != nil {
		return err
	}
	j, err := h.roleJSON(ctx, p.tenantID(), roleID)
	if err != nil {
		return err
	}
	for _, m := range j.Mappings {
		if m.ConnectionID == connID {
			out.Mapping = &m
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func mappingAudit(connectionID, groupID string) any {
	if groupID == "" {
		return nil
	}
	return map[string]string{"connection_id": connectionID, "group_id": groupID}
}

func roleAndConnection(ctx context.Context, r storage.Reader, tenantID, roleID, connID string) (storage.Role, storage.Connection, error) {
	ro, err := r.Role(ctx, tenantID, roleID)
	if err != nil {
		return ro, storage.Connection{}, notFoundAs(err, "role", roleID)
	}
	conn, err := r.Connection(ctx, tenantID, connID)
	if err != nil {
		return ro, conn, notFoundAs(err, "connection", connID)
	}
	return ro, conn, nil
}

// handleDeleteMapping removes a role's mapping on a connection and, with the connection's
// group mapping on, revokes the role from the users who held it through that group.
func (h *Handler) handleDeleteMapping(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	roleID, connID := mux.Vars(r)["id"], mux.Vars(r)["connection_id"]
	now, actor := h.now(), h.actor(r)
	out := mappingResultJSON{RoleID: roleID, ConnectionID: connID, Changed: true}
	err := h.store.Tx(ctx, keepAdministrator(ctx, p.tenantID(), func(tx storage.Tx) error {
		ro, conn, err := roleAndConnection(ctx, tx, p.tenantID(), roleID, connID)
		if err != nil {
			return err
		}
		prev := mappingOn(ro, conn.ID)
		if prev == "" {
			return errorf(http.StatusNotFound, ruleMappingNotFound, "role %q has no mapping on connection %q", ro.Name, conn.Name)
		}
		// Unmapping takes the role from the group's members: as much a change of who holds
		// its permissions as mapping it.
		if err := checkRoleGrant(ctx, tx, p.tenantID(), []string{ro.ID}); err != nil {
			return err
		}
		if err := lockGroups(ctx, tx, conn, prev); err != nil {
			return err
		}
		if err := tx.DeleteRoleMapping(ctx, p.tenantID(), ro.ID, conn.ID); err != nil {
			return err
		}
		out.AppliedNow = conn.GroupMapping
		if out.Granted, out.Revoked, err = syncConnection(ctx, tx, actor, conn, now); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, actor.event(p.tenantID(), now, "admin.role.mapping.delete", "role", ro.ID,
			mappingAudit(conn.ID, prev), nil,
			map[string]any{"synced": conn.GroupMapping, "granted": out.Granted, "revoked": out.Revoked}))
	}))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// changeJSON is a role a user would gain or lose.
type changeJSON struct {
	UserID   string      `json:"user_id"`
	UserName string      `json:"user_name"`
	RoleID   string      `json:"role_id"`
	RoleName string      `json:"role_name"`
	Source   rbac.Source `json:"source"`
}

// previewJSON is who would gain and lose which role. With the connection's group mapping
// off (applies_now false), nothing would change now: it is what switching the mapping on
// would do.
type previewJSON struct {
	Gains      []changeJSON `json:"gains"`
	Losses     []changeJSON `json:"losses"`
	GainCount  int          `json:"gain_count"`
	LossCount  int          `json:"loss_count"`
	AppliesNow bool         `json:"applies_now"`
	// Truncated says the lists hold fewer changes than the counts (see ?limit=).
	Truncated bool `json:"truncated"`
}

// handlePreviewMapping answers what a mapping change (the PUT body, or {"remove": true})
// would grant and revoke, without saving anything. It checks the mapping rules as the
// change itself would.
func (h *Handler) handlePreviewMapping(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	roleID, connID := mux.Vars(r)["id"], mux.Vars(r)["connection_id"]
	if err := allowParams(r.URL.Query(), "limit"); err != nil {
		return err
	}
	pg, err := pagingWith(r, defaultPreviewLimit, maxPreviewLimit)
	if err != nil {
		return err
	}
	var req previewRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	ro, conn, err := roleAndConnection(ctx, h.store, p.tenantID(), roleID, connID)
	if err != nil {
		return err
	}
	override := storage.RoleMapping{RoleID: ro.ID, ConnectionID: conn.ID}
	if req.Remove {
		if req.GroupID != nil || req.Group != nil {
			return invalid(ruleInvalidParameter, "remove previews deleting the mapping: give no group with it")
		}
		if mappingOn(ro, conn.ID) == "" {
			return errorf(http.StatusNotFound, ruleMappingNotFound, "role %q has no mapping on connection %q", ro.Name, conn.Name)
		}
	} else {
		g, err := resolveGroup(ctx, h.store, conn, req.GroupID, req.Group)
		if err != nil {
			return err
		}
		if err := checkMapping(ctx, h.store, conn, rbac.MappingChange{RoleID: ro.ID, ConnectionID: conn.ID, GroupID: g.ID}, g); err != nil {
			return err
		}
		override.GroupID = g.ID
	}
	pv, err := h.store.PreviewRoleSync(ctx, p.tenantID(), conn.ID, &override, pg.limit)
	if err != nil {
		return err
	}
	out, err := h.previewJSON(ctx, p.tenantID(), pv, conn.GroupMapping)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handlePreviewSync answers what recomputing the connection's users under its current
// mappings would change: before switching group mapping on, who would lose which manual
// role (the seed's warning about users losing access, answered in advance).
func (h *Handler) handlePreviewSync(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	id := mux.Vars(r)["id"]
	if err := allowParams(r.URL.Query(), "limit"); err != nil {
		return err
	}
	pg, err := pagingWith(r, defaultPreviewLimit, maxPreviewLimit)
	if err != nil {
		return err
	}
	conn, err := h.store.Connection(ctx, p.tenantID(), id)
	if err != nil {
		return notFoundAs(err, "connection", id)
	}
	pv, err := h.store.PreviewRoleSync(ctx, p.tenantID(), conn.ID, nil, pg.limit)
	if err != nil {
		return err
	}
	out, err := h.previewJSON(ctx, p.tenantID(), pv, conn.GroupMapping)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) previewJSON(ctx context.Context, tenantID string, pv storage.RoleSyncPreview, appliesNow bool) (previewJSON, error) {
	roleNames, err := h.roleNames(ctx, tenantID)
	if err != nil {
		return previewJSON{}, err
	}
	var ids []string
	for _, c := range append(pv.Gains[:len(pv.Gains):len(pv.Gains)], pv.Losses...) {
		ids = append(ids, c.UserID)
	}
	userNames, err := h.userNames(ctx, tenantID, ids)
	if err != nil {
		return previewJSON{}, err
	}
	out := previewJSON{Gains: []changeJSON{}, Losses: []changeJSON{}, GainCount: pv.GainCount, LossCount: pv.LossCount,
		AppliesNow: appliesNow, Truncated: len(pv.Gains) < pv.GainCount || len(pv.Losses) < pv.LossCount}
	for _, c := range pv.Gains {
		out.Gains = append(out.Gains, changeJSON{c.UserID, userNames[c.UserID], c.RoleID, roleNames[c.RoleID], c.Source})
	}
	for _, c := range pv.Losses {
		out.Losses = append(out.Losses, changeJSON{c.UserID, userNames[c.UserID], c.RoleID, roleNames[c.RoleID], c.Source})
	}
	return out, nil
}

// userNames reads the userNames of users by id, a hundred per query.
func (h *Handler) userNames(ctx context.Context, tenantID string, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	var todo []string
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			out[id] = ""
			todo = append(todo, id)
		}
	}
	const batch = 100
	for len(todo) > 0 {
		n := min(len(todo), batch)
		page, err := h.store.Users(ctx, storage.Scope{TenantID: tenantID}, storage.Query{Filter: anyID(todo[:n]), Limit: n})
		if err != nil {
			return nil, err
		}
		for _, u := range page.Items {
			out[u.ID] = u.UserName
		}
		todo = todo[n:]
	}
	return out, nil
}

// anyID is a filter matching any of ids, as a balanced tree so its SQL nests shallowly.
func anyID(ids []string) storage.Filter {
	if len(ids) == 1 {
		return storage.Compare{Field: storage.FieldID, Op: storage.OpEq, Value: ids[0]}
	}
	m := len(ids) / 2
	return storage.Or{Left: anyID(ids[:m]), Right: anyID(ids[m:])}
}
