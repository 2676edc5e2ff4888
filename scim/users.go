package scim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/elimity-com/scim"

	"github.com/rollcall/rollcall/storage"
)

// users implements the elimity ResourceHandler for /Users: the library validates POST and PUT
// bodies against the schema and renders their answers; everything else is Rollcall's.
type users struct{ h *Handler }

var _ scim.ResourceHandler = users{}

// userDoc turns validated attributes into the stored document and the fields kept in columns.
func userDoc(attrs scim.ResourceAttributes) (doc map[string]any, userName, externalID string, active *bool, err *Error) {
	doc = make(map[string]any, len(attrs))
	for k, v := range attrs {
		if !emptyValue(v) { // an attribute the validator emptied is absent, not null
			doc[k] = v
		}
	}
	externalID, _ = doc["externalId"].(string)
	delete(doc, "externalId")
	delete(doc, "id")
	delete(doc, "meta")
	delete(doc, "schemas")
	delete(doc, "groups")
	userName, _ = doc["userName"].(string)
	if strings.TrimSpace(userName) == "" {
		return nil, "", "", nil, badRequest(typeInvalidValue, "userName is required and must not be empty.")
	}
	if len(userName) > 512 {
		return nil, "", "", nil, badRequest(typeInvalidValue, "userName is longer than 512 bytes.")
	}
	if err := checkIndexed(externalID, doc); err != nil {
		return nil, "", "", nil, err
	}
	for k, v := range doc {
		list, _ := v.([]any)
		if err := onePrimary(k, list); err != nil {
			return nil, "", "", nil, err
		}
	}
	if a, ok := doc["active"].(bool); ok {
		active = &a
	}
	return doc, userName, externalID, active, nil
}

// checkIndexed refuses an externalId, or a value of an attribute users are looked up by
// (emails, roles, …), longer than storage.MaxIndexedBytes: the index that finds them has a
// size limit, and a value past it must be a clear 400, not a failed write.
func checkIndexed(externalID string, doc map[string]any) *Error {
	if len(externalID) > storage.MaxIndexedBytes {
		return badRequest(typeInvalidValue, "externalId is longer than %d bytes.", storage.MaxIndexedBytes)
	}
	for _, set := range storage.LookupSets {
		list, _ := doc[string(set)].([]any)
		for _, el := range list {
			m, _ := el.(map[string]any)
			if v, _ := m["value"].(string); len(v) > storage.MaxIndexedBytes {
				return badRequest(typeInvalidValue, "%s.value is longer than %d bytes.", set, storage.MaxIndexedBytes)
			}
		}
	}
	return nil
}

// emptyValue reports whether v is nothing: nil, or an empty list or object.
func emptyValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

func marshalDoc(doc map[string]any) json.RawMessage {
	b, _ := json.Marshal(doc) // documents are decoded JSON, which always re-encodes
	return b
}

// Create completes the library's ResourceHandler; Rollcall routes POST to handleCreate, which
// shares its work (createUser).
func (u users) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	s, out, err := u.h.createUser(r, attrs)
	if err != nil {
		return scim.Resource{}, libraryError(r, err)
	}
	return libraryResource(s, out), nil
}

