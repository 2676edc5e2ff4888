package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/rbac/password"
	"github.com/rollcall/rollcall/storage"
)

// maxOrgGroup bounds the free-text org group.
const maxOrgGroup = 200

// assignmentJSON is one role of a user with where it comes from ("manual" or
// "idp:<connection id>"). A role held from two sources appears twice.
type assignmentJSON struct {
	ID     string      `json:"id"`
	Name   string      `json:"name"`
	Source rbac.Source `json:"source"`
}

type groupRefJSON struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
}

type userJSON struct {
	ID       string             `json:"id"`
	UserName string             `json:"user_name"`
	Email    string             `json:"email"`
	Kind     storage.UserKind   `json:"kind"`
	Auth     storage.AuthMethod `json:"auth"`
	// ConnectionID is the IdP connection of an SSO user; null for local users.
	ConnectionID *string          `json:"connection_id"`
	ExternalID   string           `json:"external_id,omitempty"`
	DisplayName  string           `json:"display_name,omitempty"`
	Active       bool             `json:"active"`
	OrgGroup     string           `json:"org_group"`
	Roles        []assignmentJSON `json:"roles"`
	Version      int64            `json:"version"`
	CreatedAt    time.Time        `json:"created_at"`
	UpdatedAt    time.Time        `json:"updated_at"`
}

// userDetailJSON is one user as GET /users/{id} answers: with its IdP groups and effective
// permissions, which lists leave out (they cost a read per user).
type userDetailJSON struct {
	userJSON
	Groups      []groupRefJSON    `json:"groups"`
	Permissions []rbac.Permission `json:"permissions"`
}

