// Package scim is Rollcall's SCIM 2.0 service provider (RFC 7643, RFC 7644, RFC 9865) for the
// Users and Groups that Okta, Microsoft Entra ID and other identity providers push.
//
// It is built on github.com/elimity-com/scim, which validates POST and PUT bodies against the
// schemas, renders their answers and serves the discovery endpoints. Rollcall's own code
// covers what the library leaves out or gets wrong: authentication, body limits (413),
// the IdP dialects of request bodies, filters with the full RFC grammar translated to SQL,
// listing (sorting, projection, index and cursor paging), PATCH, ETags, and errors that never
// carry a database's text (see ../../shared notes in the repository history for the list).
package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/elimity-com/scim"
	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/storage"
)

// Prefix is the path under which the SCIM service is mounted.
const Prefix = "/scim/v2"

// Config configures a Handler. Zero values take defaults.
type Config struct {
	Store  storage.Store
	Logger *slog.Logger
	// BaseURL is the server's external URL (scheme, host, optional path), used in
	// meta.location and Location headers.
	BaseURL string
	// MaxBodyBytes bounds request bodies; larger ones get 413. Default 16 MiB, room for a PUT
	// of a group with 100 000 members.
	MaxBodyBytes int64
	// PageSize is the count of a listing that gives none (default 100); MaxPageSize caps
	// count (default 1000).
	PageSize, MaxPageSize int
	// HashPassword hashes a password an IdP sends with a user; without it, such passwords
	// are dropped. An error refuses the password: the client gets 400 invalidValue with the
	// error's text, which must therefore be the caller's own words.
	HashPassword func(string) (string, error)
	// TokenCacheTTL is how long a replica trusts a token it has checked before reading it
	// again: the longest a revoked token keeps working. Default DefaultTokenCacheTTL;
	// negative disables.
	TokenCacheTTL time.Duration
	// RequestID returns the id of the request in ctx, recorded in audit events.
	RequestID func(ctx context.Context) string
	// Now returns the time; tests set it.
	Now func() time.Time
}

// DefaultTokenCacheTTL is Config.TokenCacheTTL's default.
const DefaultTokenCacheTTL = 2 * time.Second

// Handler serves the SCIM API under Prefix.
type Handler struct {
	store  storage.Store
	log    *slog.Logger
	cfg    Config
	router *mux.Router
	tokens *tokenCache
}

// NewHandler returns the SCIM service.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("scim: a store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 16 << 20
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = 1000
	}
	cfg.PageSize = min(cfg.PageSize, cfg.MaxPageSize)
	if cfg.HashPassword == nil {
		cfg.HashPassword = func(string) (string, error) { return "", nil }
	}
	if cfg.RequestID == nil {
		cfg.RequestID = func(context.Context) string { return "" }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TokenCacheTTL == 0 {
		cfg.TokenCacheTTL = DefaultTokenCacheTTL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	h := &Handler{store: cfg.Store, log: cfg.Logger, cfg: cfg,
		tokens: &tokenCache{ttl: cfg.TokenCacheTTL, entries: map[[32]byte]cachedToken{}}}
	lib, err := h.library()
	if err != nil {
		return nil, err
	}
	h.router = h.routes(h.withOutcome(http.StripPrefix("/scim", lib)))
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := checkURL(r); err != nil {
		h.writeError(w, r, err)
		return
	}
	if p := canonicalURLPath(r.URL.Path); p != r.URL.Path {
		r2 := *r
		u := *r.URL
		u.Path = p
		if u.RawPath != "" {
			u.RawPath = canonicalURLPath(u.RawPath)
		}
		r2.URL = &u
		r = &r2
	}
	h.router.ServeHTTP(w, r)
}

// checkURL refuses, before anything reads them, a path no resource can have and a query that
// would be misread: text that is not UTF-8 or holds NUL (which PostgreSQL cannot compare); a
// '%' left after decoding (ids never hold one, and the library decodes the path of PUT and
// DELETE a second time, so /Users/a%252Db would reach user "a-b"); and a query string net/url
// cannot parse, whose parameters it would silently drop (a ';' in a filter would drop the
// filter and list everyone).
func checkURL(r *http.Request) *Error {
	if !storage.ValidText(r.URL.Path) || strings.ContainsRune(r.URL.Path, '%') {
		return errorf(http.StatusNotFound, "", "There is no SCIM resource at this path.")
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return badRequest(typeInvalidValue, "The query string cannot be read: send ';' as %%3B and '%%' as %%25.")
	}
	for k, vs := range q {
		for _, v := range append([]string{k}, vs...) {
			if !storage.ValidText(v) {
				return badRequest(typeInvalidValue, "A query parameter is not valid UTF-8 text or holds NUL.")
			}
		}
	}
	return nil
}

// endpointNames are the SCIM endpoints, in their canonical spelling.
var endpointNames = []string{"Users", "Groups", "ServiceProviderConfig", "ResourceTypes", "Schemas", "Bulk", "Me"}

// canonicalURLPath spells the endpoint of a SCIM path as RFC 7644 does and drops a trailing
// slash: /scim/v2/users/ is /scim/v2/Users. Clients written against lenient servers send
// both (Microsoft's SCIM test collection does), and no other resource could be meant.
func canonicalURLPath(p string) string {
	rest, ok := strings.CutPrefix(p, Prefix+"/")
	if !ok || rest == "" {
		return p
	}
	rest = strings.TrimSuffix(rest, "/")
	seg, tail, hasTail := strings.Cut(rest, "/")
	for _, name := range endpointNames {
		if strings.EqualFold(seg, name) {
			seg = name
			break
		}
	}
	if hasTail {
		return Prefix + "/" + seg + "/" + tail
	}
	return Prefix + "/" + seg
}

func (h *Handler) now() time.Time { return h.cfg.Now().UTC().Truncate(time.Microsecond) }

// library builds the elimity server for the routes it serves.
func (h *Handler) library() (scim.Server, error) {
	return scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{MaxResults: h.cfg.MaxPageSize, SupportFiltering: true, SupportPatch: true},
		ResourceTypes: []scim.ResourceType{
			{ID: optionalString("User"), Name: "User", Endpoint: "/Users", Description: optionalString("User Account"),
				Schema: usersSchema.core, SchemaExtensions: []scim.SchemaExtension{{Schema: usersSchema.extensions[0]}},
				Handler: users{h}},
			{ID: optionalString("Group"), Name: "Group", Endpoint: "/Groups", Description: optionalString("Group"),
				Schema: groupsSchema.core, Handler: groups{h}},
		},
	}, scim.WithBaseURL(h.cfg.BaseURL+Prefix), scim.WithLogger(libraryLogger{h.log}))
}

