package scim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/scim/expr"
	"github.com/rollcall/rollcall/storage"
)

// handlePatchUser is PATCH /Users/{id}. All operations apply in order in one transaction:
// any failure leaves the user as it was. It answers 204, as every group PATCH does, and as
// Microsoft's SCIM reference server and test collection do; to a connection of kind okta it
// answers 200 with the user, as Okta's SCIM reference shows it (Okta and Microsoft both
// document that either works). attributes or excludedAttributes ask for the body either
// way (RFC 7644 §3.5.2).
func (h *Handler) handlePatchUser(w http.ResponseWriter, r *http.Request) {
	ctx, p, id := r.Context(), principalFrom(r.Context()), pathID(r)
	ops, proj, err := readPatch(r, usersSchema)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ops, pw, setPassword, perr := takePassword(ops)
	if perr != nil {
		h.writeError(w, r, perr)
		return
	}
	var passwordHash string
	if pw != "" { // hashed before the transaction: the hash is slow by design
		if passwordHash, err = h.hashPassword(pw); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	var rec storage.User
	err = h.writeTx(ctx, func(tx storage.Tx) error {
		old, err := tx.LockUser(ctx, p.scope(), id)
		if err != nil {
			return notFoundAs(err, usersSchema, id)
		}
		if e := checkPreconditions(r, old.Version); e != nil {
			return e
		}
		doc := map[string]any{}
		_ = json.Unmarshal(old.Doc, &doc)
		doc["userName"], doc["active"] = old.UserName, old.Active
		if old.ExternalID != "" {
			doc["externalId"] = old.ExternalID
		}
		dp := docPatcher{rs: usersSchema, res: resolverFor(usersSchema), doc: doc, id: id}
		before := valueCounts(doc)
		for _, op := range ops {
			if e := dp.apply(op); e != nil {
				return e
			}
		}
		if e := checkGrowth(before, doc); e != nil {
			return e
		}
		externalID, _ := doc["externalId"].(string)
		delete(doc, "externalId")
		valid, verr := validateDoc(usersSchema, doc, externalID)
		if verr != nil {
			return verr
		}
		newDoc, userName, extID, active, serr := userDoc(valid)
		if serr != nil {
			return serr
		}
		rec = old
		if active != nil {
			rec.Active = *active
		}
		// active cannot be unassigned: its column keeps its value, and the document, which
		// always holds active as stored, says the same (so removing it changes nothing).
		newDoc["active"] = rec.Active
		rec.UserName, rec.ExternalID, rec.Doc = userName, extID, marshalDoc(newDoc)
		if setPassword {
			rec.PasswordHash = passwordHash
		}
		if !setPassword && rec.UserName == old.UserName && rec.ExternalID == old.ExternalID && rec.Active == old.Active &&
			bytes.Equal(rec.Doc, old.Doc) {
			return nil // nothing changed: no write, no new version
		}
		rec.Profile, rec.Values, rec.Email = userIndexes(newDoc)
		rec.Version, rec.UpdatedAt = old.Version+1, h.now()
		if err := updateUser(ctx, tx, old, rec); err != nil {
			return err
		}
		summary := opSummary(ops)
		if setPassword { // never the password itself
			pwOp := "replace"
			if pw == "" {
				pwOp = "remove"
			}
			summary = append(summary, map[string]string{"op": pwOp, "path": "password"})
		}
		return h.audit(ctx, tx, r, "scim.user.patch", "user", id, redactedDoc(old), redactedDoc(rec), summary)
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if p.connection.Kind != storage.KindOkta && !patchWantsBody(r) {
		writePatched(w, rec.Version)
		return
	}
	// rec holds the groups LockUser read: a user's groups are not the user's to change.
	s := userStored(rec)
	h.writeResource(w, http.StatusOK, usersSchema, s, h.render(usersSchema, s, h.userAttrs(rec, rec.Groups, true), proj))
}

// handlePatchGroup is PATCH /Groups/{id}. Member operations run as set-based statements in
// the transaction; other attributes are patched as a document. It answers 204, or 200 with
// the group when attributes or excludedAttributes ask for a body.
func (h *Handler) handlePatchGroup(w http.ResponseWriter, r *http.Request) {
	ctx, id := r.Context(), pathID(r)
	ops, proj, err := readPatch(r, groupsSchema)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var rec storage.Group
	err = h.writeTx(ctx, func(tx storage.Tx) error {
		old, err := lockSCIMGroup(tx, r, id)
		if err != nil {
			return err
		}
		if e := checkPreconditions(r, old.Version); e != nil {
			return e
		}
		doc := map[string]any{}
		_ = json.Unmarshal(old.Doc, &doc)
		doc["displayName"] = old.DisplayName
		if old.ExternalID != "" {
			doc["externalId"] = old.ExternalID
		}
		dp := docPatcher{rs: groupsSchema, res: resolverFor(groupsSchema), doc: doc, id: id, skip: map[string]bool{"members": true}}
		mp := memberPatcher{h: h, tx: tx, r: r, groupID: id}
		for _, op := range ops {
			handled, e := mp.apply(op)
			if e != nil {
				return e
			}
			if !handled {
				if e := dp.apply(op); e != nil {
					return e
				}
			}
		}
		externalID, _ := doc["externalId"].(string)
		delete(doc, "externalId")
		valid, verr := validateDoc(groupsSchema, doc, externalID)
		if verr != nil {
			return verr
		}
		newDoc, name, extID, _, serr := groupDoc(valid)
		if serr != nil {
			return serr
		}
		rec = old
		rec.DisplayName, rec.NormalizedName, rec.ExternalID = name, rbac.NormalizeGroupName(name), extID
		rec.Doc = marshalDoc(newDoc)
		docChanged := rec.DisplayName != old.DisplayName || rec.ExternalID != old.ExternalID || !bytes.Equal(rec.Doc, old.Doc)
		if !docChanged && !mp.changed {
			// Okta repeats {"id", "displayName"} with every membership push: a no-op costs a read.
			return nil
		}
		rec.Version, rec.UpdatedAt, rec.LastSeenAt = old.Version+1, h.now(), h.now()
		if err := tx.UpdateGroup(ctx, rec); err != nil {
			return err
		}
		var before map[string]any
		if docChanged {
			before = groupAudit(old)
		}
		if err := h.audit(ctx, tx, r, "scim.group.patch", "group", id, before, groupAudit(rec),
			map[string]any{"operations": opSummary(ops), "members": mp.change}); err != nil {
			return err
		}
		return h.syncRoles(ctx, tx, r, mp.affected)
	})
	if err != nil {
		h.writeError(w, r, groupConflict(err, rec.DisplayName, rec.NormalizedName, h, r))
		return
	}
	if !patchWantsBody(r) {
		writePatched(w, rec.Version)
		return
	}
	attrs, err := h.groupAttrs(r, rec, proj)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	s := groupStored(rec)
	h.writeResource(w, http.StatusOK, groupsSchema, s, h.render(groupsSchema, s, attrs, proj))
}

// writePatched answers a PATCH with 204 and the resource's new ETag (RFC 7644 §3.5.2).
func writePatched(w http.ResponseWriter, version int64) {
	w.Header().Set("ETag", etag(version))
	w.WriteHeader(http.StatusNoContent)
}

// readPatch reads a PATCH request: its operations and the projection of its answer.
func readPatch(r *http.Request, rs *resourceSchema) ([]patchOp, projection, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, projection{}, err
	}
	ops, perr := parsePatch(body)
	if perr != nil {
		return nil, projection{}, perr
	}
	proj, perr := parseProjection(rs, r.URL.Query().Get("attributes"), r.URL.Query().Get("excludedAttributes"))
	if perr != nil {
		return nil, projection{}, perr
	}
	return ops, proj, nil
}

// memberPatcher applies the operations that touch a group's members, in the database.
type memberPatcher struct {
	h       *Handler
	tx      storage.Tx
	r       *http.Request
	groupID string
	changed bool
	change  memberChange
	// affected are the members added or removed, whose roles may change.
	affected []string
}

// apply applies op if it is about members, and reports whether it was. A path-less op may
// carry members among other attributes; those are applied here and the rest left to the
// document patcher.
func (mp *memberPatcher) apply(op patchOp) (bool, *Error) {
	if op.path == nil {
		values, ok := op.value.(map[string]any)
		if !ok {
			return false, nil
		}
		// "members", in any case or qualified by the Group schema's URN (RFC 7644 §3.10).
		var members any
		var keys, filtered []string
		for k, v := range values {
			if a, ok := groupsSchema.lookupKey(k); ok && a.parent == nil && strings.EqualFold(a.key, "members") {
				members, keys = v, append(keys, k)
			}
			if v == nil && strings.Contains(k, "[") {
				filtered = append(filtered, k)
			}
		}
		// A filtered members key set to null (replace) removes the members it matches, as the
		// same path does; other values under such a key are refused by the document patcher.
		slices.Sort(filtered)
		for _, k := range filtered {
			p, err := expr.ParsePath(k)
			if err != nil || p.SubAttribute != nil || !strings.EqualFold(p.AttributePath.AttributeName, "members") {
				continue
			}
			if op.op == "replace" {
				if _, e := mp.apply(patchOp{op: "remove", rawPath: k, path: &p}); e != nil {
					return true, e
				}
			}
		}
		switch {
		case len(keys) > 1:
			slices.Sort(keys)
			return true, badRequest(typeInvalidValue, "The value names members twice (as %q and %q); name each attribute once.",
				clip(keys[0]), clip(keys[1]))
		case len(keys) == 1 && members == nil && op.op == "replace":
			// Assigning null unassigns (RFC 7643 §2.5): no members; an add of null adds none.
			return false, mp.removeAll()
		case len(keys) == 1 && members != nil && op.op != "remove":
			if err := mp.set(op.op, members); err != nil {
				return true, err
			}
		}
		return false, nil
	}
	a, ok := groupsSchema.lookup(op.path.AttributePath)
	if !ok {
		return false, nil
	}
	if a.parent != nil && strings.EqualFold(a.parent.key, "members") {
		return true, badRequest(typeInvalidPath, "%q: members are added or removed whole; their sub-attributes cannot be patched.", op.rawPath)
	}
	if !strings.EqualFold(a.key, "members") {
		return false, nil
	}
	if op.null {
		// Assigning null unassigns (RFC 7643 §2.5): a replace removes the members the path
		// names; an add of null adds none.
		if op.op == "add" {
			return true, nil
		}
		op.op, op.null = "remove", false
	}
	if op.path.ValueExpression != nil {
		if op.op != "remove" || op.path.SubAttribute != nil {
			return true, badRequest(typeMutability, "%q: members are immutable; add or remove them instead.", op.rawPath)
		}
		f, err := translatorFor(groupsSchema).element(a, op.path.ValueExpression)
		if err != nil {
			err.ScimType = typeInvalidPath
			return true, err
		}
		n, serr := mp.tx.RemoveMembersWhere(mp.r.Context(), principalFrom(mp.r.Context()).scope(), mp.groupID, f)
		mp.note(nil, n, nil)
		return true, asErrorOrNil(serr)
	}
	if op.op == "remove" {
		scope := principalFrom(mp.r.Context()).scope()
		if !op.hasValue {
			return true, mp.removeAll()
		}
		ids, err := memberIDs(op.value)
		if err != nil {
			return true, err
		}
		n, serr := mp.tx.RemoveMembers(mp.r.Context(), scope, mp.groupID, ids)
		mp.note(nil, n, nil)
		return true, asErrorOrNil(serr)
	}
	return true, mp.set(op.op, op.value)
}

// removeAll removes every member.
func (mp *memberPatcher) removeAll() *Error {
	n, err := mp.tx.RemoveMembersWhere(mp.r.Context(), principalFrom(mp.r.Context()).scope(), mp.groupID, nil)
	mp.note(nil, n, nil)
	return asErrorOrNil(err)
}

// set adds members (add) or makes them exactly the ones given (replace). A replace takes a
// list of member objects and nothing else: it removes every member it does not name, so a
// value that only looks like one (a bare string, an object) must not empty the group.
func (mp *memberPatcher) set(op string, value any) *Error {
	if op == "replace" {
		list, ok := value.([]any)
		for _, el := range list {
			if _, obj := el.(map[string]any); !obj {
				ok = false
			}
		}
		if !ok {
			return badRequest(typeInvalidValue, "A replace of members takes the list of members, each an object with a value: [{\"value\": \"id\"}].")
		}
	}
	ids, err := memberIDs(value)
	if err != nil {
		return err
	}
	ctx, scope := mp.r.Context(), principalFrom(mp.r.Context()).scope()
	if op == "replace" {
		added, removed, missing, serr := mp.tx.ReplaceMembers(ctx, scope, mp.groupID, ids)
		mp.note(added, removed, missing)
		return asErrorOrNil(serr)
	}
	added, missing, serr := mp.tx.AddMembers(ctx, scope, mp.groupID, ids)
	mp.note(added, nil, missing)
	return asErrorOrNil(serr)
}

func (mp *memberPatcher) note(added, removed, missing []string) {
	mp.change.Added += len(added)
	mp.change.Removed += len(removed)
	mp.change.Missing = append(mp.change.Missing, missing...)
	mp.affected = append(append(mp.affected, added...), removed...)
	if len(added) > 0 || len(removed) > 0 {
		mp.changed = true
	}
	if len(missing) > 0 {
		// One unknown id must not lose the rest of the push (Okta does not retry a 400).
		// The log names a few (a push may name thousands, each as long as the body allows);
		// the audit event keeps them all.
		mp.h.log.WarnContext(mp.r.Context(), "scim: group push names unknown members; they were skipped",
			"group", mp.groupID, "unknown_count", len(missing), "unknown", logSample(missing))
	}
}

// logSample is at most the first 10 of ids, each cut to 64 bytes: what a log line shows of a
// list a client sent.
func logSample(ids []string) []string {
	out := make([]string, 0, min(len(ids), 10))
	for _, id := range ids[:min(len(ids), 10)] {
		out = append(out, clipTo(id, 64))
	}
	return out
}

// memberIDs reads the ids of a members value: a list of {"value": id} (with any "$ref",
// "type", "display") or of bare ids, or one such object.
func memberIDs(value any) ([]string, *Error) {
	list, ok := value.([]any)
	if !ok {
		list = []any{value}
	}
	ids := make([]string, 0, len(list))
	for _, el := range list {
		switch x := el.(type) {
		case string:
			ids = append(ids, x)
		case map[string]any:
			v, _ := lookupFold(x, "value")
			id, ok := v.(string)
			if !ok || id == "" {
				return nil, badRequest(typeInvalidValue, "Each member needs a string value (the member's id).")
			}
			ids = append(ids, id)
		case nil:
		default:
			return nil, badRequest(typeInvalidValue, "Each member must be an object with a value.")
		}
	}
	return ids, nil
}

// asErrorOrNil keeps storage errors as errors (the transaction fails with them) while
// satisfying functions that return *Error.
func asErrorOrNil(err error) *Error {
	if err == nil {
		return nil
	}
	return asError(err)
}

// takePassword takes a password out of a user PATCH, which Rollcall keeps as a hash only,
// never in the document: a "password" path, or a "password" key of a path-less value (Okta's
// password sync). It returns the operations left, the new password ("" when removed) and
// whether the PATCH sets or removes one.
func takePassword(ops []patchOp) ([]patchOp, string, bool, *Error) {
	out := make([]patchOp, 0, len(ops))
	var pw string
	set := false
	take := func(v any) *Error {
		s, ok := v.(string)
		if !ok || s == "" {
			return badRequest(typeInvalidValue, "password must be a non-empty string.")
		}
		pw, set = s, true
		return nil
	}
	for _, op := range ops {
		switch {
		case op.path != nil && isPassword(strings.TrimSpace(op.rawPath)):
			if op.op == "remove" || op.null {
				pw, set = "", true
			} else if err := take(op.value); err != nil {
				return nil, "", false, err
			}
			continue
		case op.path == nil:
			if m, ok := op.value.(map[string]any); ok {
				rest := make(map[string]any, len(m))
				for k, v := range m {
					switch {
					case !isPassword(k):
						rest[k] = v
					case v == nil:
						pw, set = "", true // null unassigns, as a remove does
					default:
						if err := take(v); err != nil {
							return nil, "", false, err
						}
					}
				}
				op.value = rest
			}
		}
		out = append(out, op)
	}
	return out, pw, set, nil
}

// isPassword reports whether an attribute name or path is the core User's password, plain or
// URN-qualified.
func isPassword(name string) bool {
	return strings.EqualFold(name, "password") || strings.EqualFold(name, userURN+":password")
}

// opSummary is what the audit log keeps of a PATCH: each op and path, values left out (they
// can be large member lists).
func opSummary(ops []patchOp) []map[string]string {
	out := make([]map[string]string, len(ops))
	for i, op := range ops {
		out[i] = map[string]string{"op": op.op}
		if op.rawPath != "" {
			out[i]["path"] = op.rawPath
		}
	}
	return out
}
