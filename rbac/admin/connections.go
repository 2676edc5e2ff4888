package admin

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// OIDC defaults of a new connection.
var defaultScopes = []string{"openid", "email", "profile"}

const defaultGroupsClaim = "groups"

// scimPrefix is where the scim package serves SCIM (scim.Prefix; not imported, since the
// admin API does not depend on the SCIM surface).
const scimPrefix = "/scim/v2"

type oidcJSON struct {
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// ClientSecretSet says whether a client secret is stored; the secret itself is never
	// returned.
	ClientSecretSet bool     `json:"client_secret_set"`
	Scopes          []string `json:"scopes"`
	GroupsClaim     string   `json:"groups_claim"`
}

type connectionJSON struct {
	ID           string                 `json:"id"`
	Name         string                 `json:"name"`
	Kind         storage.ConnectionKind `json:"kind"`
	GroupMapping bool                   `json:"group_mapping"`
	OIDC         oidcJSON               `json:"oidc"`
	CreatedAt    time.Time              `json:"created_at"`
	UpdatedAt    time.Time              `json:"updated_at"`
	// Sync is what switching group mapping on or off did to its users' roles.
	Sync *syncJSON `json:"sync,omitempty"`
}

type syncJSON struct {
	Granted  int `json:"granted"`
	Revoked  int `json:"revoked"`
	Released int `json:"released"`
}

func toConnectionJSON(c storage.Connection) connectionJSON {
	j := connectionJSON{ID: c.ID, Name: c.Name, Kind: c.Kind, GroupMapping: c.GroupMapping, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		OIDC: oidcJSON{Issuer: c.OIDC.Issuer, ClientID: c.OIDC.ClientID, ClientSecretSet: c.OIDC.ClientSecret != "",
			Scopes: c.OIDC.Scopes, GroupsClaim: c.OIDC.GroupsClaim}}
	if j.OIDC.Scopes == nil {
		j.OIDC.Scopes = []string{}
	}
	return j
}

// connectionAudit is a connection as audit events record it, without its client secret.
func connectionAudit(c storage.Connection) connectionJSON {
	j := toConnectionJSON(c)
	j.CreatedAt, j.UpdatedAt = time.Time{}, time.Time{}
	return j
}

type oidcRequest struct {
	Issuer       *string   `json:"issuer"`
	ClientID     *string   `json:"client_id"`
	ClientSecret *string   `json:"client_secret"`
	Scopes       *[]string `json:"scopes"`
	GroupsClaim  *string   `json:"groups_claim"`
}

type connectionRequest struct {
	Name         *string                 `json:"name"`
	Kind         *storage.ConnectionKind `json:"kind"`
	GroupMapping *bool                   `json:"group_mapping"`
	OIDC         *oidcRequest            `json:"oidc"`
}

func (req connectionRequest) empty() bool {
	return req.Name == nil && req.Kind == nil && req.GroupMapping == nil && req.OIDC == nil
}

// apply applies the request to c; checkConnection checks the result.
func (req connectionRequest) apply(c *storage.Connection) {
	if req.Name != nil {
		c.Name = strings.TrimSpace(*req.Name)
	}
	if req.Kind != nil {
		c.Kind = *req.Kind
	}
	if req.GroupMapping != nil {
		c.GroupMapping = *req.GroupMapping
	}
	if o := req.OIDC; o != nil {
		set := func(dst *string, src *string) {
			if src != nil {
				*dst = strings.TrimSpace(*src)
			}
		}
		set(&c.OIDC.Issuer, o.Issuer)
		set(&c.OIDC.ClientID, o.ClientID)
		set(&c.OIDC.GroupsClaim, o.GroupsClaim)
		if o.Scopes != nil {
			c.OIDC.Scopes = slices.Clone(*o.Scopes)
		}
	}
}

