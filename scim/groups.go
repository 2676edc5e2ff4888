package scim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/elimity-com/scim"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// groups implements the elimity ResourceHandler for /Groups. Members are rows: a group's
// member list is never held in one value, and changing a few members costs the same
// whatever the group's size.
type groups struct{ h *Handler }

var _ scim.ResourceHandler = groups{}

// groupDoc splits validated attributes into the stored document, the display name, the
// external id and the member ids (nil when the body has no members attribute).
func groupDoc(attrs scim.ResourceAttributes) (doc map[string]any, displayName, externalID string, members []string, err *Error) {
	doc = map[string]any{}
	for k, v := range attrs {
		switch k {
		case "id", "meta", "schemas", "externalId":
		case "members":
			members = []string{}
			list, _ := v.([]any)
			for _, m := range list {
				if mm, ok := m.(map[string]any); ok {
					if id, ok := mm["value"].(string); ok && id != "" {
						members = append(members, id)
					}
				}
			}
		default:
			doc[k] = v
		}
	}
	externalID, _ = attrs["externalId"].(string)
	displayName, _ = doc["displayName"].(string)
	if err := checkDisplayName(displayName); err != nil {
		return nil, "", "", nil, err
	}
	if err := checkIndexed(externalID, nil); err != nil {
		return nil, "", "", nil, err
	}
	return doc, displayName, externalID, members, nil
}

func checkDisplayName(name string) *Error {
	switch {
	case rbac.NormalizeGroupName(name) == "":
		return badRequest(typeInvalidValue, "displayName is required and must not be blank.")
	case len(name) > 512:
		return badRequest(typeInvalidValue, "displayName is longer than 512 bytes.")
	}
	return nil
}

// Create completes the library's ResourceHandler; Rollcall routes POST to handleCreate, which
// shares its work (createGroup).
func (g groups) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	s, out, err := g.h.createGroup(r, attrs)
	if err != nil {
		return scim.Resource{}, libraryError(r, err)
	}
	return libraryResource(s, out), nil
}

// createGroup stores a group from validated attributes (or adopts the one a sign-in saw) with
// its members, and returns what to answer with.
func (h *Handler) createGroup(r *http.Request, attrs scim.ResourceAttributes) (stored, map[string]any, error) {
	ctx, p := r.Context(), principalFrom(r.Context())
	doc, name, externalID, members, serr := groupDoc(attrs)
	if serr != nil {
		return stored{}, nil, serr
	}
	now := h.now()
	rec := storage.Group{
		ID: storage.NewID(), TenantID: p.tenantID, ConnectionID: p.connection.ID, DisplayName: name,
		NormalizedName: rbac.NormalizeGroupName(name), ExternalID: externalID, SCIM: true, Doc: marshalDoc(doc),
		Version: 1, CreatedAt: now, UpdatedAt: now, LastSeenAt: now,
	}
	var added []string
	err := h.writeTx(ctx, func(tx storage.Tx) error {
		existing, err := tx.GroupByName(ctx, p.scope(), rec.NormalizedName)
		switch {
		case err == nil && existing.SCIM:
			return groupNameConflict(name, rec.NormalizedName, existing)
		case err == nil:
			// First seen in a sign-in's groups claim: the push adopts that group (and so
			// keeps any role mapping made for it) instead of making a second one.
			rec.ID, rec.CreatedAt, rec.SeenAtLogin = existing.ID, existing.CreatedAt, true
			rec.Version = existing.Version + 1
			if err := tx.UpdateGroup(ctx, rec); err != nil {
				return err
			}
		case errors.Is(err, storage.ErrNotFound):
			if err := tx.CreateGroup(ctx, rec); err != nil {
				return err
			}
		default:
			return err
		}
		var missing []string
		added, missing, err = tx.AddMembers(ctx, p.scope(), rec.ID, members)
		if err != nil {
			return err
		}
		if err := h.audit(ctx, tx, r, "scim.group.create", "group", rec.ID, nil, groupAudit(rec),
			memberChange{Added: len(added), Missing: missing}); err != nil {
			return err
		}
		return h.syncRoles(ctx, tx, r, added)
	})
	if err != nil {
		return stored{}, nil, groupConflict(err, name, rec.NormalizedName, h, r)
	}
	// The members are answered as stored (duplicates once, unknown ids and ids of other
	// connections not at all), streamed by handleCreate as a GET streams them.
	s := groupStored(rec)
	s.members = len(added) > 0
	out := groupBase(rec)
	if !s.members {
		out["members"] = []any{}
	}
	return s, out, nil
}