// createUser stores a user from validated attributes and returns what to answer with.
func (h *Handler) createUser(r *http.Request, attrs scim.ResourceAttributes) (stored, map[string]any, error) {
	ctx, p := r.Context(), principalFrom(r.Context())
	doc, userName, externalID, active, serr := userDoc(attrs)
	if serr != nil {
		return stored{}, nil, serr
	}
	now := h.now()
	// The document always holds active as stored, so later PATCHes compare like with like.
	doc["active"] = active == nil || *active
	rec := storage.User{
		ID: storage.NewID(), TenantID: p.tenantID, ConnectionID: p.connection.ID, Kind: storage.UserHuman,
		Auth: storage.AuthSSO, UserName: userName, ExternalID: externalID, Active: active == nil || *active,
		Doc: marshalDoc(doc), Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	rec.Profile, rec.Values, rec.Email = userIndexes(doc)
	if pw := passwordFrom(ctx); pw != "" {
		hash, err := h.hashPassword(pw)
		if err != nil {
			return stored{}, nil, err
		}
		rec.PasswordHash = hash
	}
	// One round trip where the store can: a create reads nothing first.
	err := h.store.CreateUser(ctx, rec, h.auditEvent(ctx, r, "scim.user.create", "user", rec.ID, nil, redactedDoc(rec), nil))
	if err != nil {
		return stored{}, nil, err
	}
	markWritten(ctx)
	// The answer is the document as stored (what userAttrs would decode from rec.Doc).
	return userStored(rec), doc, nil
}

// handleReplaceUser is PUT /Users/{id}: the body normalized and validated as a POST body is,
// the user replaced, and answered as a GET answers it, with the attributes or
// excludedAttributes asked for (checked before anything is written).
func (h *Handler) handleReplaceUser(w http.ResponseWriter, r *http.Request) {
	proj, attrs, password, err := readResource(usersSchema, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	rec, err := h.replaceUser(withPassword(r, password), pathID(r), attrs)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// rec holds the groups LockUser read: a user's groups are not the user's to change.
	s := userStored(rec)
	h.writeResource(w, http.StatusOK, usersSchema, s, h.render(usersSchema, s, h.userAttrs(rec, rec.Groups, true), proj))
}

// Replace serves the library's PUT route, which Rollcall's own route (handleReplaceUser)
// comes before.
func (u users) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	rec, err := u.h.replaceUser(r, id, attrs)
	if err != nil {
		return scim.Resource{}, libraryError(r, err)
	}
	return libraryResource(userStored(rec), u.h.userAttrs(rec, rec.Groups, true)), nil
}

// replaceUser is PUT: the new document replaces the old one entirely (nothing is merged),
// except that active keeps its value when the body leaves it out.
func (h *Handler) replaceUser(r *http.Request, id string, attrs scim.ResourceAttributes) (storage.User, error) {
	ctx, p := r.Context(), principalFrom(r.Context())
	doc, userName, externalID, active, serr := userDoc(attrs)
	if serr != nil {
		return storage.User{}, serr
	}
	// A password replaces the stored hash; a PUT without one keeps it (a client cannot read
	// it back to send it again).
	var passwordHash string
	if pw := passwordFrom(ctx); pw != "" {
		var err error
		if passwordHash, err = h.hashPassword(pw); err != nil {
			return storage.User{}, err
		}
	}
	var rec storage.User
	err := h.writeTx(ctx, func(tx storage.Tx) error {
		old, err := tx.LockUser(ctx, p.scope(), id)
		if err != nil {
			return notFoundAs(err, usersSchema, id)
		}
		if e := checkPreconditions(r, old.Version); e != nil {
			return e
		}
		rec = old
		if active != nil {
			rec.Active = *active
		}
		doc["active"] = rec.Active
		rec.UserName, rec.ExternalID, rec.Doc = userName, externalID, marshalDoc(doc)
		rec.Profile, rec.Values, rec.Email = userIndexes(doc)
		if passwordHash != "" {
			rec.PasswordHash = passwordHash
		}
		rec.Version, rec.UpdatedAt = old.Version+1, h.now()
		if err := updateUser(ctx, tx, old, rec); err != nil {
			return err
		}
		var detail any
		if passwordHash != "" { // never the password itself
			detail = map[string]string{"password": "replaced"}
		}
		return h.audit(ctx, tx, r, "scim.user.replace", "user", id, redactedDoc(old), redactedDoc(rec), detail)
	})
	if err != nil {
		return storage.User{}, err
	}
	return rec, nil
}

func (u users) Delete(r *http.Request, id string) error {
	h, ctx, p := u.h, r.Context(), principalFrom(r.Context())
	err := h.writeTx(ctx, func(tx storage.Tx) error {
		old, err := tx.LockUser(ctx, p.scope(), id)
		if err != nil {
			return notFoundAs(err, usersSchema, id)
		}
		if e := checkPreconditions(r, old.Version); e != nil {
			return e
		}
		if err := tx.DeleteUser(ctx, p.scope(), id, h.now()); err != nil {
			return err
		}
		return h.audit(ctx, tx, r, "scim.user.delete", "user", id, redactedDoc(old), nil, nil)
	})
	if err != nil {
		return libraryError(r, err)
	}
	return nil
}

// Get and GetAll serve the library's own GET routes; Rollcall routes GETs to getUser and
// list first, and these reuse them.
func (u users) Get(r *http.Request, id string) (scim.Resource, error) {
	rec, groups, err := u.h.loadUser(r, id, projection{})
	if err != nil {
		return scim.Resource{}, libraryError(r, err)
	}
	return libraryResource(userStored(rec), u.h.userAttrs(rec, groups, true)), nil
}

func (u users) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	return u.h.libraryList(r, usersSchema, params)
}

func (u users) Patch(r *http.Request, id string, _ []scim.PatchOperation) (scim.Resource, error) {
	// PATCH never reaches the library: Rollcall parses and applies it itself (patch.go).
	return scim.Resource{}, libraryError(r, errorf(http.StatusNotImplemented, "", "PATCH is served by Rollcall's own route."))
}

func userStored(u storage.User) stored {
	return stored{id: u.ID, externalID: u.ExternalID, created: u.CreatedAt, updated: u.UpdatedAt, version: u.Version}
}