// sealClientSecret sets c's client secret from the request, sealed: the plain text is
// checked, then stored only as the Box seals it (an empty one clears it).
func (h *Handler) sealClientSecret(req connectionRequest, c *storage.Connection) error {
	if req.OIDC == nil || req.OIDC.ClientSecret == nil {
		return nil
	}
	plain := *req.OIDC.ClientSecret
	if err := checkText("oidc.client_secret", plain, 1024); err != nil {
		return err
	}
	switch {
	case plain == "":
		c.OIDC.ClientSecret = ""
	case h.cfg.Secrets == nil:
		return conflict(ruleSecretKeyRequired,
			"this server has no secret key to seal an OIDC client secret with; start every replica with the same ROLLCALL_SECRET_KEY (make one with: openssl rand -base64 32)")
	default:
		c.OIDC.ClientSecret = h.cfg.Secrets.Seal(plain)
	}
	return nil
}

// sameSecret reports whether the stored secret before holds plain.
func (h *Handler) sameSecret(before, plain string) bool {
	if before == "" || h.cfg.Secrets == nil {
		return before == plain
	}
	got, err := h.cfg.Secrets.Open(before)
	return err == nil && got == plain
}

// checkConnection checks a connection's name, kind and OIDC settings. The settings may be
// left empty until the sign-in flow is set up, but what is given must be usable.
func checkConnection(c storage.Connection) error {
	if err := rbac.CheckName("connection", c.Name); err != nil {
		return err
	}
	if !c.Kind.Valid() {
		return invalid(ruleConnectionKind, "kind must be %q, %q or %q, not %q", storage.KindOkta, storage.KindEntra, storage.KindGeneric, c.Kind)
	}
	o := c.OIDC
	if o.Issuer != "" {
		u, err := url.Parse(o.Issuer)
		local := err == nil && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1")
		// The answers quote the issuer, unless it may hold credentials (user:password@…).
		shown := strconv.Quote(o.Issuer)
		if strings.Contains(o.Issuer, "@") {
			shown = "(not shown: it holds an @)"
		}
		switch {
		case (err == nil && u.User != nil) || (err != nil && strings.Contains(o.Issuer, "@")):
			return invalid(ruleOIDCSettings, "oidc.issuer must be an https URL without a user name or password (put the client secret in oidc.client_secret)")
		case err != nil || u.Host == "" || len(o.Issuer) > 2048:
			return invalid(ruleOIDCSettings, "oidc.issuer %s is not an absolute URL", shown)
		case u.Scheme != "https" && !(u.Scheme == "http" && local):
			return invalid(ruleOIDCSettings, "oidc.issuer must be an https URL (http only for localhost), not %s", shown)
		case u.RawQuery != "" || u.Fragment != "":
			return invalid(ruleOIDCSettings, "oidc.issuer %s must have no query or fragment (OpenID Connect Discovery §2)", shown)
		}
	}
	if err := checkText("oidc.client_id", o.ClientID, 255); err != nil {
		return err
	}
	if len(o.Scopes) > 20 {
		return invalid(ruleOIDCSettings, "oidc.scopes holds more than 20 scopes")
	}
	for _, s := range o.Scopes {
		if !scopeToken(s) {
			return invalid(ruleOIDCSettings, "oidc.scopes: %q is not a scope (1 to 100 printable ASCII characters, no space, quote or backslash)", s)
		}
	}
	if !slices.Contains(o.Scopes, "openid") {
		return invalid(ruleOIDCSettings, "oidc.scopes must include \"openid\"")
	}
	if !scopeToken(o.GroupsClaim) {
		return invalid(ruleOIDCSettings, "oidc.groups_claim %q is not a claim name (1 to 100 printable ASCII characters, no space)", o.GroupsClaim)
	}
	return nil
}

// scopeToken reports whether s is an RFC 6749 §3.3 scope-token of at most 100 characters
// (claim names are held to the same rule).
func scopeToken(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
			return false
		}
	}
	return true
}

