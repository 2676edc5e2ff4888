package admin

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/rbac/password"
	"github.com/rollcall/rollcall/rbac/secret"
	"github.com/rollcall/rollcall/storage"
)

// TenantHeader names the tenant of a Basic or token-exchange sign-in whose email is a user in
// more than one tenant.
const TenantHeader = "X-Rollcall-Tenant"

// principal is the authenticated caller of a request: a local user of one tenant.
type principal struct {
	tenant, userID string
	// tokenHash is the hash of the API token the request carried; nil with Basic.
	tokenHash []byte
}

type principalKey struct{}

func principalFrom(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

func (p principal) tenantID() string { return p.tenant }

func (p principal) scope() storage.Scope { return storage.Scope{TenantID: p.tenant} }

// actor is the caller as its audit events name it.
func (h *Handler) actor(r *http.Request) Actor {
	return Actor{Type: ActorUser, ID: principalFrom(r.Context()).userID, RequestID: h.cfg.RequestID(r.Context()), SourceIP: sourceIP(r)}
}

func sourceIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}

// authenticate resolves the request's credentials to an active local user: Basic (email and
// password) or Bearer (an API token from POST /auth/token). Nothing about the user is
// cached: a deactivated user's tokens are gone (storage ends a user's sessions when it
// deactivates them), and roles are read by authorize, on every request, so every change
// applies at once. It reads as little as it can, since every request pays for it: a bearer
// request costs one read here.
func (h *Handler) authenticate(r *http.Request) (principal, error) {
	ctx := r.Context()
	scheme, cred, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	cred = strings.TrimSpace(cred)
	switch {
	case scheme == "":
		return principal{}, errorf(http.StatusUnauthorized, ruleCredentialsRequired,
			"credentials are required: send Authorization: Basic <email:password> or Authorization: Bearer <token from POST %s/auth/token>", Prefix)
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		email, pw, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok {
			return principal{}, errorf(http.StatusUnauthorized, ruleInvalidCredentials, "the Basic credentials are not base64 of email:password")
		}
		u, err := h.signIn(ctx, email, pw, r.Header.Get(TenantHeader), sourceIP(r))
		if err != nil {
			return principal{}, err
		}
		if err := checkActive(u); err != nil {
			return principal{}, err
		}
		return principal{tenant: u.TenantID, userID: u.ID}, nil
	case strings.EqualFold(scheme, "Bearer"):
		return h.tokenPrincipal(ctx, cred)
	}
	return principal{}, errorf(http.StatusUnauthorized, ruleCredentialsRequired, "the Authorization scheme must be Basic or Bearer, not %q", scheme)
}

// tokenPrincipal resolves an API token. Only local users get tokens, and a token outlives
// neither its user nor the user's activity (storage deletes sessions with both), so the
// session alone names an active local user.
func (h *Handler) tokenPrincipal(ctx context.Context, token string) (principal, error) {
	invalidToken := errorf(http.StatusUnauthorized, ruleTokenInvalid,
		"the bearer token is unknown, expired or revoked; get a new one from POST %s/auth/token", Prefix)
	if !strings.HasPrefix(token, secret.APIPrefix) {
		return principal{}, invalidToken
	}
	hash := secret.Hash(token)
	s, err := h.store.Session(ctx, hash, h.now())
	if errors.Is(err, storage.ErrNotFound) || (err == nil && s.Kind != storage.SessionAPI) {
		return principal{}, invalidToken
	}
	if err != nil {
		return principal{}, err
	}
	return principal{tenant: s.TenantID, userID: s.UserID, tokenHash: hash}, nil
}

// signIn checks an email and password sent from the client address addr. The tenant is the
// one named (by name), else the only tenant with a local user of that email. Every failure
// costs one password verification, so that timing does not tell which emails exist, and
// counts towards the throttle (throttle.go): past its limit, 429 with Retry-After.
func (h *Handler) signIn(ctx context.Context, email, pw, tenantName, addr string) (storage.User, error) {
	wait, err := h.beginSignIn(ctx, email, addr)
	if err != nil {
		return storage.User{}, err
	}
	if wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		e := errorf(http.StatusTooManyRequests, ruleTooManyFailures,
			"too many failed sign-ins from this address; try again in %d seconds", secs)
		e.RetryAfter = secs
		return storage.User{}, e
	}
	u, err := h.checkPassword(ctx, email, pw, tenantName)
	var e *Error
	failed := errors.As(err, &e) && e.Rule == ruleInvalidCredentials
	proved := err == nil || (e != nil && e.Rule == ruleTenantRequired)
	h.endSignIn(ctx, email, addr, failed, proved)
	return u, err
}