func toUserJSON(u storage.User, as []storage.RoleAssignment, roleNames map[string]string) userJSON {
	j := userJSON{ID: u.ID, UserName: u.UserName, Email: u.Email, Kind: u.Kind, Auth: u.Auth, ExternalID: u.ExternalID,
		DisplayName: u.Profile.DisplayName, Active: u.Active, OrgGroup: u.OrgGroup, Roles: []assignmentJSON{},
		Version: u.Version, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if u.ConnectionID != "" {
		j.ConnectionID = &u.ConnectionID
	}
	for _, a := range as {
		j.Roles = append(j.Roles, assignmentJSON{ID: a.RoleID, Name: roleNames[a.RoleID], Source: a.Source})
	}
	return j
}

// userAudit is a user as audit events record it: no password hash, no SCIM document.
func userAudit(u storage.User) map[string]any {
	return map[string]any{"id": u.ID, "user_name": u.UserName, "email": u.Email, "kind": u.Kind, "auth": u.Auth,
		"connection_id": u.ConnectionID, "active": u.Active, "org_group": u.OrgGroup}
}

// roleNames maps the tenant's role ids to names.
func (h *Handler) roleNames(ctx context.Context, tenantID string) (map[string]string, error) {
	roles, err := h.store.Roles(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(roles))
	for _, ro := range roles {
		m[ro.ID] = ro.Name
	}
	return m, nil
}

// allowParams refuses query parameters a route does not know, so that a misspelt filter is
// an error rather than silently ignored.
func allowParams(q url.Values, known ...string) error {
	for k := range q {
		if !slices.Contains(known, k) {
			return invalid(ruleInvalidParameter, "unknown query parameter %q (this route takes %s)", k, quoteAll(known))
		}
	}
	return nil
}

func boolParam(q url.Values, name string) (*bool, error) {
	switch s := q.Get(name); s {
	case "":
		return nil, nil
	case "true", "false":
		b := s == "true"
		return &b, nil
	default:
		return nil, invalid(ruleInvalidParameter, "%s must be true or false, not %q", name, s)
	}
}

func and(fs ...storage.Filter) storage.Filter {
	var out storage.Filter
	for _, f := range fs {
		switch {
		case f == nil:
		case out == nil:
			out = f
		default:
			out = storage.And{Left: out, Right: f}
		}
	}
	return out
}

// userFilter is the filter of GET /users: q (userName contains, ignoring case), kind, auth,
// connection, active.
func userFilter(q url.Values) (storage.Filter, error) {
	var fs []storage.Filter
	if s := q.Get("q"); s != "" {
		if err := checkText("q", s, 256); err != nil {
			return nil, err
		}
		fs = append(fs, storage.Compare{Field: storage.FieldUserName, Op: storage.OpCo, Value: s, Fold: true})
	}
	switch s := q.Get("kind"); s {
	case "":
	case string(storage.UserHuman), string(storage.UserService):
		fs = append(fs, storage.Compare{Field: storage.FieldKind, Op: storage.OpEq, Value: s})
	default:
		return nil, invalid(ruleInvalidParameter, "kind must be human or service, not %q", s)
	}
	switch s := q.Get("auth"); s {
	case "":
	case string(storage.AuthSSO), string(storage.AuthPassword):
		fs = append(fs, storage.Compare{Field: storage.FieldAuth, Op: storage.OpEq, Value: s})
	default:
		return nil, invalid(ruleInvalidParameter, "auth must be sso or password, not %q", s)
	}
	if s := q.Get("connection"); s != "" {
		fs = append(fs, storage.Compare{Field: storage.FieldConnection, Op: storage.OpEq, Value: s})
	}
	active, err := boolParam(q, "active")
	if err != nil {
		return nil, err
	}
	if active != nil {
		fs = append(fs, storage.Compare{Field: storage.FieldActive, Op: storage.OpEq, Value: *active})
	}
	return and(fs...), nil
}

func (h *Handler) handleListUsers(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	if err := allowParams(r.URL.Query(), "limit", "cursor", "q", "kind", "auth", "connection", "active"); err != nil {
		return err
	}
	pg, err := pagingOf(r)
	if err != nil {
		return err
	}
	f, err := userFilter(r.URL.Query())
	if err != nil {
		return err
	}
	after, ok, err := decodeCursor[storage.Position]("users", pg.cursor)
	if err != nil {
		return err
	}
	// One more than asked tells whether another page exists.
	q := storage.Query{Filter: f, Limit: pg.limit + 1, Count: true}
	if ok {
		q.After = &after
	}
	page, err := h.store.Users(ctx, p.scope(), q)
	if err != nil {
		return err
	}
	names, err := h.roleNames(ctx, p.tenantID())
	if err != nil {
		return err
	}
	out := listJSON[userJSON]{Items: []userJSON{}, Total: &page.Total}
	if len(page.Items) > pg.limit {
		page.Items = page.Items[:pg.limit]
		out.NextCursor = encodeCursor("users", storage.Position{Seq: page.Items[pg.limit-1].Seq})
	}
	ids := make([]string, len(page.Items))
	for i, u := range page.Items {
		ids[i] = u.ID
	}
	roles, err := h.store.RolesOfUsers(ctx, p.tenantID(), ids)
	if err != nil {
		return err
	}
	for _, u := range page.Items {
		out.Items = append(out.Items, toUserJSON(u, roles[u.ID], names))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// fullUser is a user with its roles, groups and effective permissions, read after a change.
func (h *Handler) fullUser(ctx context.Context, tenantID, id string) (userDetailJSON, error) {
	u, err := h.store.User(ctx, storage.Scope{TenantID: tenantID}, id)
	if err != nil {
		return userDetailJSON{}, notFoundAs(err, "user", id)
	}
	as, err := h.store.UserRoles(ctx, tenantID, id)
	if err != nil {
		return userDetailJSON{}, err
	}
	names, err := h.roleNames(ctx, tenantID)
	if err != nil {
		return userDetailJSON{}, err
	}
	j := userDetailJSON{userJSON: toUserJSON(u, as, names)}
	j.Groups = []groupRefJSON{}
	for _, g := range u.Groups {
		j.Groups = append(j.Groups, groupRefJSON{ID: g.ID, DisplayName: g.DisplayName})
	}
	if j.Permissions, err = h.store.Permissions(ctx, tenantID, id); err != nil {
		return userDetailJSON{}, err
	}
	if j.Permissions == nil {
		j.Permissions = []rbac.Permission{}
	}
	return j, nil
}

func (h *Handler) handleGetUser(w http.ResponseWriter, r *http.Request) error {
	j, err := h.fullUser(r.Context(), principalFrom(r.Context()).tenantID(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

type createUserRequest struct {
	Email    string        `json:"email"`
	Kind     rbac.UserKind `json:"kind"`
	Password string        `json:"password"`
	Roles    []string      `json:"roles"`
	OrgGroup string        `json:"org_group"`
}

// handleCreateUser creates a local user: a human who signs in with a password (direct
// authentication) or a service user. SSO users come from their IdP (SCIM or sign-in).
func (h *Handler) handleCreateUser(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	var req createUserRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if err := rbac.CheckEmail(req.Email); err != nil {
		return err
	}
	if req.Kind == "" {
		return required("kind (human or service)")
	}
	if err := rbac.CheckNewLocalUser(req.Kind, req.Roles); err != nil {
		return err
	}
	if req.Password == "" {
		return required("password")
	}
	if err := password.CheckPolicy(req.Password); err != nil {
		return err
	}
	if err := checkText("org_group", req.OrgGroup, maxOrgGroup); err != nil {
		return err
	}
	hash, err := password.Hash(req.Password)
	if err != nil {
		return err
	}
	now := h.now()
	u := storage.User{ID: storage.NewID(), TenantID: p.tenantID(), Kind: storage.UserKind(req.Kind), Auth: storage.AuthPassword,
		UserName: req.Email, Email: req.Email, Active: true, OrgGroup: strings.TrimSpace(req.OrgGroup), PasswordHash: hash,
		Version: 1, CreatedAt: now, UpdatedAt: now}
	actor := h.actor(r)
	err = h.store.Tx(ctx, func(tx storage.Tx) error {
		roles, err := knownRoles(ctx, tx, p.tenantID(), req.Roles)
		if err != nil {
			return err
		}
		if err := checkRoleGrant(ctx, tx, p.tenantID(), roles); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			var ce *storage.ConflictError
			if errors.As(err, &ce) && ce.Constraint == storage.UniqueUserName {
				return conflict(ruleUserNameUnique, "a user named %q already exists in this tenant (user names are unique ignoring case)", u.UserName)
			}
			return err
		}
		if err := tx.AppendAudit(ctx, actor.event(p.tenantID(), now, "admin.user.create", "user", u.ID, nil, userAudit(u), nil)); err != nil {
			return err
		}
		return assignManual(ctx, tx, actor, p.tenantID(), u.ID, roles, nil, now)
	})
	if err != nil {
		return err
	}
	j, err := h.fullUser(ctx, p.tenantID(), u.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/users/"+u.ID)
	writeJSON(w, http.StatusCreated, j)
	return nil
}

// knownRoles checks that every id names a role of the tenant and returns them without
// duplicates or blanks.
func knownRoles(ctx context.Context, r storage.Reader, tenantID string, ids []string) ([]string, error) {
	roles, err := r.Roles(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var out, unknown []string
	for _, id := range ids {
		id = strings.TrimSpace(id)
		switch {
		case id == "" || slices.Contains(out, id):
		case slices.ContainsFunc(roles, func(ro storage.Role) bool { return ro.ID == id }):
			out = append(out, id)
		default:
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return nil, invalid(ruleUnknownRole, "roles: no role of this tenant has the id %s", quoteAll(unknown))
	}
	return out, nil
}

// assignManual grants and revokes a user's manual role assignments, each an audit event
// (role.grant, role.revoke) worded as SyncRoles words its own.
func assignManual(ctx context.Context, tx storage.Tx, actor Actor, tenantID, userID string, grant, revoke []string, now time.Time) error {
	if err := tx.AssignRoles(ctx, tenantID, userID, grant, rbac.SourceManual, now); err != nil {
		return err
	}
	if err := tx.RevokeRoles(ctx, tenantID, userID, revoke, rbac.SourceManual); err != nil {
		return err
	}
	for _, c := range []struct {
		action string
		ids    []string
	}{{"role.grant", grant}, {"role.revoke", revoke}} {
		for _, id := range c.ids {
			e := actor.event(tenantID, now, c.action, "user", userID, nil, nil,
				map[string]string{"role_id": id, "source": string(rbac.SourceManual)})
			if err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
	}
	return nil
}

type updateUserRequest struct {
	OrgGroup *string   `json:"org_group"`
	Active   *bool     `json:"active"`
	Roles    *[]string `json:"roles"`
	// Email and UserName are refused when they differ: usernames are immutable.
	Email    *string `json:"email"`
	UserName *string `json:"user_name"`
}

// handleUpdateUser changes a user's org group and activity (edit_user) and manual roles
// (assign_role). Deactivation ends the user's sessions and API tokens at once; reactivation
// restores the user with the roles they held.
func (h *Handler) handleUpdateUser(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	id := mux.Vars(r)["id"]
	var req updateUserRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req.OrgGroup == nil && req.Active == nil && req.Roles == nil && req.Email == nil && req.UserName == nil {
		return invalid(ruleNothingToChange, "the body names nothing to change (org_group, active, roles)")
	}
	if req.OrgGroup != nil || req.Active != nil {
		if err := h.authorize(ctx, p, []rbac.Permission{rbac.EditUser}); err != nil {
			return err
		}
	}
	if req.Roles != nil {
		if err := h.authorize(ctx, p, []rbac.Permission{rbac.AssignRole}); err != nil {
			return err
		}
	}
	if req.OrgGroup != nil {
		if err := checkText("org_group", *req.OrgGroup, maxOrgGroup); err != nil {
			return err
		}
	}
	if req.Active != nil && !*req.Active && id == p.userID {
		return conflict(ruleSelfLockout, "you cannot deactivate yourself; another administrator must")
	}
	if req.Roles != nil && id == p.userID {
		return conflict(ruleSelfLockout, "you cannot change your own roles; another administrator must")
	}
	now, actor := h.now(), h.actor(r)
	err := h.store.Tx(ctx, keepAdministrator(ctx, p.tenantID(), func(tx storage.Tx) error {
		u, err := tx.LockUser(ctx, p.scope(), id)
		if err != nil {
			return notFoundAs(err, "user", id)
		}
		for _, v := range []*string{req.Email, req.UserName} {
			if v != nil && *v != u.UserName {
				return invalid(ruleEmailImmutable, "the user name (email) %q cannot be changed; create a new user instead", u.UserName)
			}
		}
		if err := checkPowerOver(ctx, tx, u); err != nil {
			return err
		}
		if req.Roles != nil {
			if err := h.setManualRoles(ctx, tx, actor, u, *req.Roles, now); err != nil {
				return err
			}
		}
		before := u
		if req.OrgGroup != nil {
			u.OrgGroup = strings.TrimSpace(*req.OrgGroup)
		}
		if req.Active != nil {
			u.Active = *req.Active
		}
		if u.OrgGroup == before.OrgGroup && u.Active == before.Active {
			return nil
		}
		u.Version, u.UpdatedAt = u.Version+1, now
		// UpdateUser ends every session of a user it deactivates, in this transaction.
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		var detail any
		if before.Active && !u.Active {
			detail = map[string]bool{"sessions_ended": true}
		}
		return tx.AppendAudit(ctx, actor.event(p.tenantID(), now, "admin.user.update", "user", u.ID, userAudit(before), userAudit(u), detail))
	}))
	if err != nil {
		return err
	}
	j, err := h.fullUser(ctx, p.tenantID(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

// setManualRoles makes the user's manual roles exactly ids. Roles an SSO user gets from a
// connection whose group mapping is on come from IdP groups, and a sync would revoke manual
// ones, so they are refused; a local user keeps at least one role.
func (h *Handler) setManualRoles(ctx context.Context, tx storage.Tx, actor Actor, u storage.User, ids []string, now time.Time) error {
	if u.Auth == storage.AuthSSO && u.ConnectionID != "" {
		c, err := tx.Connection(ctx, u.TenantID, u.ConnectionID)
		if err != nil {
			return err
		}
		if c.GroupMapping {
			return conflict(ruleRolesFromGroups,
				"the roles of %q come from its IdP groups (connection %q has group mapping on); change its groups in the IdP, or the role mappings",
				u.UserName, c.Name)
		}
	}
	want, err := knownRoles(ctx, tx, u.TenantID, ids)
	if err != nil {
		return err
	}
	current, err := tx.UserRoles(ctx, u.TenantID, u.ID)
	if err != nil {
		return err
	}
	var grant, revoke []string
	others := 0 // assignments from other sources
	for _, a := range current {
		switch {
		case a.Source != rbac.SourceManual:
			others++
		case !slices.Contains(want, a.RoleID):
			revoke = append(revoke, a.RoleID)
		}
	}
	for _, id := range want {
		if !slices.ContainsFunc(current, func(a storage.RoleAssignment) bool {
			return a.RoleID == id && a.Source == rbac.SourceManual
		}) {
			grant = append(grant, id)
		}
	}
	if u.Auth == storage.AuthPassword && len(want)+others == 0 {
		return invalid(rbac.RuleUserNeedsRole, "%s user %q needs at least one role; to take away their access, deactivate them", u.Kind, u.UserName)
	}
	if err := checkRoleGrant(ctx, tx, u.TenantID, grant); err != nil {
		return err
	}
	return assignManual(ctx, tx, actor, u.TenantID, u.ID, grant, revoke, now)
}

type passwordRequest struct {
	Password string `json:"password"`
}

// handleResetPassword sets a local user's password. It also ends the user's sessions and API
// tokens: a reset usually means the old password is no longer trusted.
func (h *Handler) handleResetPassword(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	id := mux.Vars(r)["id"]
	var req passwordRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req.Password == "" {
		return required("password")
	}
	if err := password.CheckPolicy(req.Password); err != nil {
		return err
	}
	hash, err := password.Hash(req.Password)
	if err != nil {
		return err
	}
	now, actor := h.now(), h.actor(r)
	err = h.store.Tx(ctx, func(tx storage.Tx) error {
		u, err := tx.LockUser(ctx, p.scope(), id)
		if err != nil {
			return notFoundAs(err, "user", id)
		}
		if u.Auth != storage.AuthPassword {
			return conflict(ruleNoPassword, "user %q signs in through their identity provider and has no password here", u.UserName)
		}
		if err := checkPowerOver(ctx, tx, u); err != nil {
			return err
		}
		u.PasswordHash, u.Version, u.UpdatedAt = hash, u.Version+1, now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.DeleteUserSessions(ctx, u.TenantID, u.ID); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, actor.event(p.tenantID(), now, "admin.user.password_reset", "user", u.ID, nil, nil,
			map[string]bool{"sessions_ended": true}))
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleDeleteUser deletes a user permanently, with its role assignments, memberships and
// sessions; audit events that name the user stay.
func (h *Handler) handleDeleteUser(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	id := mux.Vars(r)["id"]
	if id == p.userID {
		return conflict(ruleSelfLockout, "you cannot delete yourself; another administrator must")
	}
	now, actor := h.now(), h.actor(r)
	err := h.store.Tx(ctx, keepAdministrator(ctx, p.tenantID(), func(tx storage.Tx) error {
		u, err := tx.LockUser(ctx, p.scope(), id)
		if err != nil {
			return notFoundAs(err, "user", id)
		}
		if err := checkPowerOver(ctx, tx, u); err != nil {
			return err
		}
		as, err := tx.UserRoles(ctx, u.TenantID, u.ID)
		if err != nil {
			return err
		}
		if err := tx.DeleteUser(ctx, p.scope(), id, now); err != nil {
			return notFoundAs(err, "user", id)
		}
		roles := make([]map[string]string, len(as))
		for i, a := range as {
			roles[i] = map[string]string{"role_id": a.RoleID, "source": string(a.Source)}
		}
		return tx.AppendAudit(ctx, actor.event(p.tenantID(), now, "admin.user.delete", "user", id, userAudit(u), nil,
			map[string]any{"roles": roles}))
	}))
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