// userAttrs is the SCIM representation of a user's attributes: its document, with active as
// stored and, when asked, its groups.
func (h *Handler) userAttrs(u storage.User, groups []storage.GroupRef, withGroups bool) map[string]any {
	var doc map[string]any
	if err := json.Unmarshal(u.Doc, &doc); err != nil || doc == nil {
		doc = map[string]any{}
	}
	doc["userName"] = u.UserName
	doc["active"] = u.Active
	if withGroups && len(groups) > 0 {
		list := make([]any, len(groups))
		for i, g := range groups {
			list[i] = map[string]any{"value": g.ID, "display": g.DisplayName, "$ref": h.location(groupsSchema, g.ID), "type": "direct"}
		}
		doc["groups"] = list
	}
	return doc
}

// loadUser reads a user of the caller's connection to answer a GET, and its groups when the
// projection returns them: one statement, as a listing by id (a GET renders the stored
// document, so the user's indexed values are not read).
func (h *Handler) loadUser(r *http.Request, id string, proj projection) (storage.User, []storage.GroupRef, error) {
	ctx, p := r.Context(), principalFrom(r.Context())
	page, err := h.store.Users(ctx, p.scope(), storage.Query{
		Filter: storage.Compare{Field: storage.FieldID, Op: storage.OpEq, Value: id},
		Limit:  1, WithGroups: proj.wants("groups"),
	})
	if err != nil {
		return storage.User{}, nil, err
	}
	if len(page.Items) == 0 {
		return storage.User{}, nil, notFound(usersSchema, id)
	}
	u := page.Items[0]
	return u, u.Groups, nil
}

// handleGetUser is GET /Users/{id}, with attributes/excludedAttributes and If-None-Match
// (when groups are excluded).
func (h *Handler) handleGetUser(w http.ResponseWriter, r *http.Request) {
	id := pathID(r)
	proj, perr := parseProjection(usersSchema, r.URL.Query().Get("attributes"), r.URL.Query().Get("excludedAttributes"))
	if perr != nil {
		h.writeError(w, r, perr)
		return
	}
	rec, groups, err := h.loadUser(r, id, proj)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// A user's version covers what clients write, not its groups, which change through
	// /Groups without a write of the user: only a representation without them can be
	// answered 304. With them it is sent whole, never a stale list.
	if !proj.wants("groups") && notModified(w, r, rec.Version) {
		return
	}
	s := userStored(rec)
	h.writeResource(w, http.StatusOK, usersSchema, s, h.render(usersSchema, s, h.userAttrs(rec, groups, true), proj))
}

// notModified answers 304 when If-None-Match names the current version.
func notModified(w http.ResponseWriter, r *http.Request, version int64) bool {
	inm := r.Header.Get("If-None-Match")
	if inm == "" || !matchesETag(inm, version) {
		return false
	}
	w.Header().Set("ETag", etag(version))
	w.WriteHeader(http.StatusNotModified)
	return true
}

// redactedDoc is what the audit log keeps of a user: its document and key fields, never a
// password hash.
func redactedDoc(u storage.User) map[string]any {
	return map[string]any{"userName": u.UserName, "externalId": u.ExternalID, "active": u.Active, "attributes": u.Doc}
}

// notFoundAs gives a not-found error the resource's own wording.
func notFoundAs(err error, rs *resourceSchema, id string) error {
	if asError(err).Status == http.StatusNotFound {
		return notFound(rs, id)
	}
	return err
}

// hashPassword hashes a password a client sent; a password the hash refuses (too long) is a
// 400 invalidValue.
func (h *Handler) hashPassword(pw string) (string, error) {
	hash, err := h.cfg.HashPassword(pw)
	if err != nil {
		e := badRequest(typeInvalidValue, "The password is refused: %s.", err.Error())
		e.cause = err
		return "", e
	}
	return hash, nil
}

type passwordKey struct{}

// updateUser writes rec over old, rewriting the multi-valued rows only when they changed: a
// PATCH of active (Okta's and Entra's deactivation) leaves the emails' rows as they are.
func updateUser(ctx context.Context, tx storage.Tx, old, rec storage.User) error {
	if storage.SameValues(old.Values, rec.Values) {
		return tx.UpdateUserRow(ctx, rec)
	}
	return tx.UpdateUser(ctx, rec)
}

// withPassword carries a password the body held (taken out of the document) to the handler.
func withPassword(r *http.Request, password string) *http.Request {
	if password == "" {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), passwordKey{}, password))
}

func passwordFrom(ctx context.Context) string {
	s, _ := ctx.Value(passwordKey{}).(string)
	return s
}