// checkPassword is signIn without the throttle.
func (h *Handler) checkPassword(ctx context.Context, email, pw, tenantName string) (storage.User, error) {
	wrong := errorf(http.StatusUnauthorized, ruleInvalidCredentials,
		"the email or password is wrong (users of an identity provider sign in there, not with a password; an email of several tenants needs the tenant named in the %s header)", TenantHeader)
	if email == "" || pw == "" || !storage.ValidText(email) || !storage.ValidText(tenantName) {
		return storage.User{}, wrong
	}
	users, err := h.store.UsersByUserName(ctx, email)
	if err != nil {
		return storage.User{}, err
	}
	tenantID := ""
	if tenantName != "" {
		t, err := h.store.TenantByName(ctx, tenantName)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			users = nil
		case err != nil:
			return storage.User{}, err
		}
		tenantID = t.ID
	}
	var local []storage.User
	for _, u := range users {
		if (tenantID == "" || u.TenantID == tenantID) && u.Auth == storage.AuthPassword && u.PasswordHash != "" {
			local = append(local, u)
		}
	}
	// One verification whatever the case. With several tenants' users of the email, the
	// caller is told to name the tenant only once the password is one of theirs (the first
	// found): otherwise the answer would tell anyone that the email exists, and where.
	hash := h.dummyHash
	if len(local) > 0 {
		hash = local[0].PasswordHash
	}
	ok, err := h.verify(ctx, hash, pw)
	switch {
	case err != nil:
		return storage.User{}, err
	case len(local) > 1 && ok:
		return storage.User{}, errorf(http.StatusUnauthorized, ruleTenantRequired,
			"this email is a user of more than one tenant: name the tenant in the %s header (or the \"tenant\" field of a token request)", TenantHeader)
	case len(local) != 1 || !ok:
		return storage.User{}, wrong
	}
	return local[0], nil
}

// verify checks a password, at most a few at a time (see Handler.verifying).
func (h *Handler) verify(ctx context.Context, hash, pw string) (bool, error) {
	select {
	case h.verifying <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-h.verifying }()
	ok, err := password.Verify(hash, pw)
	if err != nil {
		// A stored hash Rollcall cannot read: the account is unusable, which the log says.
		h.log.ErrorContext(ctx, "unreadable password hash", "err", err)
		return false, nil
	}
	return ok, nil
}

// checkActive refuses deactivated users.
func checkActive(u storage.User) error {
	if !u.Active {
		return errorf(http.StatusForbidden, ruleUserInactive, "user %q is deactivated", u.UserName)
	}
	return nil
}

// requireRole refuses users without any role (the seed's "role not assigned"): they may do
// nothing until an administrator assigns one.
func (h *Handler) requireRole(ctx context.Context, p principal) error {
	roles, err := h.store.UserRoles(ctx, p.tenant, p.userID)
	if err != nil {
		return err
	}
	if len(roles) == 0 {
		return errorf(http.StatusForbidden, ruleUserHasNoRole, "this user has no role; an administrator must assign one")
	}
	return nil
}

// authorize checks that the caller holds one of perms, read now. A caller holding none is
// told whether it lacks the permission or any role at all; that costs a read only on
// refusal.
func (h *Handler) authorize(ctx context.Context, p principal, perms []rbac.Permission) error {
	for _, perm := range perms {
		ok, err := h.store.HasPermission(ctx, p.tenant, p.userID, perm)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	if err := h.requireRole(ctx, p); err != nil {
		return err
	}
	names := make([]string, len(perms))
	for i, perm := range perms {
		names[i] = string(perm)
	}
	if len(names) == 1 {
		return errorf(http.StatusForbidden, rulePermissionRequired, "this needs the permission %q", names[0])
	}
	return errorf(http.StatusForbidden, rulePermissionRequired, "this needs one of the permissions %s", quoteAll(names))
}

type tokenRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	// Tenant is the tenant's name, needed only when the email is a user of several tenants.
	Tenant string `json:"tenant"`
}

type tokenResponse struct {
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	ExpiresIn   int       `json:"expires_in"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// handleCreateToken exchanges a local user's email and password for a short-lived bearer
// token, so that API clients pay for the password hash once, not on every request.
func (h *Handler) handleCreateToken(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var req tokenRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	switch {
	case req.Email == "":
		return required("email")
	case req.Password == "":
		return required("password")
	}
	if req.Tenant == "" {
		req.Tenant = r.Header.Get(TenantHeader)
	}
	u, err := h.signIn(ctx, req.Email, req.Password, req.Tenant, sourceIP(r))
	if err != nil {
		return err
	}
	if err := checkActive(u); err != nil {
		return err
	}
	if err := h.requireRole(ctx, principal{tenant: u.TenantID, userID: u.ID}); err != nil {
		return err
	}
	tok := secret.New(secret.APIPrefix)
	now := h.now()
	s := storage.Session{IDHash: secret.Hash(tok), Kind: storage.SessionAPI, TenantID: u.TenantID, UserID: u.ID,
		CreatedAt: now, ExpiresAt: now.Add(h.cfg.TokenTTL), LastSeenAt: now}
	actor := Actor{Type: ActorUser, ID: u.ID, RequestID: h.cfg.RequestID(ctx), SourceIP: sourceIP(r)}
	err = h.store.Tx(ctx, func(tx storage.Tx) error {
		if err := tx.CreateSession(ctx, s); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, actor.event(u.TenantID, now, "admin.api_token.create", "user", u.ID, nil, nil,
			map[string]any{"expires_at": s.ExpiresAt}))
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: tok, TokenType: "Bearer",
		ExpiresIn: int(h.cfg.TokenTTL / time.Second), ExpiresAt: s.ExpiresAt})
	return nil
}

// handleRevokeToken ends the API token the request carries.
func (h *Handler) handleRevokeToken(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	if p.tokenHash == nil {
		return invalid(ruleNotAToken, "this request carries no bearer token to revoke (it used Basic credentials)")
	}
	now := h.now()
	err := h.store.Tx(ctx, func(tx storage.Tx) error {
		if err := tx.DeleteSession(ctx, p.tokenHash); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, h.actor(r).event(p.tenantID(), now, "admin.api_token.revoke", "user", p.userID, nil, nil, nil))
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
