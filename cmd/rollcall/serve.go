package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/rbac/admin"
	"github.com/rollcall/rollcall/rbac/password"
	"github.com/rollcall/rollcall/rbac/secret"
	"github.com/rollcall/rollcall/scim"
	"github.com/rollcall/rollcall/storage"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := newFlags("serve", getenv, stderr, &c)
	fs.StringVar(&c.Addr, "addr", envOr(getenv, "ROLLCALL_ADDR", defaultAddr), "the address to listen on (env ROLLCALL_ADDR)")
	fs.StringVar(&c.LogLevel, "log-level", envOr(getenv, "ROLLCALL_LOG_LEVEL", "info"), "debug, info, warn or error (env ROLLCALL_LOG_LEVEL)")
	fs.StringVar(&c.Tenant, "tenant", envOr(getenv, "ROLLCALL_TENANT", "default"), "the tenant created at first start (env ROLLCALL_TENANT)")
	debugAddr := fs.String("debug-addr", getenv("ROLLCALL_DEBUG_ADDR"),
		"if set, serve Go's profiler (/debug/pprof/) on this separate address, e.g. 127.0.0.1:6060 (env ROLLCALL_DEBUG_ADDR)")
	keyFile := fs.String("secret-key-file", getenv("ROLLCALL_SECRET_KEY_FILE"),
		"a file holding the key (base64 of 32 bytes) that seals OIDC client secrets; ROLLCALL_SECRET_KEY gives the key itself. "+
			"Default on SQLite: DATABASE.key, made at first start; on PostgreSQL, none (client secrets are refused) (env ROLLCALL_SECRET_KEY_FILE)")
	proxies := fs.String("trusted-proxies", getenv("ROLLCALL_TRUSTED_PROXIES"),
		"comma-separated addresses or CIDR prefixes of the reverse proxies in front of Rollcall; a request through them is from the nearest address in X-Forwarded-For that is not one of them (audit events, sign-in throttling). Default: none, the peer's address (env ROLLCALL_TRUSTED_PROXIES)")
	adminEmail := fs.String("admin-email", envOr(getenv, "ROLLCALL_ADMIN_EMAIL", "admin@rollcall.local"),
		"the bootstrap administrator created at first start (env ROLLCALL_ADMIN_EMAIL); its password is ROLLCALL_ADMIN_PASSWORD, or printed once")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	catalog, err := loadCatalog(c.Catalog)
	if err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	trusted, err := parseTrustedProxies(*proxies)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logOut := newLogWriter(stderr)
	defer logOut.Close()
	log := slog.New(requestIDHandler{slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level})})

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if c.BaseURL == "" {
		c.BaseURL = "http://" + displayAddr(ln.Addr())
	}

	st, err := openStore(ctx, c.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	sealed, err := st.StoredClientSecret(ctx)
	if err != nil {
		return err
	}
	secrets, err := secretBox(c.Database, getenv("ROLLCALL_SECRET_KEY"), *keyFile, sealed == "")
	if err != nil {
		return err
	}
	if err := checkSecretKey(sealed, secrets); err != nil {
		return err
	}
	p := provisioner{store: st, catalog: catalog, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
	if err := bootstrap(ctx, p, c, *adminEmail, getenv("ROLLCALL_ADMIN_PASSWORD"), stdout); err != nil {
		return err
	}
	go sweepSessions(ctx, st, log)
	if *debugAddr != "" {
		go serveDebug(ctx, *debugAddr, log)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	handler, err := newServer(st, log, c.BaseURL, catalog, secrets, reg)
	if err != nil {
		return err
	}
	handler = clientAddress(trusted, handler)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("rollcall serving", "addr", ln.Addr().String(), "base_url", c.BaseURL, "database", redactDSN(c.Database))
	fmt.Fprintf(stdout, "Rollcall is serving %s (SCIM base URL %s, admin API %s)\n", c.BaseURL, c.BaseURL+scim.Prefix, c.BaseURL+admin.Prefix)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// SIGTERM: stop accepting, let requests in flight finish, then close the database.
	log.Info("rollcall shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// bootstrap makes the first start usable: it provisions the tenant (default permission sets
// and roles) with an IdP connection and prints the connection's SCIM base URL and bearer
// token, and makes sure someone can administer it. Secrets are shown this once; only hashes
// are stored.
func bootstrap(ctx context.Context, p provisioner, c config, adminEmail, adminPassword string, stdout io.Writer) error {
	_, err := p.store.TenantByName(ctx, c.Tenant)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		_, secret, _, _, err := p.createConnection(ctx, c.Tenant, "default", storage.KindGeneric)
		if err != nil {
			return fmt.Errorf("first start: %w", err)
		}
		fmt.Fprintf(stdout, "First start: created tenant %q with IdP connection \"default\".\n", c.Tenant)
		fmt.Fprintf(stdout, "SCIM base URL: %s\n", c.BaseURL+scim.Prefix)
		fmt.Fprintf(stdout, "SCIM bearer token (shown once, stored hashed): %s\n", secret)
		fmt.Fprintf(stdout, "More connections: %s\n", connectionCreateCommand(c))
	case err != nil:
		return err
	}
	created, generated, err := admin.EnsureBootstrapAdmin(ctx, p.store, c.Tenant, adminEmail, adminPassword, p.now())
	if err != nil {
		return fmt.Errorf("bootstrap administrator: %w", err)
	}
	if created {
		fmt.Fprintf(stdout, "Administrator of tenant %q: %s (a service user holding Tenant Administrator)\n", c.Tenant, adminEmail)
		if generated != "" {
			fmt.Fprintf(stdout, "Administrator password (shown once, stored hashed): %s\n", generated)
		}
		fmt.Fprintf(stdout, "Admin API: curl -u '%s:PASSWORD' %s%s/me\n", adminEmail, c.BaseURL, admin.Prefix)
	}
	return nil
}

// connectionCreateCommand is the command that adds a connection to this server, for the
// operator to run as printed: it names the database and base URL the server runs on unless
// they are the defaults, so that it writes to this database and prints this server's SCIM base
// URL. A password in the database setting is not printed: the operator fills it in.
func connectionCreateCommand(c config) string {
	cmd := "rollcall connection create --tenant " + shellQuote(c.Tenant) + " --name okta --kind okta"
	if c.Database != defaultDatabase {
		cmd += " --database " + shellQuote(redactDSN(c.Database))
	}
	if c.BaseURL != "http://"+defaultAddr {
		cmd += " --base-url " + shellQuote(c.BaseURL)
	}
	if redactDSN(c.Database) != c.Database {
		cmd += " (with the database password in place of " + redactMask + ")"
	}
	return cmd
}

// shellQuote quotes s for a POSIX shell, unless it needs none: a database URL's & or ?
// would otherwise end the command or be expanded.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// sweepSessions removes expired sessions now and then. Any replica may do it: the delete is
// idempotent.
func sweepSessions(ctx context.Context, st storage.Store, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			err := st.Tx(ctx, func(tx storage.Tx) error {
				_, err := tx.DeleteExpiredSessions(ctx, now)
				return err
			})
			if err != nil && ctx.Err() == nil {
				log.Warn("sweep expired sessions", "err", err)
			}
		}
	}
}

// newServer is the whole HTTP surface: SCIM, health, readiness and metrics, behind request
// ids, logging, metrics and panic recovery.
func newServer(st storage.Store, log *slog.Logger, baseURL string, catalog rbac.Catalog, secrets *secret.Box, reg prometheus.Registerer) (http.Handler, error) {
	scimHandler, err := scim.NewHandler(scim.Config{
		Store: st, Logger: log, BaseURL: baseURL, RequestID: requestIDFrom,
		HashPassword: password.Hash,
	})
	if err != nil {
		return nil, err
	}
	adminHandler, err := admin.NewHandler(admin.Config{
		Store: st, Logger: log, Catalog: catalog, RequestID: requestIDFrom, BaseURL: baseURL,
		SCIMTokenRevoked: scimHandler.ForgetTokens, Secrets: secrets,
	})
	if err != nil {
		return nil, err
	}
	// Paths are matched as sent: gorilla/mux would otherwise answer a path such as
	// /scim/v2//Users with a 301 to its clean form, which clients follow with a GET, losing a
	// POST's body. Each API answers an unclean path with its own 404.
	r := mux.NewRouter().SkipClean(true)
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	}).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := st.Ping(ctx); err != nil {
			log.WarnContext(req.Context(), "not ready", "err", err)
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "database unavailable\n")
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	}).Methods(http.MethodGet, http.MethodHead)
	if g, ok := reg.(prometheus.Gatherer); ok {
		r.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{})).Methods(http.MethodGet)
	}
	// Everything under /scim and /api is the SCIM surface's and the admin API's, down to
	// their 404s, which speak their formats.
	r.PathPrefix("/scim").Handler(scimHandler)
	r.PathPrefix("/api").Handler(adminHandler)

	m := newMetrics(reg)
	route := func(req *http.Request) string {
		var match mux.RouteMatch
		if r.Match(req, &match) && match.Route != nil {
			t, err := match.Route.GetPathTemplate()
			switch {
			case err != nil:
			case t == "/scim":
				return scimHandler.Route(req)
			case t == "/api":
				return adminHandler.Route(req)
			default:
				return t
			}
		}
		return "other"
	}
	var h http.Handler = r
	h = observe(log, m, route, h)
	h = recoverPanics(log, h)
	h = withRequestID(h)
	return h, nil
}

