package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/rbac/password"
	"github.com/rollcall/rollcall/storage"
)

// Error is an answer other than success. Message (and Rule, a stable id of the violated rule)
// are shown to the client, so they are always Rollcall's own words, never a database's or
// library's text; cause is logged with the request id and never sent.
type Error struct {
	Status  int
	Rule    string
	Message string
	// RetryAfter, in seconds, is sent with 429 and 503.
	RetryAfter int
	cause      error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("admin %d %s: %s: %v", e.Status, e.Rule, e.Message, e.cause)
	}
	return fmt.Sprintf("admin %d %s: %s", e.Status, e.Rule, e.Message)
}

// Unwrap returns the logged cause.
func (e *Error) Unwrap() error { return e.cause }

// codes are the error codes of the body, by status.
var codes = map[int]string{
	http.StatusBadRequest:            "invalid",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusTooManyRequests:       "too_many_requests",
	http.StatusInternalServerError:   "internal",
	http.StatusServiceUnavailable:    "unavailable",
}

// The rules this package enforces itself, in addition to rbac's (rbac.Rule…). They are part
// of the API: clients may switch on them.
const (
	ruleInvalidJSON          = "invalid-json"
	ruleUnknownField         = "unknown-field"
	ruleBodyRequired         = "body-required"
	ruleBodyTooLarge         = "body-too-large"
	ruleMediaType            = "json-required"
	ruleInvalidParameter     = "invalid-parameter"
	ruleInvalidCursor        = "invalid-cursor"
	ruleFieldRequired        = "field-required"
	ruleFieldTooLong         = "field-too-long"
	ruleNothingToChange      = "nothing-to-change"
	ruleCredentialsRequired  = "credentials-required"
	ruleInvalidCredentials   = "invalid-credentials"
	ruleTooManyFailures      = "too-many-failed-sign-ins"
	ruleTenantRequired       = "tenant-required"
	ruleTokenInvalid         = "token-invalid"
	ruleUserInactive         = "user-inactive"
	ruleUserHasNoRole        = "user-has-no-role"
	rulePermissionRequired   = "permission-required"
	ruleNotAToken            = "not-a-token"
	ruleNotFound             = "not-found"
	ruleRouteNotFound        = "no-such-route"
	ruleMethodNotAllowed     = "method-not-allowed"
	ruleNameUnique           = "name-unique"
	ruleUserNameUnique       = "user-name-unique"
	ruleEmailImmutable       = "email-immutable"
	ruleRolesFromGroups      = "roles-from-groups"
	rulePasswordPolicy       = "password-policy"
	ruleNoPassword           = "no-password"
	ruleUnknownRole          = "unknown-role"
	ruleUnknownPermissionSet = "unknown-permission-set"
	ruleUnknownGroup         = "unknown-group"
	ruleSelfLockout          = "self-lockout"
	ruleLastAdministrator    = "last-administrator"
	ruleSecretKeyRequired    = "secret-key-required"
	ruleMappingNotFound      = "mapping-not-found"
	ruleConnectionKind       = "invalid-connection-kind"
	ruleOIDCSettings         = "invalid-oidc-settings"
	ruleInUse                = "in-use"
	ruleConflict             = "conflict"
	ruleUnavailable          = "unavailable"
	ruleInternal             = "internal"
)

func errorf(status int, rule, format string, args ...any) *Error {
	return &Error{Status: status, Rule: rule, Message: fmt.Sprintf(format, args...)}
}

func invalid(rule, format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, rule, format, args...)
}

func conflict(rule, format string, args ...any) *Error {
	return errorf(http.StatusConflict, rule, format, args...)
}

func notFound(what, id string) *Error {
	return errorf(http.StatusNotFound, ruleNotFound, "%s %q not found", what, id)
}

// notFoundAs words storage.ErrNotFound as "<what> <id> not found" and passes other errors on.
func notFoundAs(err error, what, id string) error {
	if errors.Is(err, storage.ErrNotFound) {
		return notFound(what, id)
	}
	return err
}

// rbacConflicts are the rbac rules whose violation depends on the tenant's state (409);
// the others are about the request alone (400).
var rbacConflicts = map[string]bool{
	rbac.RuleRoleInUse:                 true,
	rbac.RulePermissionSetInUse:        true,
	rbac.RuleGroupMappedOnce:           true,
	rbac.RuleRoleOneGroupPerConnection: true,
}

// asError turns any error into the answer to send: an *Error passes through, a rule of the
// access model names itself, storage's sentinels become their statuses, and anything else is
// a 500 that says nothing more.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var re *rbac.RuleError
	if errors.As(err, &re) {
		status := http.StatusBadRequest
		switch {
		case rbacConflicts[re.Rule]:
			status = http.StatusConflict
		case re.Rule == rbac.RuleNoEscalation || re.Rule == rbac.RuleOutranked:
			status = http.StatusForbidden
		}
		return &Error{Status: status, Rule: re.Rule, Message: re.Message, cause: err}
	}
	var ce *storage.ConflictError
	switch {
	case errors.Is(err, password.ErrPolicy):
		// Rollcall's own wording ("password does not meet the policy: it needs …").
		return &Error{Status: http.StatusBadRequest, Rule: rulePasswordPolicy, Message: err.Error(), cause: err}
	case errors.As(err, &ce):
		return &Error{Status: http.StatusConflict, Rule: ruleConflict, Message: conflictMessage(ce), cause: err}
	case errors.Is(err, storage.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Rule: ruleNotFound, Message: "not found", cause: err}
	case errors.Is(err, storage.ErrInUse):
		return &Error{Status: http.StatusConflict, Rule: ruleInUse, Message: "the record is still in use by others", cause: err}
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &Error{Status: http.StatusServiceUnavailable, Rule: ruleUnavailable, RetryAfter: 5,
			Message: "the service is temporarily unavailable; retry later", cause: err}
	}
	return &Error{Status: http.StatusInternalServerError, Rule: ruleInternal, Message: "internal error", cause: err}
}

// conflictMessage words a uniqueness violation that no handler words more precisely (a race
// lost to a concurrent request, typically).
func conflictMessage(ce *storage.ConflictError) string {
	return fmt.Sprintf("the %s is already in use in this tenant", ce.Constraint)
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error struct {
		Status  int    `json:"status"`
		Code    string `json:"code"`
		Rule    string `json:"rule,omitempty"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError writes err as the error body and logs what the client does not see.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	ctx := r.Context()
	// The request id comes with ctx: the server's log handler adds it to every record.
	attrs := []any{"status", e.Status, "rule", e.Rule, "message", e.Message, "method", r.Method, "path", r.URL.Path}
	if e.cause != nil {
		attrs = append(attrs, "err", e.cause)
	}
	if e.Status >= 500 {
		h.log.ErrorContext(ctx, "admin request failed", attrs...)
	} else {
		h.log.DebugContext(ctx, "admin request refused", attrs...)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Status == http.StatusUnauthorized {
		// Bearer, not Basic: a Basic challenge would make browsers cache credentials and send
		// them on cross-site requests.
		w.Header().Set("WWW-Authenticate", `Bearer realm="rollcall"`)
	}
	var b errorBody
	b.Error.Status, b.Error.Code, b.Error.Rule, b.Error.Message = e.Status, codes[e.Status], e.Rule, e.Message
	if b.Error.Code == "" {
		b.Error.Code = "error"
	}
	writeJSON(w, e.Status, b)
}

func storageInUse(err error) bool { return errors.Is(err, storage.ErrInUse) }

// count words a number of things: "1 user", "3 users".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