// libraryLogger adapts slog to the library's one-method logger.
type libraryLogger struct{ log *slog.Logger }

func (l libraryLogger) Error(args ...any) { l.log.Error("scim library: " + fmt.Sprint(args...)) }

// routes is the whole SCIM surface. Discovery is public (RFC 7644 §4 lets clients read it
// before they have credentials); everything else needs a connection's bearer token.
func (h *Handler) routes(lib http.Handler) *mux.Router {
	r := mux.NewRouter().SkipClean(true) // paths as sent, never a 301 to a cleaned one
	s := r.PathPrefix(Prefix).Subrouter()

	public := s.NewRoute().Subrouter()
	public.Use(h.limitBody)
	public.HandleFunc("/ServiceProviderConfig", h.handleServiceProviderConfig).Methods(readMethods...)
	// The discovery lists are short and fixed: they are answered whole, whatever filter or
	// paging a client sends (the library would page them into "Resources": null).
	whole := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := *r
		u := *r.URL
		u.RawQuery = ""
		r2.URL = &u
		buf := &bufferedWriter{header: http.Header{}}
		lib.ServeHTTP(buf, &r2)
		body := buf.body.Bytes()
		// itemsPerPage is the count of Resources answered (RFC 7644 section 3.4.2), not the
		// library's page size.
		var list map[string]any
		if buf.status == http.StatusOK && json.Unmarshal(body, &list) == nil {
			rs, _ := list["Resources"].([]any)
			list["Resources"], list["itemsPerPage"] = append([]any{}, rs...), len(rs)
			body, _ = json.Marshal(list)
		}
		buf.writeTo(w, body)
	})
	public.Handle("/Schemas", headAsGet(whole)).Methods(readMethods...)
	public.PathPrefix("/Schemas/").Handler(headAsGet(lib)).Methods(readMethods...)
	public.Handle("/ResourceTypes", headAsGet(whole)).Methods(readMethods...)
	public.PathPrefix("/ResourceTypes/").Handler(headAsGet(lib)).Methods(readMethods...)

	// gorilla/mux does not report 405 through nested subrouters, so each resource path ends
	// with a catch-all that does, naming the methods it allows (RFC 9110 section 15.5.6).
	notAllowed := func(allow ...string) http.Handler {
		list := strings.Join(allow, ", ")
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", list)
			h.writeError(w, r, errorf(http.StatusMethodNotAllowed, "", "%s is not allowed on %s; %s are.", r.Method, r.URL.Path, list))
		})
	}
	// The connection is known before the body is read: an anonymous client gets 401
	// without the server reading its body, and a refused write is the connection's.
	api := s.NewRoute().Subrouter()
	api.Use(h.authenticate, h.limitBody)
	api.HandleFunc(usersSchema.endpoint, h.handleCreate(usersSchema, h.createUser)).Methods(http.MethodPost)
	api.HandleFunc(groupsSchema.endpoint, h.handleCreate(groupsSchema, h.createGroup)).Methods(http.MethodPost)
	for _, rs := range []*resourceSchema{usersSchema, groupsSchema} {
		api.HandleFunc(rs.endpoint, h.handleList(rs)).Methods(readMethods...)
		api.HandleFunc(rs.endpoint+"/.search", h.handleSearch(rs)).Methods(http.MethodPost)
		// Before /{id}, which would take ".search" for an id.
		api.Handle(rs.endpoint+"/.search", notAllowed(http.MethodPost))
		api.Handle(rs.endpoint+"/{id}", lib).Methods(http.MethodDelete)
	}
	api.HandleFunc("/Users/{id}", h.handleReplaceUser).Methods(http.MethodPut)
	api.HandleFunc("/Groups/{id}", h.handleReplaceGroup).Methods(http.MethodPut)
	api.HandleFunc("/Users/{id}", h.handleGetUser).Methods(readMethods...)
	api.HandleFunc("/Groups/{id}", h.handleGetGroup).Methods(readMethods...)
	api.HandleFunc("/Users/{id}", h.handlePatchUser).Methods(http.MethodPatch)
	api.HandleFunc("/Groups/{id}", h.handlePatchGroup).Methods(http.MethodPatch)
	api.HandleFunc("/Bulk", func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, errorf(http.StatusNotImplemented, "", "Bulk operations are not supported (see /ServiceProviderConfig)."))
	})
	api.HandleFunc("/Me", func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, errorf(http.StatusNotImplemented, "", "/Me is not supported: SCIM clients here are identity providers, not users."))
	})
	// Each path's catch-all, after its routes.
	for _, rs := range []*resourceSchema{usersSchema, groupsSchema} {
		api.Handle(rs.endpoint, notAllowed(http.MethodGet, http.MethodHead, http.MethodPost))
		api.Handle(rs.endpoint+"/{id}", notAllowed(http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete))
	}
	for _, p := range []string{"/ServiceProviderConfig", "/Schemas", "/ResourceTypes"} {
		public.Handle(p, notAllowed(readMethods...))
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, errorf(http.StatusNotFound, "", "There is no SCIM endpoint at %s.", r.URL.Path))
	})
	return r
}