// groupNameConflict is the 409 for two distinct SCIM groups whose names normalize alike.
func groupNameConflict(name, normalized string, existing storage.Group) *Error {
	return errorf(http.StatusConflict, typeUniqueness,
		"displayName %q normalizes to %q, the key of existing group %s (%q) of this connection; IdP group names must stay distinct after normalization.",
		name, normalized, existing.ID, existing.DisplayName)
}

// groupConflict words a storage conflict on the group name (a race with another push) like
// groupNameConflict.
func groupConflict(err error, name, normalized string, h *Handler, r *http.Request) error {
	var ce *storage.ConflictError
	if !errors.As(err, &ce) || ce.Constraint != storage.UniqueGroupName {
		return err
	}
	existing, lerr := h.store.GroupByName(r.Context(), principalFrom(r.Context()).scope(), normalized)
	if lerr != nil {
		return err
	}
	return groupNameConflict(name, normalized, existing)
}

// Replace completes the library's ResourceHandler; Rollcall routes PUT /Groups/{id} to
// handleReplaceGroup, which shares its work (replaceGroup).
func (g groups) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	rec, err := g.h.replaceGroup(r, id, attrs)
	return g.resource(r, rec, err)
}

// resource is a group, or err, as the library's handlers return them.
func (g groups) resource(r *http.Request, rec storage.Group, err error) (scim.Resource, error) {
	if err != nil {
		return scim.Resource{}, libraryError(r, err)
	}
	res, err := g.h.groupAttrs(r, rec, projection{})
	if err != nil {
		return scim.Resource{}, libraryError(r, err)
	}
	return libraryResource(groupStored(rec), res), nil
}

// handleReplaceGroup is PUT /Groups/{id}: the body normalized and validated as a POST body is,
// the group replaced (members as a diff), and answered as a GET answers it, its members
// streamed: a PUT may carry as many members as the body limit allows.
func (h *Handler) handleReplaceGroup(w http.ResponseWriter, r *http.Request) {
	proj, attrs, _, err := readResource(groupsSchema, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	rec, err := h.replaceGroup(r, pathID(r), attrs)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	s := groupStored(rec)
	res := h.render(groupsSchema, s, groupBase(rec), proj)
	if !proj.wants("members") {
		h.writeResource(w, http.StatusOK, groupsSchema, s, res)
		return
	}
	// A PUT is idempotent: a failure to read the members back is answered as an error, and
	// the client's retry does no harm.
	out := h.streamedGroup(w, http.StatusOK, s)
	out.done(h, r, h.writeGroupStreaming(r.Context(), out.Writer, s.id, res, proj))
}

// replaceGroup replaces a group with validated attributes: everything but its id, its
// members made exactly those listed (as a diff), roles synced for those added and removed.
func (h *Handler) replaceGroup(r *http.Request, id string, attrs scim.ResourceAttributes) (storage.Group, error) {
	ctx, p := r.Context(), principalFrom(r.Context())
	doc, name, externalID, members, serr := groupDoc(attrs)
	if serr != nil {
		return storage.Group{}, serr
	}
	var rec storage.Group
	err := h.writeTx(ctx, func(tx storage.Tx) error {
		old, err := lockSCIMGroup(tx, r, id)
		if err != nil {
			return err
		}
		if e := checkPreconditions(r, old.Version); e != nil {
			return e
		}
		rec = old
		rec.DisplayName, rec.NormalizedName, rec.ExternalID = name, rbac.NormalizeGroupName(name), externalID
		rec.Doc, rec.Version, rec.UpdatedAt, rec.LastSeenAt = marshalDoc(doc), old.Version+1, h.now(), h.now()
		if err := tx.UpdateGroup(ctx, rec); err != nil {
			return err
		}
		if members == nil {
			members = []string{}
		}
		added, removed, missing, err := tx.ReplaceMembers(ctx, p.scope(), id, members)
		if err != nil {
			return err
		}
		if err := h.audit(ctx, tx, r, "scim.group.replace", "group", id, groupAudit(old), groupAudit(rec),
			memberChange{Added: len(added), Removed: len(removed), Missing: missing}); err != nil {
			return err
		}
		return h.syncRoles(ctx, tx, r, append(added, removed...))
	})
	if err != nil {
		return storage.Group{}, groupConflict(err, name, rbac.NormalizeGroupName(name), h, r)
	}
	return rec, nil
}

// lockSCIMGroup locks a group of the caller's connection that is a SCIM resource.
func lockSCIMGroup(tx storage.Tx, r *http.Request, id string) (storage.Group, error) {
	g, err := tx.LockGroup(r.Context(), principalFrom(r.Context()).scope(), id)
	if err != nil {
		return g, notFoundAs(err, groupsSchema, id)
	}
	if !g.SCIM {
		return g, notFound(groupsSchema, id)
	}
	return g, nil
}

func (g groups) Delete(r *http.Request, id string) error {
	h, ctx, p := g.h, r.Context(), principalFrom(r.Context())
	err := h.writeTx(ctx, func(tx storage.Tx) error {
		old, err := lockSCIMGroup(tx, r, id)
		if err != nil {
			return err
		}
		if e := checkPreconditions(r, old.Version); e != nil {
			return e
		}
		if err := tx.DeleteGroup(ctx, p.scope(), id, h.now()); err != nil {
			return err
		}
		if err := h.audit(ctx, tx, r, "scim.group.delete", "group", id, groupAudit(old), nil, nil); err != nil {
			return err
		}
		if old.MappedRoleID == "" {
			return nil
		}
		// The group's mapping went with it: its former members lose the role.
		return h.syncAllRoles(ctx, tx, r)
	})
	if err != nil {
		return libraryError(r, err)
	}
	return nil
}

func (g groups) Get(r *http.Request, id string) (scim.Resource, error) {
	rec, err := g.h.loadGroup(r, id)
	return g.resource(r, rec, err)
}

func (g groups) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	return g.h.libraryList(r, groupsSchema, params)
}

