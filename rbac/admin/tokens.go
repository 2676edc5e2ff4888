package admin

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/storage"
)

// tokenJSON is a SCIM token as administrators see it: never its secret.
type tokenJSON struct {
	ID         string     `json:"id"`
	Hint       string     `json:"hint"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	// Active says the token is accepted now (not revoked, not expired).
	Active bool `json:"active"`
}

func toTokenJSON(t storage.Token, now time.Time) tokenJSON {
	return tokenJSON{ID: t.ID, Hint: t.Hint, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt,
		RevokedAt: t.RevokedAt, Active: t.RevokedAt == nil && (t.ExpiresAt == nil || t.ExpiresAt.After(now))}
}

func tokenAudit(t storage.Token, c storage.Connection) map[string]string {
	return map[string]string{"id": t.ID, "connection_id": c.ID, "connection": c.Name, "hint": t.Hint}
}

// newTokenJSON answers a token's creation: the only time its secret is shown.
type newTokenJSON struct {
	tokenJSON
	Token string `json:"token"`
	// SCIMBaseURL is what the IdP's provisioning settings need with the token.
	SCIMBaseURL string `json:"scim_base_url,omitempty"`
}

func (h *Handler) connection(r *http.Request) (storage.Connection, error) {
	id := mux.Vars(r)["id"]
	c, err := h.store.Connection(r.Context(), principalFrom(r.Context()).tenantID(), id)
	return c, notFoundAs(err, "connection", id)
}

func (h *Handler) handleListTokens(w http.ResponseWriter, r *http.Request) error {
	if err := allowParams(r.URL.Query(), "limit", "cursor"); err != nil {
		return err
	}
	pg, err := pagingOf(r)
	if err != nil {
		return err
	}
	c, err := h.connection(r)
	if err != nil {
		return err
	}
	tokens, err := h.store.Tokens(r.Context(), c.TenantID, c.ID)
	if err != nil {
		return err
	}
	now := h.now()
	items := make([]tokenJSON, len(tokens))
	for i, t := range tokens {
		items[i] = toTokenJSON(t, now)
	}
	// Token ids are time-ordered (UUIDv7), so this lists tokens oldest first.
	out, err := pageByKey("tokens", items, func(j tokenJSON) string { return j.ID }, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleCreateSCIMToken issues a SCIM token for the connection. Its other tokens stay valid
// until revoked, so rotation has no gap: create, move the IdP to the new one, revoke the old.
func (h *Handler) handleCreateSCIMToken(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c, err := h.connection(r)
	if err != nil {
		return err
	}
	now, actor := h.now(), h.actor(r)
	var s string
	var tk storage.Token
	err = h.store.Tx(ctx, func(tx storage.Tx) error {
		// A token pushes members into the groups mapped on the connection.
		if err := checkConnectionControl(ctx, tx, c.TenantID, c.ID); err != nil {
			return err
		}
		s, tk, err = IssueSCIMToken(ctx, tx, c, now, actor)
		return err
	})
	if err != nil {
		return err
	}
	out := newTokenJSON{tokenJSON: toTokenJSON(tk, now), Token: s}
	if h.cfg.BaseURL != "" {
		out.SCIMBaseURL = h.cfg.BaseURL + scimPrefix
	}
	w.Header().Set("Location", Prefix+"/connections/"+c.ID+"/tokens/"+tk.ID)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (h *Handler) handleRevokeSCIMToken(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c, err := h.connection(r)
	if err != nil {
		return err
	}
	now, actor := h.now(), h.actor(r)
	err = h.store.Tx(ctx, func(tx storage.Tx) error {
		// Cutting off a connection's provisioning is controlling it too.
		if err := checkConnectionControl(ctx, tx, c.TenantID, c.ID); err != nil {
			return err
		}
		return RevokeSCIMToken(ctx, tx, c, mux.Vars(r)["token_id"], now, actor)
	})
	if err != nil {
		return err
	}
	if h.cfg.SCIMTokenRevoked != nil {
		h.cfg.SCIMTokenRevoked()
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
