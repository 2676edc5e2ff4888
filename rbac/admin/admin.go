// Package admin is Rollcall's admin REST API under /api/v1 (users, roles, permission sets, the
// permission catalog, IdP connections with their SCIM tokens and groups, group→role mappings
// and the audit log, each route guarded by a tenant-management permission), and the
// provisioning steps the CLI runs (tenants, connections, SCIM tokens, the bootstrap
// administrator), so that each of those has one implementation.
package admin

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/rbac/password"
	"github.com/rollcall/rollcall/rbac/secret"
	"github.com/rollcall/rollcall/storage"
)

// Prefix is the path under which the API is served. The Handler serves whole paths, so it is
// mounted at the server's root (or under "/api/").
const Prefix = "/api/v1"

// Config configures a Handler. Zero values take defaults.
type Config struct {
	Store  storage.Store
	Logger *slog.Logger
	// Catalog is the permission catalog; the zero value is rbac.DefaultCatalog().
	Catalog rbac.Catalog
	// Now returns the time; tests set it.
	Now func() time.Time
	// RequestID returns the id of the request in ctx, recorded in audit events (log records
	// get it from the server's log handler, which reads ctx).
	RequestID func(ctx context.Context) string
	// TokenTTL is how long an API token from POST /auth/token lives (default 1h).
	TokenTTL time.Duration
	// BaseURL is the server's external URL; with it, a new SCIM token's answer carries the
	// SCIM base URL to paste into the IdP.
	BaseURL string
	// MaxBodyBytes bounds request bodies (default 1 MiB); larger ones get 413.
	MaxBodyBytes int64
	// SCIMTokenRevoked, when set, is called after a SCIM token's revocation commits, so that
	// a SCIM handler in the same process stops trusting it at once rather than when its
	// token cache expires (scim.Handler.ForgetTokens).
	SCIMTokenRevoked func()
	// Secrets seals the OIDC client secrets of connections at rest. Without it, a request
	// that sets a client secret is refused (409 secret-key-required).
	Secrets *secret.Box
}

// Handler serves the admin API.
type Handler struct {
	store  storage.Store
	log    *slog.Logger
	cfg    Config
	router *mux.Router
	// dummyHash is verified against when a sign-in names no user, so that an unknown email
	// costs what a wrong password costs.
	dummyHash string
	// verifying bounds concurrent password verifications: each takes 19 MiB (argon2id), so
	// a burst of Basic requests must not be able to exhaust memory.
	verifying chan struct{}
	openAPI   []byte
	// known is the catalog's permissions, for POST /check.
	known map[rbac.Permission]bool
}

// NewHandler returns the admin API.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("admin: a store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Catalog.Areas) == 0 {
		cfg.Catalog = rbac.DefaultCatalog()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RequestID == nil {
		cfg.RequestID = func(context.Context) string { return "" }
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	dummy, err := password.Hash(rand.Text())
	if err != nil {
		return nil, err
	}
	h := &Handler{
		store: cfg.Store, log: cfg.Logger, cfg: cfg, dummyHash: dummy,
		verifying: make(chan struct{}, 2*runtime.GOMAXPROCS(0)),
	}
	if h.openAPI, err = compactOpenAPI(); err != nil {
		return nil, err
	}
	h.known = make(map[rbac.Permission]bool)
	for _, p := range cfg.Catalog.Permissions() {
		h.known[p] = true
	}
	h.router = h.routes()
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := checkURL(r); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.router.ServeHTTP(w, r)
}

// checkURL refuses, before anything reads them, a path or query that no record could match
// or that would be misread: text that is not UTF-8 or holds NUL (which PostgreSQL cannot
// compare), and a query string net/url cannot parse, whose parameters it would silently
// drop (a ';' in a value).
func checkURL(r *http.Request) *Error {
	if !storage.ValidText(r.URL.Path) {
		return errorf(http.StatusNotFound, ruleNotFound, "nothing is at this path (it is not valid UTF-8 text)")
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return invalid(ruleInvalidParameter, "the query string cannot be read: send ';' as %%3B and '%%' as %%25")
	}
	for k, vs := range q {
		for _, v := range append([]string{k}, vs...) {
			if !storage.ValidText(v) {
				return invalid(ruleInvalidParameter, "query parameter %q is not valid UTF-8 text (or holds NUL)", strings.ToValidUTF8(k, "?"))
			}
		}
	}
	return nil
}

// Route returns the route template a request matches ("/api/v1/users/{id}"), for metrics and
// logs that must not carry ids.
func (h *Handler) Route(r *http.Request) string {
	var m mux.RouteMatch
	if h.router.Match(r, &m) && m.Route != nil {
		if t, err := m.Route.GetPathTemplate(); err == nil {
			return t
		}
	}
	return Prefix + "/other"
}

// now is the time with the precision the stores keep, so values read back compare equal.
func (h *Handler) now() time.Time { return h.cfg.Now().UTC().Truncate(time.Microsecond) }