// readMethods are the methods of a read: HEAD answers what GET does, without the body, as
// RFC 9110 section 9.3.2 asks of every resource that answers GET (net/http drops the body).
var readMethods = []string{http.MethodGet, http.MethodHead}

// headAsGet hands a HEAD to the library as the GET it stands for; the library routes by
// method. The response writer still belongs to the HEAD request, so no body is sent.
func headAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			r2 := *r
			r2.Method = http.MethodGet
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}

// readResource reads a POST or PUT body for Rollcall's own routes: the projection its answer
// takes, and the body normalized and validated with the library's schema validators
// (resourceSchema.validate), a password taken out of it.
func readResource(rs *resourceSchema, r *http.Request) (projection, scim.ResourceAttributes, string, error) {
	q := r.URL.Query()
	proj, perr := parseProjection(rs, q.Get("attributes"), q.Get("excludedAttributes"))
	if perr != nil {
		return projection{}, nil, "", perr
	}
	body, err := readBody(r)
	if err != nil {
		return projection{}, nil, "", err
	}
	m, password, perr := normalizedMap(rs, body)
	if perr != nil {
		return projection{}, nil, "", perr
	}
	attrs, perr := rs.validate(m)
	if perr != nil {
		return projection{}, nil, "", perr
	}
	return proj, attrs, password, nil
}

// handleCreate is POST: the body normalized and validated with the library's schema
// validators as its own POST handler would (resourceSchema.validate), then stored, and
// answered 201 in the representation GET gives, honouring attributes and excludedAttributes
// (RFC 7644 section 3.9). The body is decoded once, not three times through the library.
func (h *Handler) handleCreate(rs *resourceSchema, create func(*http.Request, scim.ResourceAttributes) (stored, map[string]any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		proj, attrs, password, err := readResource(rs, r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		s, out, cerr := create(withPassword(r, password), attrs)
		if cerr != nil {
			h.writeError(w, r, cerr)
			return
		}
		w.Header().Set("Location", h.location(rs, s.id))
		res := h.render(rs, s, out, proj)
		if s.members && proj.wants("members") {
			h.writeCreatedGroup(w, r, s, res, proj)
			return
		}
		h.writeResource(w, http.StatusCreated, rs, s, res)
	}
}

// writeCreatedGroup answers a group created with members, the members streamed from the store
// as GET answers them. The group is created by then: should reading its members fail before
// anything is sent, it is answered without them rather than with an error, which an IdP would
// retry into a 409. A failure after the first 32 KB went out can only cut the answer short,
// and the IdP's retry then meets that 409 (a lookup by displayName finds the group).
func (h *Handler) writeCreatedGroup(w http.ResponseWriter, r *http.Request, s stored, res map[string]any, proj projection) {
	out := h.streamedGroup(w, http.StatusCreated, s)
	err := h.writeGroupStreaming(r.Context(), out.Writer, s.id, res, proj)
	if err != nil && !out.sent {
		h.log.WarnContext(r.Context(), "created group answered without its members", "err", err)
		h.writeResource(w, http.StatusCreated, groupsSchema, s, res)
		return
	}
	out.done(h, r, err)
}

func pathID(r *http.Request) string { return mux.Vars(r)["id"] }

// audit records a SCIM write in the transaction that makes it.
func (h *Handler) audit(ctx context.Context, tx storage.Tx, r *http.Request, action, targetType, targetID string, before, after, detail any) error {
	return tx.AppendAudit(ctx, h.auditEvent(ctx, r, action, targetType, targetID, before, after, detail))
}

// remoteIP is the client address of r without its port, as audit events name it.
func remoteIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}

