package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/rollcall/rollcall/storage"
)

// Error is a SCIM error response (RFC 7644 §3.12). Detail is shown to the client, so it never
// carries a database's or library's own message.
type Error struct {
	Status   int
	ScimType string
	Detail   string
	// RetryAfter, in seconds, is sent with 429 and 503.
	RetryAfter int
	// cause is logged, never sent.
	cause error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("scim %d %s: %s: %v", e.Status, e.ScimType, e.Detail, e.cause)
	}
	return fmt.Sprintf("scim %d %s: %s", e.Status, e.ScimType, e.Detail)
}

func (e *Error) Unwrap() error { return e.cause }

func errorf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

func badRequest(scimType, format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, scimType, format, args...)
}

func notFound(rs *resourceSchema, id string) *Error {
	return errorf(http.StatusNotFound, "", "%s %q not found.", rs.name, id)
}

// The scimType keywords of RFC 7644 §3.12 and RFC 9865.
const (
	typeInvalidFilter = "invalidFilter"
	typeTooMany       = "tooMany"
	typeUniqueness    = "uniqueness"
	typeMutability    = "mutability"
	typeInvalidSyntax = "invalidSyntax"
	typeInvalidPath   = "invalidPath"
	typeNoTarget      = "noTarget"
	typeInvalidValue  = "invalidValue"
	typeInvalidCursor = "invalidCursor"
	typeInvalidCount  = "invalidCount"
)

// asError turns any error into the SCIM error to send: storage sentinels become their
// statuses, a SCIM error passes through, and anything else becomes a 500 with no details
// (the cause is logged with the request id).
func asError(err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	var ce *storage.ConflictError
	switch {
	case errors.As(err, &ce):
		return &Error{Status: http.StatusConflict, ScimType: typeUniqueness, Detail: conflictDetail(ce), cause: err}
	case errors.Is(err, storage.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Detail: "Resource not found.", cause: err}
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, RetryAfter: 5,
			Detail: "The service is temporarily unavailable; retry later.", cause: err}
	}
	return &Error{Status: http.StatusInternalServerError, Detail: "Internal error.", cause: err}
}

func conflictDetail(ce *storage.ConflictError) string {
	switch ce.Constraint {
	case storage.UniqueUserName:
		return "userName is already in use in this tenant (userNames are unique ignoring case)."
	case storage.UniqueGroupName:
		return "A group with the same normalized displayName already exists for this connection."
	}
	return "The resource conflicts with an existing one."
}

// writeError writes err as a SCIM error body and logs what the client does not see.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	attrs := []any{"status", e.Status, "scimType", e.ScimType, "detail", e.Detail}
	if e.cause != nil {
		attrs = append(attrs, "err", e.cause)
	}
	switch {
	case e.Status >= 500:
		h.log.ErrorContext(r.Context(), "scim request failed", attrs...)
	default:
		h.log.DebugContext(r.Context(), "scim request rejected", attrs...)
	}
	detail := clipDetail(e.Detail)
	h.auditRefusal(r, e, detail)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="rollcall-scim"`)
	}
	body := struct {
		Schemas  []string `json:"schemas"`
		Status   string   `json:"status"`
		ScimType string   `json:"scimType,omitempty"`
		Detail   string   `json:"detail,omitempty"`
	}{[]string{errorURN}, strconv.Itoa(e.Status), e.ScimType, detail}
	writeJSON(w, e.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only values of our own types reach here; a failure is a programming error.
		slog.Error("scim: marshal response", "err", err)
		status = http.StatusInternalServerError
		b = []byte(`{"schemas":["` + errorURN + `"],"status":"500","detail":"Internal error."}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

const contentType = "application/scim+json"

// libraryError is what a handler called by the elimity server returns: the library needs a
// ScimError value, but it cannot send some statuses (503, 304, 413 on PUT) and copies raw
// error text into responses, so the real error is also recorded for the outcome middleware,
// which writes it instead of whatever the library wrote.
func libraryError(r *http.Request, err error) error {
	e := asError(err)
	if o, ok := r.Context().Value(outcomeKey{}).(*outcome); ok {
		o.err = e
	}
	return scimerrors.ScimError{Status: http.StatusBadRequest, Detail: e.Detail}
}

// auditRefusal records a refused write of an authenticated connection as an audit event
// with result "failure" and the error the client got (detail as sent), so that a tenant's administrators can
// see why a push failed. It is written on its own (the write's transaction, if any, rolled
// back) and changes no resource. Reads, unauthenticated requests and an unavailable
// database (which could not take the event) record nothing.
func (h *Handler) auditRefusal(r *http.Request, e *Error, detail string) {
	p := principalFrom(r.Context())
	if p.connection.ID == "" || e.Status < 400 || e.Status == http.StatusServiceUnavailable || (p.written != nil && p.written.Load()) {
		return
	}
	action, targetType, targetID := writeAction(r)
	if action == "" {
		return
	}
	ev := h.auditEvent(r.Context(), r, action, targetType, targetID, nil, nil,
		map[string]any{"status": e.Status, "scimType": e.ScimType, "detail": detail})
	ev.Result = "failure"
	// The event outlives a client that hung up, within bounds.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := h.store.Tx(ctx, func(tx storage.Tx) error { return tx.AppendAudit(ctx, ev) }); err != nil {
		h.log.WarnContext(r.Context(), "scim: could not audit a refused write", "action", action, "err", err)
	}
}

// writeTx runs a SCIM write's transaction and marks the request written once it commits.
func (h *Handler) writeTx(ctx context.Context, fn func(storage.Tx) error) error {
	err := h.store.Tx(ctx, fn)
	if err == nil {
		markWritten(ctx)
	}
	return err
}

// markWritten records that the request's write has committed.
func markWritten(ctx context.Context) {
	if p := principalFrom(ctx); p.written != nil {
		p.written.Store(true)
	}
}

// maxDetail bounds an error's detail: several quote what the client sent (an op name, a
// path, a value), which may be as long as the body allows.
const maxDetail = 512

// clipDetail cuts a detail to maxDetail bytes of whole characters.
func clipDetail(s string) string { return clipTo(s, maxDetail) }

// writeAction names the audit action and target of a SCIM write request (POST, PUT, PATCH
// or DELETE of /Users or /Groups), or returns "" for anything else. The target id is the
// path's, cut to 256 bytes of valid UTF-8: it is what the client sent, not a known id.
func writeAction(r *http.Request) (action, targetType, targetID string) {
	resource, id, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, Prefix), "/"), "/")
	switch resource {
	case "Users":
		targetType = "user"
	case "Groups":
		targetType = "group"
	default:
		return "", "", ""
	}
	var op string
	switch {
	case r.Method == http.MethodPost && id == "":
		op = "create"
	case id == "" || id == ".search" || strings.Contains(id, "/"):
		return "", "", ""
	case r.Method == http.MethodPut:
		op = "replace"
	case r.Method == http.MethodPatch:
		op = "patch"
	case r.Method == http.MethodDelete:
		op = "delete"
	default:
		return "", "", ""
	}
	if len(id) > 256 {
		id = id[:256]
	}
	id = strings.ToValidUTF8(strings.ReplaceAll(id, "\x00", ""), "")
	return "scim." + targetType + "." + op, targetType, id
}
