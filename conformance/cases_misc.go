package conformance

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Ensure meta.version, the ETag header and If-Match agree (RFC 7644 §3.14),
// when the ServiceProviderConfig says ETags are supported.
func testETag(e *env) {
	if !e.supported("etag") {
		e.t.Skipf("the ServiceProviderConfig says etag.supported is not true; versioning is optional (RFC 7644 §3.14)")
	}
	u := e.createUser(newUser(map[string]any{"displayName": "Versioned"}))
	p := userPath(str(u, "id"))
	current := func() string {
		r := e.do(http.MethodGet, p, nil)
		e.mustStatus(r, http.StatusOK)
		etag, version := r.Header.Get("ETag"), str(r.JSON, "meta", "version")
		if etag == "" || etag != version {
			e.t.Fatalf("want the ETag header equal to meta.version, got ETag %q and meta.version %q\n%s", etag, version, r)
		}
		return etag
	}
	v1 := current()
	stale := `W/"conformance-stale-` + randomHex(4) + `"`
	put := map[string]any{"schemas": []any{urnUser}, "userName": u["userName"], "displayName": "Stale Put", "active": true}
	e.wantError(e.do(http.MethodPut, p, put, "If-Match", stale), http.StatusPreconditionFailed, "")
	op := map[string]any{"op": "replace", "path": "displayName", "value": "Stale Patch"}
	e.wantError(e.do(http.MethodPatch, p, map[string]any{"schemas": []any{urnPatchOp}, "Operations": []any{op}}, "If-Match", stale), http.StatusPreconditionFailed, "")
	if got := str(e.get(p), "displayName"); got != "Versioned" {
		e.t.Errorf("requests refused with 412 changed displayName to %q", got)
	}
	if v := current(); v != v1 {
		e.t.Errorf("requests refused with 412 changed the version from %s to %s", v1, v)
	}

	put["displayName"] = "Fresh Put"
	r := e.do(http.MethodPut, p, put, "If-Match", v1)
	e.mustStatus(r, http.StatusOK)
	v2 := current()
	if v2 == v1 {
		e.t.Errorf("a PUT must change the version, still %s", v1)
	}
	if h := r.Header.Get("ETag"); h != "" && h != v2 {
		e.t.Errorf("the ETag of the PUT response %s differs from the version read afterwards %s", h, v2)
	}
	op["value"] = "Fresh Patch"
	r = e.do(http.MethodPatch, p, map[string]any{"schemas": []any{urnPatchOp}, "Operations": []any{op}}, "If-Match", v2)
	e.mustStatus(r, http.StatusOK, http.StatusNoContent)
	if v3 := current(); v3 == v2 {
		e.t.Errorf("a PATCH must change the version, still %s", v2)
	}
	if got := str(e.get(p), "displayName"); got != "Fresh Patch" {
		e.t.Errorf("after PUT and PATCH with the current If-Match: want displayName %q, got %q", "Fresh Patch", got)
	}
}