// serveDebug serves the profiler on its own listener, never on the public one.
func serveDebug(ctx context.Context, addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("profiler serving", "addr", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("profiler", "err", err)
	}
}

// displayAddr turns a listen address into one a client can dial.
func displayAddr(a net.Addr) string {
	s := a.String()
	if strings.HasPrefix(s, "[::]:") {
		return "localhost:" + strings.TrimPrefix(s, "[::]:")
	}
	if strings.HasPrefix(s, "0.0.0.0:") {
		return "localhost:" + strings.TrimPrefix(s, "0.0.0.0:")
	}
	return s
}

// redactMask stands for a password that redactDSN hid.
const redactMask = "xxxxx"

// keywordPassword is a password (or sslpassword) of a keyword/value connection string, quoted
// ('a b', with \' inside) or not: the part before the value is kept.
var keywordPassword = regexp.MustCompile(`(?i)((?:^|\s)(?:ssl)?password\s*=\s*)(?:'(?:[^'\\]|\\.)*(?:'|$)|(?:[^\s\\]|\\.)*)`)

// redactDSN hides the passwords in a database setting before it is logged or printed: a
// postgres:// URL's user:password@ and its password and sslpassword parameters (in any
// letter case, percent-encoded or not), and those of a keyword/value connection string
// (host=… password=…), which Validate refuses but may be handed here all the same. The rest
// stays as it was, to be read.
func redactDSN(dsn string) string {
	scheme, rest, isURL := strings.Cut(dsn, "://")
	if !isURL {
		return keywordPassword.ReplaceAllString(dsn, "${1}"+redactMask)
	}
	// The user information ends at the authority's last @, and the authority at the first
	// /, ? or #, as net/url, and so pgx, reads a URL. A password holding an unescaped / or ?
	// makes a URL that does not parse, whose @ is further on: then all up to the last @ is
	// taken for the user information.
	at := strings.LastIndex(rest, "@")
	if _, err := url.Parse(dsn); err == nil {
		authority := rest
		if end := strings.IndexAny(rest, "/?#"); end >= 0 {
			authority = rest[:end]
		}
		at = strings.LastIndex(authority, "@")
	}
	var user string
	if at >= 0 {
		user, rest = rest[:at+1], rest[at+1:]
		if name, _, hasPassword := strings.Cut(user, ":"); hasPassword {
			user = name + ":" + redactMask + "@"
		}
	}
	path, query, hasQuery := strings.Cut(rest, "?")
	if !hasQuery {
		return scheme + "://" + user + rest
	}
	params := strings.Split(query, "&")
	for i, param := range params {
		rawKey, _, hasValue := strings.Cut(param, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			key = rawKey
		}
		if hasValue && (strings.EqualFold(key, "password") || strings.EqualFold(key, "sslpassword")) {
			params[i] = rawKey + "=" + redactMask
		}
	}
	return scheme + "://" + user + path + "?" + strings.Join(params, "&")
}