func (h *Handler) handleListConnections(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	if err := allowParams(r.URL.Query(), "limit", "cursor"); err != nil {
		return err
	}
	pg, err := pagingOf(r)
	if err != nil {
		return err
	}
	conns, err := h.store.Connections(ctx, p.tenantID())
	if err != nil {
		return err
	}
	items := make([]connectionJSON, len(conns))
	for i, c := range conns {
		items[i] = toConnectionJSON(c)
	}
	out, err := pageByKey("connections", items, func(j connectionJSON) string { return sortKey(j.Name, j.ID) }, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) handleGetConnection(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["id"]
	c, err := h.store.Connection(r.Context(), principalFrom(r.Context()).tenantID(), id)
	if err != nil {
		return notFoundAs(err, "connection", id)
	}
	writeJSON(w, http.StatusOK, toConnectionJSON(c))
	return nil
}

func (h *Handler) handleCreateConnection(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	var req connectionRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	switch {
	case req.Name == nil:
		return required("name")
	case req.Kind == nil:
		return required("kind (okta, entra or generic)")
	}
	now, actor := h.now(), h.actor(r)
	c := storage.Connection{ID: storage.NewID(), TenantID: p.tenantID(), CreatedAt: now, UpdatedAt: now,
		OIDC: storage.OIDCSettings{Scopes: slices.Clone(defaultScopes), GroupsClaim: defaultGroupsClaim}}
	req.apply(&c)
	if err := h.sealClientSecret(req, &c); err != nil {
		return err
	}
	err := h.store.Tx(ctx, func(tx storage.Tx) error { return insertConnection(ctx, tx, c, actor) })
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/connections/"+c.ID)
	writeJSON(w, http.StatusCreated, toConnectionJSON(c))
	return nil
}

// handleUpdateConnection changes a connection's name, kind, OIDC settings and group-mapping
// switch. Switching group mapping on recomputes every SSO user's roles from their groups
// (manual roles of those users are revoked, as at their next sign-in); switching it off turns
// the connection's assignments into manual ones. Either runs in the same transaction.
func (h *Handler) handleUpdateConnection(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	id := mux.Vars(r)["id"]
	var req connectionRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req.empty() {
		return invalid(ruleNothingToChange, "the body names nothing to change (name, kind, group_mapping, oidc)")
	}
	now, actor := h.now(), h.actor(r)
	var out connectionJSON
	err := h.store.Tx(ctx, keepAdministrator(ctx, p.tenantID(), func(tx storage.Tx) error {
		before, err := tx.Connection(ctx, p.tenantID(), id)
		if err != nil {
			return notFoundAs(err, "connection", id)
		}
		// Its sign-in settings and mapping switch decide who holds the roles mapped on it.
		if err := checkConnectionControl(ctx, tx, before.TenantID, before.ID); err != nil {
			return err
		}
		c := before
		c.OIDC.Scopes = slices.Clone(before.OIDC.Scopes)
		req.apply(&c)
		if err := h.sealClientSecret(req, &c); err != nil {
			return err
		}
		if err := checkConnection(c); err != nil {
			return err
		}
		c.UpdatedAt = now
		if err := tx.UpdateConnection(ctx, c); err != nil {
			return nameTaken(err, "connection", c.Name)
		}
		out = toConnectionJSON(c)
		detail := map[string]any{}
		if req.OIDC != nil && req.OIDC.ClientSecret != nil {
			detail["client_secret_changed"] = !h.sameSecret(before.OIDC.ClientSecret, *req.OIDC.ClientSecret)
		}
		switch {
		case c.GroupMapping && !before.GroupMapping:
			var s syncJSON
			if s.Granted, s.Revoked, err = syncConnection(ctx, tx, actor, c, now); err != nil {
				return err
			}
			out.Sync, detail["sync"] = &s, s
		case !c.GroupMapping && before.GroupMapping:
			var s syncJSON
			if s.Released, err = tx.ReleaseRoles(ctx, c.TenantID, c.ID, actor.syncTemplate(c.TenantID, now)); err != nil {
				return err
			}
			out.Sync, detail["sync"] = &s, s
		}
		var d any
		if len(detail) > 0 {
			d = detail
		}
		return tx.AppendAudit(ctx, actor.event(p.tenantID(), now, "admin.connection.update", "connection", c.ID,
			connectionAudit(before), connectionAudit(c), d))
	}))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