func (g groups) Patch(r *http.Request, _ string, _ []scim.PatchOperation) (scim.Resource, error) {
	return scim.Resource{}, libraryError(r, errorf(http.StatusNotImplemented, "", "PATCH is served by Rollcall's own route."))
}

func groupStored(g storage.Group) stored {
	return stored{id: g.ID, externalID: g.ExternalID, created: g.CreatedAt, updated: g.UpdatedAt, version: g.Version}
}

func (h *Handler) loadGroup(r *http.Request, id string) (storage.Group, error) {
	g, err := h.store.Group(r.Context(), principalFrom(r.Context()).scope(), id)
	if err != nil {
		return g, notFoundAs(err, groupsSchema, id)
	}
	if !g.SCIM {
		return g, notFound(groupsSchema, id)
	}
	return g, nil
}

// groupBase is a group's attributes without its members.
func groupBase(g storage.Group) map[string]any {
	var doc map[string]any
	if err := json.Unmarshal(g.Doc, &doc); err != nil || doc == nil {
		doc = map[string]any{}
	}
	doc["displayName"] = g.DisplayName
	return doc
}

// groupAttrs is the SCIM representation of a group's attributes; members are read only when
// the projection returns them.
func (h *Handler) groupAttrs(r *http.Request, g storage.Group, proj projection) (map[string]any, error) {
	doc := groupBase(g)
	if !proj.wants("members") {
		return doc, nil
	}
	members := []any{} // an empty group shows "members": [], as Microsoft's clients expect
	err := h.store.Members(r.Context(), principalFrom(r.Context()).scope(), g.ID, func(m storage.Member) error {
		members = append(members, h.memberElement(m))
		return nil
	})
	if err != nil {
		return nil, err
	}
	doc["members"] = members
	return doc, nil
}

// memberElement is a member as a group's members attribute lists it.
func (h *Handler) memberElement(m storage.Member) map[string]any {
	rs := usersSchema
	if strings.EqualFold(m.Type, "Group") {
		rs = groupsSchema
	}
	el := map[string]any{"value": m.ID, "type": m.Type, "$ref": h.location(rs, m.ID)}
	if m.Display != "" {
		el["display"] = m.Display
	}
	return el
}