// auditEvent is the event of a successful SCIM write by the request's connection.
func (h *Handler) auditEvent(ctx context.Context, r *http.Request, action, targetType, targetID string, before, after, detail any) storage.AuditEvent {
	p := principalFrom(ctx)
	ip := remoteIP(r)
	return storage.AuditEvent{
		TenantID: p.tenantID, At: h.now(), ActorType: "connection", ActorID: p.connection.ID,
		Action: action, TargetType: targetType, TargetID: targetID, Result: "success", Cause: "scim",
		RequestID: h.cfg.RequestID(ctx), SourceIP: ip,
		Before: jsonOrNil(before), After: jsonOrNil(after), Detail: jsonOrNil(detail),
	}
}

// syncRoles recomputes, in the transaction of a membership change, the roles of the users it
// touched, when the connection's group mapping is on: a push that removes someone from a
// mapped group revokes the role at once, not at their next sign-in.
func (h *Handler) syncRoles(ctx context.Context, tx storage.Tx, r *http.Request, userIDs []string) error {
	if len(userIDs) == 0 {
		return nil
	}
	return h.sync(ctx, tx, r, userIDs)
}

// syncAllRoles recomputes the roles of every user of the connection (a mapped group is gone).
func (h *Handler) syncAllRoles(ctx context.Context, tx storage.Tx, r *http.Request) error {
	return h.sync(ctx, tx, r, nil)
}

func (h *Handler) sync(ctx context.Context, tx storage.Tx, r *http.Request, userIDs []string) error {
	p := principalFrom(ctx)
	// The switch is read again, under a shared lock, in this transaction: as read at sign-in
	// of the request it could have been turned off since, and roles it released would come back.
	conn, err := tx.LockConnection(ctx, p.tenantID, p.connection.ID)
	if err != nil || !conn.GroupMapping {
		return err
	}
	ip := remoteIP(r)
	_, _, err = tx.SyncRoles(ctx, p.tenantID, p.connection.ID, userIDs, storage.AuditEvent{
		TenantID: p.tenantID, At: h.now(), ActorType: "connection", ActorID: p.connection.ID, Cause: "scim",
		RequestID: h.cfg.RequestID(ctx), SourceIP: ip,
	})
	return err
}

// handleServiceProviderConfig tells the truth about what this server supports; the
// library's own version reports sort, etag and pagination as unsupported.
func (h *Handler) handleServiceProviderConfig(w http.ResponseWriter, r *http.Request) {
	supported := func(b bool) map[string]bool { return map[string]bool{"supported": b} }
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":          []string{spcURN},
		"documentationUri": "https://github.com/rollcall/rollcall#scim",
		"patch":            supported(true),
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": h.cfg.MaxPageSize},
		"changePassword":   supported(true), // kept as a hash only (see userSchema)
		"sort":             supported(true),
		"etag":             supported(true),
		"authenticationSchemes": []map[string]any{{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description": "A bearer token of one IdP connection, created with `rollcall connection create` and rotated with `rollcall token rotate`.",
		}},
		"pagination": map[string]any{
			"cursor": true, "index": true, "defaultPaginationMethod": "index",
			"defaultPageSize": h.cfg.PageSize, "maxPageSize": h.cfg.MaxPageSize,
		},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": h.cfg.BaseURL + Prefix + "/ServiceProviderConfig"},
	})
}

// Route returns the route template a request matches ("/scim/v2/Users/{id}"), for metrics
// and logs that must not carry ids.
func (h *Handler) Route(r *http.Request) string {
	var m mux.RouteMatch
	if h.router.Match(r, &m) && m.Route != nil {
		if t, err := m.Route.GetPathTemplate(); err == nil {
			return t
		}
	}
	return Prefix + "/other"
}
