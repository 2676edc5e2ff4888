package admin

import (
	"net/http"
	"time"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

type roleRefJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// groupJSON is a registered IdP group of a connection.
type groupJSON struct {
	// ID is Rollcall's id of the group, which is also its SCIM id when the IdP pushed it.
	ID string `json:"id"`
	// DisplayName is the name exactly as the IdP sent it; NormalizedName is its key.
	DisplayName    string `json:"display_name"`
	NormalizedName string `json:"normalized_name"`
	ExternalID     string `json:"external_id,omitempty"`
	// SCIM says the IdP pushed the group over SCIM; SeenAtLogin that a sign-in's groups claim
	// named it.
	SCIM        bool      `json:"scim"`
	SeenAtLogin bool      `json:"seen_at_login"`
	FirstSeenAt time.Time `json:"first_seen_at"`
	LastSeenAt  time.Time `json:"last_seen_at"`
	// MappedRole is the role the group maps to, so a UI can grey the group out; null if none.
	MappedRole *roleRefJSON `json:"mapped_role"`
	// UnusualName flags names with characters other than a-z 0-9 _ -, which IdPs and claims
	// handle inconsistently.
	UnusualName bool `json:"unusual_name"`
}

func toGroupJSON(g storage.Group, roleNames map[string]string) groupJSON {
	j := groupJSON{ID: g.ID, DisplayName: g.DisplayName, NormalizedName: g.NormalizedName, ExternalID: g.ExternalID,
		SCIM: g.SCIM, SeenAtLogin: g.SeenAtLogin, FirstSeenAt: g.CreatedAt, LastSeenAt: g.LastSeenAt,
		UnusualName: rbac.UnusualGroupName(g.NormalizedName)}
	if g.MappedRoleID != "" {
		j.MappedRole = &roleRefJSON{ID: g.MappedRoleID, Name: roleNames[g.MappedRoleID]}
	}
	return j
}

// handleListGroups lists a connection's registered IdP groups: ?q= (display name contains,
// ignoring case), ?mapped=true|false, ?seen=scim|login.
func (h *Handler) handleListGroups(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := allowParams(q, "limit", "cursor", "q", "mapped", "seen"); err != nil {
		return err
	}
	var fs []storage.Filter
	if s := q.Get("q"); s != "" {
		if err := checkText("q", s, 256); err != nil {
			return err
		}
		fs = append(fs, storage.Compare{Field: storage.FieldDisplayName, Op: storage.OpCo, Value: s, Fold: true})
	}
	mapped, err := boolParam(q, "mapped")
	if err != nil {
		return err
	}
	if mapped != nil {
		fs = append(fs, storage.Compare{Field: storage.FieldMapped, Op: storage.OpEq, Value: *mapped})
	}
	switch s := q.Get("seen"); s {
	case "":
	case "scim":
		fs = append(fs, storage.Compare{Field: storage.FieldSCIM, Op: storage.OpEq, Value: true})
	case "login":
		fs = append(fs, storage.Compare{Field: storage.FieldSeenAtLogin, Op: storage.OpEq, Value: true})
	default:
		return invalid(ruleInvalidParameter, "seen must be scim or login, not %q", s)
	}
	return h.listGroups(w, r, and(fs...))
}

// handleListUnmappedGroups lists the groups sign-ins named that map to no role: how an
// administrator notices a group renamed in the IdP (seen at login under its new name only).
func (h *Handler) handleListUnmappedGroups(w http.ResponseWriter, r *http.Request) error {
	if err := allowParams(r.URL.Query(), "limit", "cursor"); err != nil {
		return err
	}
	return h.listGroups(w, r, storage.And{
		Left:  storage.Compare{Field: storage.FieldSeenAtLogin, Op: storage.OpEq, Value: true},
		Right: storage.Compare{Field: storage.FieldMapped, Op: storage.OpEq, Value: false},
	})
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, f storage.Filter) error {
	ctx := r.Context()
	pg, err := pagingOf(r)
	if err != nil {
		return err
	}
	after, ok, err := decodeCursor[storage.Position]("groups", pg.cursor)
	if err != nil {
		return err
	}
	c, err := h.connection(r)
	if err != nil {
		return err
	}
	q := storage.Query{Filter: f, Limit: pg.limit + 1, Count: true}
	if ok {
		q.After = &after
	}
	page, err := h.store.Groups(ctx, storage.Scope{TenantID: c.TenantID, ConnectionID: c.ID}, q)
	if err != nil {
		return err
	}
	names, err := h.roleNames(ctx, c.TenantID)
	if err != nil {
		return err
	}
	out := listJSON[groupJSON]{Items: []groupJSON{}, Total: &page.Total}
	if len(page.Items) > pg.limit {
		page.Items = page.Items[:pg.limit]
		out.NextCursor = encodeCursor("groups", storage.Position{Seq: page.Items[pg.limit-1].Seq})
	}
	for _, g := range page.Items {
		out.Items = append(out.Items, toGroupJSON(g, names))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