// writeGroupStreaming writes a rendered group (res, without members) with its members, read
// row by row and written as they come: a group of a million members costs the server a
// buffer, not a million maps. A group without members shows "members": [].
// RFC 7643 §2.5 allows an empty attribute to be left out, but Microsoft's reference server
// answers the empty list, and its test suites read it.
func (h *Handler) writeGroupStreaming(ctx context.Context, bw *bufio.Writer, id string, res map[string]any, proj projection) error {
	head, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, _ = bw.Write(head[:len(head)-1]) // all but the closing brace
	n := 0
	err = h.store.Members(ctx, principalFrom(ctx).scope(), id, func(m storage.Member) error {
		el, ok := proj.element("members", h.memberElement(m))
		if !ok {
			return nil
		}
		b, err := json.Marshal(el)
		if err != nil {
			return err
		}
		if n == 0 {
			_, _ = bw.WriteString(`,"members":[`)
		} else {
			_ = bw.WriteByte(',')
		}
		n++
		_, err = bw.Write(b)
		return err
	})
	switch {
	case n > 0:
		_, _ = bw.WriteString("]}")
	case proj.elements["members"] != nil:
		// A filter (attributes=members[type eq "Group"]) matched no member: the attribute is
		// left out, as projection.apply leaves out every attribute a filter empties.
		_ = bw.WriteByte('}')
	default:
		_, _ = bw.WriteString(`,"members":[]}`)
	}
	return err
}

// streamedResponse writes a 200 response through a buffer, sending the status and headers
// only when the first bytes leave the buffer: an error before that can still be answered as
// an error, and one after it can only cut the response short (done panics with
// http.ErrAbortHandler, so the client sees a broken response, never a complete-looking one).
type streamedResponse struct {
	w      http.ResponseWriter
	status int
	header func(http.Header)
	sent   bool
	*bufio.Writer
}

func newStreamedResponse(w http.ResponseWriter, status int, header func(http.Header)) *streamedResponse {
	s := &streamedResponse{w: w, status: status, header: header}
	s.Writer = bufio.NewWriterSize(writerFunc(s.write), 32<<10)
	return s
}

func (s *streamedResponse) write(p []byte) (int, error) {
	if !s.sent {
		s.sent = true
		s.w.Header().Set("Content-Type", contentType)
		s.header(s.w.Header())
		s.w.WriteHeader(s.status)
	}
	return s.w.Write(p)
}

// done ends the response: the rest of the buffer on success; on err, the error answer when
// nothing was sent yet, else an aborted connection.
func (s *streamedResponse) done(h *Handler, r *http.Request, err error) {
	if err == nil {
		err = s.Flush()
		if err == nil || s.sent {
			return // a write error is the client gone
		}
	}
	if s.sent {
		h.log.WarnContext(r.Context(), "response cut short", "err", err)
		panic(http.ErrAbortHandler)
	}
	h.writeError(s.w, r, err)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// handleGetGroup is GET /Groups/{id}: with excludedAttributes=members (what Entra asks), the
// members are not read at all; with them, they are streamed (writeGroupStreaming).
func (h *Handler) handleGetGroup(w http.ResponseWriter, r *http.Request) {
	id := pathID(r)
	proj, perr := parseProjection(groupsSchema, r.URL.Query().Get("attributes"), r.URL.Query().Get("excludedAttributes"))
	if perr != nil {
		h.writeError(w, r, perr)
		return
	}
	rec, err := h.loadGroup(r, id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// Members are shown with their users' names, which change without a write of the
	// group: as for a user's groups, only a representation without members can be 304.
	if !proj.wants("members") && notModified(w, r, rec.Version) {
		return
	}
	s := groupStored(rec)
	if !proj.wants("members") {
		attrs, err := h.groupAttrs(r, rec, proj)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		h.writeResource(w, http.StatusOK, groupsSchema, s, h.render(groupsSchema, s, attrs, proj))
		return
	}
	res := h.render(groupsSchema, s, groupBase(rec), proj)
	out := h.streamedGroup(w, http.StatusOK, s)
	out.done(h, r, h.writeGroupStreaming(r.Context(), out.Writer, rec.ID, res, proj))
}

// streamedGroup is the streamed answer with one group, with the headers writeResource gives.
func (h *Handler) streamedGroup(w http.ResponseWriter, status int, s stored) *streamedResponse {
	return newStreamedResponse(w, status, func(hd http.Header) {
		hd.Set("ETag", etag(s.version))
		hd.Set("Content-Location", h.location(groupsSchema, s.id))
	})
}

// memberChange is the audit detail of a membership change.
type memberChange struct {
	Added   int      `json:"added,omitempty"`
	Removed int      `json:"removed,omitempty"`
	Missing []string `json:"unknownMembers,omitempty"`
}

func groupAudit(g storage.Group) map[string]any {
	return map[string]any{"displayName": g.DisplayName, "normalizedName": g.NormalizedName, "externalId": g.ExternalID}
}
