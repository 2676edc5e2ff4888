package scim

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rollcall/rollcall/rbac/secret"
	"github.com/rollcall/rollcall/storage"
)

// principal is the authenticated caller of a SCIM request: one connection of one tenant.
type principal struct {
	tenantID   string
	connection storage.Connection
	tokenID    string
	// written is set once the request's write has committed (Handler.writeTx): an error
	// after it (reading the answer back) is not a refused write.
	written *atomic.Bool
}

func (p principal) scope() storage.Scope {
	return storage.Scope{TenantID: p.tenantID, ConnectionID: p.connection.ID}
}

type principalKey struct{}

func principalFrom(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

// bearer extracts the token of an "Authorization: Bearer …" header (scheme case-insensitive).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// touchEvery bounds how often a token's last-use time is written: a write per request would
// cost more than the request.
const touchEvery = 5 * time.Minute

// tokenCache remembers, for a moment, which connection a token authenticated: an IdP sends
// thousands of requests a minute with one token, and reading it each time would cost as much
// as the request. Only valid tokens are kept. A revoked token therefore keeps working on a
// replica for at most the cache's lifetime (Config.TokenCacheTTL, 2 seconds by default).
type tokenCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[[32]byte]cachedToken
}

type cachedToken struct {
	token   storage.Token
	conn    storage.Connection
	expires time.Time
}

// maxCachedTokens bounds the cache; tenants have a handful of tokens each.
const maxCachedTokens = 4096

func (c *tokenCache) get(hash [32]byte, now time.Time) (cachedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || !now.Before(e.expires) || (e.token.ExpiresAt != nil && !now.Before(*e.token.ExpiresAt)) {
		return cachedToken{}, false
	}
	return e, true
}

func (c *tokenCache) put(hash [32]byte, e cachedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedTokens {
		clear(c.entries)
	}
	c.entries[hash] = e
}

func (c *tokenCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}

// ForgetTokens drops every token the handler has checked, so the next request with each is
// checked against the store again. Call it after revoking a token in the same process (the
// admin API does, through admin.Config.SCIMTokenRevoked); other processes stop trusting a
// revoked token within Config.TokenCacheTTL.
func (h *Handler) ForgetTokens() { h.tokens.clear() }

// lookup resolves a token, from the cache when it may.
func (h *Handler) lookupToken(ctx context.Context, token string, now time.Time) (storage.Token, storage.Connection, error) {
	var key [32]byte
	copy(key[:], secret.Hash(token))
	if e, ok := h.tokens.get(key, now); ok {
		return e.token, e.conn, nil
	}
	tok, conn, err := h.store.TokenBySecretHash(ctx, key[:], now)
	if err != nil {
		return tok, conn, err
	}
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) > touchEvery {
		if err := h.store.Tx(ctx, func(tx storage.Tx) error { return tx.TouchToken(ctx, tok.ID, now) }); err != nil {
			h.log.WarnContext(ctx, "record token use", "err", err)
		} else {
			tok.LastUsedAt = &now
		}
	}
	if h.tokens.ttl > 0 {
		h.tokens.put(key, cachedToken{token: tok, conn: conn, expires: now.Add(h.tokens.ttl)})
	}
	return tok, conn, nil
}

// authenticate resolves the bearer token to its connection, or answers 401.
func (h *Handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			h.writeError(w, r, errorf(http.StatusUnauthorized, "", "Authorization: Bearer <token> is required."))
			return
		}
		tok, conn, err := h.lookupToken(r.Context(), token, h.now())
		if errors.Is(err, storage.ErrNotFound) {
			h.writeError(w, r, errorf(http.StatusUnauthorized, "", "The bearer token is not valid (unknown, expired or revoked)."))
			return
		}
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		p := principal{tenantID: tok.TenantID, connection: conn, tokenID: tok.ID, written: new(atomic.Bool)}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}