// Ensure sortBy/sortOrder order a listing (RFC 7644 §3.4.2.3), when the
// ServiceProviderConfig says sorting is supported.
func testSort(e *env) {
	if !e.supported("sort") {
		e.t.Skipf("the ServiceProviderConfig says sort.supported is not true; sorting is optional (RFC 7644 §3.4.2.3)")
	}
	p := unique("cs")
	var names []string
	for _, s := range []string{"b", "c", "a"} {
		n := p + "-" + s
		e.createUser(newUser(map[string]any{"userName": n}))
		names = append(names, n)
	}
	slices.Sort(names)
	filter := fmt.Sprintf("userName sw %q", p+"-")
	userNames := func(l *listResult) []string {
		var out []string
		for _, it := range l.items {
			out = append(out, str(it, "userName"))
		}
		return out
	}
	if got := userNames(e.list(filterPath("/Users", filter, "sortBy", "userName"))); !slices.Equal(got, names) {
		e.t.Errorf("sortBy=userName: want %v, got %v", names, got)
	}
	if got := userNames(e.list(filterPath("/Users", filter, "sortBy", "userName", "sortOrder", "descending"))); !slices.Equal(got, reversed(names)) {
		e.t.Errorf("sortBy=userName&sortOrder=descending: want %v, got %v", reversed(names), got)
	}
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// bigBody is a valid-looking User of a given size, streamed without holding
// it in memory.
type bigBody struct {
	io.Reader
	size int64
}

func (b *bigBody) Size() int64 { return b.size }

func newBigBody(size int64) *bigBody {
	head := fmt.Sprintf(`{"schemas":[%q],"userName":%q,"displayName":"`, urnUser, unique("conformance.big"))
	tail := `"}`
	n := size - int64(len(head)+len(tail))
	return &bigBody{
		Reader: io.MultiReader(strings.NewReader(head), io.LimitReader(repeatByte('x'), n), strings.NewReader(tail)),
		size:   size,
	}
}

type repeatByte byte

func (r repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// Ensure an oversized body is refused with 413 (RFC 7644 §3.12) and the
// server keeps working. The body is 20 MB, or 1 MiB past bulk.maxPayloadSize
// when that is larger (up to 64 MiB); a smaller bulk.maxPayloadSize is not
// used, as it limits /Bulk requests and a server may rightly accept larger
// PATCHes (Okta's replace of a big group's members).
func testBodyTooLarge(e *env) {
	size := int64(20 << 20)
	if spc, err := e.r.serviceProviderConfig(e); err == nil {
		if f, ok := lookupNumber(spc, "bulk", "maxPayloadSize"); ok && f > float64(size) && f < 64<<20 {
			size = int64(f) + 1<<20
		}
	}
	r, err := e.send(e.t.Context(), http.MethodPost, "/Users", newBigBody(size))
	switch {
	case err != nil:
		e.t.Errorf("POST /Users with a %d-byte body: the connection failed before any answer (%v); want 413 Payload Too Large", size, err)
	default:
		if r.Status == http.StatusCreated {
			e.cleanupDelete(userPath(str(r.JSON, "id")))
		}
		if r.Status != http.StatusRequestEntityTooLarge {
			e.t.Errorf("POST /Users with a %d-byte body: want 413\n%s", size, r)
		} else if len(bytes.TrimSpace(r.Body)) > 0 {
			e.wantError(r, http.StatusRequestEntityTooLarge, "")
		}
	}
	e.get("/ServiceProviderConfig")
	e.createUser(newUser(nil))
}

func (e *env) needOther() *env {
	e.t.Helper()
	if e.r.target.OtherToken == "" {
		e.t.Skipf("no token of a second IdP connection of the same tenant (set Target.OtherToken, or SCIM_CONFORMANCE_TOKEN2)")
	}
	return e.as(e.r.target.OtherToken)
}

// Ensure a user created by one connection cannot be modified or deleted with
// another connection's token (SPEC §2: 404 or 403).
func testOwnershipModify(e *env) {
	other := e.needOther()
	u := e.createUser(newUser(map[string]any{"displayName": "Owned"}))
	p := userPath(str(u, "id"))
	forbidden := []int{http.StatusForbidden, http.StatusNotFound}
	other.wantStatus(other.patch(p, map[string]any{"op": "replace", "path": "displayName", "value": "Stolen"}), forbidden...)
	other.wantStatus(other.patch(p, map[string]any{"op": "replace", "value": map[string]any{"active": false}}), forbidden...)
	put := map[string]any{"schemas": []any{urnUser}, "userName": u["userName"], "displayName": "Stolen", "active": true}
	other.wantStatus(other.do(http.MethodPut, p, put), forbidden...)
	other.wantStatus(other.do(http.MethodDelete, p, nil), forbidden...)
	m := e.get(p)
	if str(m, "displayName") != "Owned" {
		e.t.Errorf("another connection's requests changed the user: %s", brief(m))
	}
	if v, _ := lookup(m, "active"); v != true {
		e.t.Errorf("another connection's requests deactivated the user: %s", brief(m))
	}
}

// Ensure a userName is unique in the tenant across connections (SPEC §2: 409).
func testOwnershipUnique(e *env) {
	other := e.needOther()
	u := e.createUser(newUser(nil))
	r := other.do(http.MethodPost, "/Users", newUser(map[string]any{"userName": u["userName"]}))
	if r.Status == http.StatusCreated {
		other.cleanupDelete(userPath(str(r.JSON, "id")))
	}
	other.wantError(r, http.StatusConflict, "uniqueness")
}

func lookupNumber(x any, keys ...string) (float64, bool) {
	v, _ := lookup(x, keys...)
	f, ok := v.(float64)
	return f, ok
}
