package scim

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/elimity-com/scim"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/scim/expr"
	"github.com/rollcall/rollcall/storage"
)

// listParams are the query parameters of a listing (RFC 7644 §3.4.2, RFC 9865), from a GET
// query or a POST …/.search body.
type listParams struct {
	filter       string
	attributes   []string
	excluded     []string
	sortBy       string
	sortOrder    string
	startIndex   string
	count        string
	cursor       string
	cursorGiven  bool
	parsedFilter filter.Expression // set when the library already parsed the filter
}

func queryParams(r *http.Request) listParams {
	q := r.URL.Query()
	lp := listParams{
		filter: q.Get("filter"), attributes: splitAttributeList(q.Get("attributes")), excluded: splitAttributeList(q.Get("excludedAttributes")),
		sortBy: q.Get("sortBy"), sortOrder: q.Get("sortOrder"), startIndex: q.Get("startIndex"), count: q.Get("count"),
	}
	lp.cursor, lp.cursorGiven = q.Get("cursor"), q.Has("cursor")
	return lp
}

// searchParams reads a SearchRequest body (RFC 7644 §3.4.3).
func searchParams(body []byte) (listParams, *Error) {
	var sr struct {
		Schemas            []string `json:"schemas"`
		Attributes         []string `json:"attributes"`
		ExcludedAttributes []string `json:"excludedAttributes"`
		Filter             string   `json:"filter"`
		SortBy             string   `json:"sortBy"`
		SortOrder          string   `json:"sortOrder"`
		StartIndex         *int     `json:"startIndex"`
		Count              *int     `json:"count"`
		Cursor             *string  `json:"cursor"`
	}
	if err := json.Unmarshal(body, &sr); err != nil {
		return listParams{}, badRequest(typeInvalidSyntax, "The search request is not a valid SearchRequest object.")
	}
	if len(sr.Schemas) != 1 || !strings.EqualFold(sr.Schemas[0], searchURN) {
		return listParams{}, badRequest(typeInvalidValue, "schemas must be [%q].", searchURN)
	}
	lp := listParams{filter: sr.Filter, attributes: sr.Attributes, excluded: sr.ExcludedAttributes,
		sortBy: sr.SortBy, sortOrder: sr.SortOrder}
	if sr.StartIndex != nil {
		lp.startIndex = strconv.Itoa(*sr.StartIndex)
	}
	if sr.Count != nil {
		lp.count = strconv.Itoa(*sr.Count)
	}
	if sr.Cursor != nil {
		lp.cursor, lp.cursorGiven = *sr.Cursor, true
	}
	return lp, nil
}

// listing is a listing's parsed request.
type listing struct {
	rs         *resourceSchema
	q          storage.Query
	proj       projection
	startIndex int
	cursorMode bool
	queryHash  string
}

func resolverFor(rs *resourceSchema) expr.Resolver {
	return expr.Resolver{Core: rs.core, Extensions: rs.extensions, Fold: rbac.Fold}
}

// parseFilter parses, validates and translates a filter.
func parseFilter(rs *resourceSchema, s string) (storage.Filter, *Error) {
	e, err := expr.ParseFilter(s)
	if err != nil {
		var se *expr.SyntaxError
		if errors.As(err, &se) {
			return nil, invalidFilter("%s", se.Error())
		}
		return nil, invalidFilter("The filter is too long or too complex (at most %d bytes, %d comparisons, nesting %d).",
			expr.MaxFilterLength, expr.MaxTerms, expr.MaxDepth)
	}
	return checkedFilter(rs, e)
}

// checkedFilter validates a parsed filter against the schema and translates it.
func checkedFilter(rs *resourceSchema, e filter.Expression) (storage.Filter, *Error) {
	e = stringifyNumbers(rs, e)
	if err := resolverFor(rs).Validate(e); err != nil {
		return nil, invalidFilter("%s", err.Error())
	}
	return translatorFor(rs).filter(e)
}

// stringifyNumbers turns unquoted numbers compared with string attributes into strings:
// IdP examples send externalId eq 12345 meaning the string "12345".
func stringifyNumbers(rs *resourceSchema, e filter.Expression) filter.Expression {
	var fix func(e filter.Expression, outer *attr) filter.Expression
	fix = func(e filter.Expression, outer *attr) filter.Expression {
		switch x := e.(type) {
		case *filter.LogicalExpression:
			return &filter.LogicalExpression{Left: fix(x.Left, outer), Right: fix(x.Right, outer), Operator: x.Operator}
		case *filter.NotExpression:
			return &filter.NotExpression{Expression: fix(x.Expression, outer)}
		case *filter.ValuePath:
			a, _ := rs.lookup(filter.AttributePath{URIPrefix: x.AttributePath.URIPrefix, AttributeName: x.AttributePath.AttributeName})
			return &filter.ValuePath{AttributePath: x.AttributePath, ValueFilter: fix(x.ValueFilter, a)}
		case *filter.AttributeExpression:
			var a *attr
			var ok bool
			if outer != nil {
				a, ok = outer.sub(x.AttributePath.AttributeName)
			} else {
				a, ok = rs.lookup(x.AttributePath)
				if ok && a.complex() {
					a, ok = a.sub("value")
				}
			}
			if !ok || (a.typ() != "string" && a.typ() != "reference") {
				return x
			}
			var s string
			switch v := x.CompareValue.(type) {
			case int:
				s = strconv.Itoa(v)
			case float64:
				s = strconv.FormatFloat(v, 'f', -1, 64)
			case json.Number:
				s = v.String()
			default:
				return x
			}
			return &filter.AttributeExpression{AttributePath: x.AttributePath, Operator: x.Operator, CompareValue: s}
		}
		return e
	}
	return fix(e, nil)
}

// parseListing validates a listing request.
func (h *Handler) parseListing(rs *resourceSchema, lp listParams) (*listing, *Error) {
	l := &listing{rs: rs, startIndex: 1}
	var err *Error
	if l.proj, err = projectionOf(rs, lp.attributes, lp.excluded); err != nil {
		return nil, err
	}
	var f storage.Filter
	switch {
	case lp.parsedFilter != nil:
		f, err = checkedFilter(rs, lp.parsedFilter)
	case strings.TrimSpace(lp.filter) != "":
		f, err = parseFilter(rs, lp.filter)
	}
	if err != nil {
		return nil, err
	}
	if rs == groupsSchema {
		// Groups seen only in sign-in claims are not SCIM resources.
		scimOnly := storage.Compare{Field: storage.FieldSCIM, Op: storage.OpEq, Value: true}
		if f == nil {
			f = scimOnly
		} else {
			f = storage.And{Left: scimOnly, Right: f}
		}
	}
	l.q.Filter = f
	if lp.sortBy != "" {
		field, fold, ok := sortField(rs, lp.sortBy)
		if !ok {
			return nil, badRequest(typeInvalidValue, "Cannot sort by %q: sortBy must name a singular attribute, "+
				"or a multi-valued one with a value (emails, emails.value).", lp.sortBy)
		}
		l.q.SortBy, l.q.SortFold = field, fold
	}
	switch strings.ToLower(lp.sortOrder) {
	case "", "ascending":
	case "descending":
		l.q.Descending = true
	default:
		return nil, badRequest(typeInvalidValue, "sortOrder must be ascending or descending.")
	}
	l.q.Limit = h.cfg.PageSize
	if lp.count != "" {
		n, cerr := pagingInt(lp.count)
		if cerr != nil {
			return nil, badRequest(typeInvalidValue, "count must be an integer.")
		}
		l.q.Limit = min(max(n, 0), h.cfg.MaxPageSize)
	}
	if lp.startIndex != "" {
		n, serr := pagingInt(lp.startIndex)
		if serr != nil {
			return nil, badRequest(typeInvalidValue, "startIndex must be an integer.")
		}
		l.startIndex = max(n, 1)
	}
	l.queryHash = queryHash(rs, lp)
	if lp.cursorGiven {
		if l.startIndex > 1 {
			return nil, badRequest(typeInvalidValue, "Use either startIndex or cursor, not both.")
		}
		l.cursorMode = true
		if lp.cursor != "" {
			pos, cerr := decodeCursor(lp.cursor, l.queryHash)
			if cerr != nil {
				return nil, cerr
			}
			l.q.After = pos
		}
	} else {
		l.q.Offset = l.startIndex - 1
	}
	// Counting all matches costs a scan of them. Index paging needs the count on every page;
	// a cursor listing gives it on its first page only (RFC 9865 lets later pages leave
	// totalResults out), so paging through a million users does not count them a thousand times.
	l.q.Count = !l.cursorMode || l.q.After == nil
	return l, nil
}

// sortField is the stored field a sortBy names, and whether it sorts ignoring case. A
// multi-valued attribute of a user, or its value, sorts by the primary value, else the first
// (RFC 7644 section 3.4.2.3).
func sortField(rs *resourceSchema, name string) (storage.Field, bool, bool) {
	a, ok := rs.lookupKey(name)
	if !ok {
		return "", false, false
	}
	if f, ok := translatorFor(rs).fm.fields[a.path()]; ok {
		return f, !a.def.CaseExact(), true
	}
	set := a
	if a.parent != nil && strings.EqualFold(a.key, "value") {
		set = a.parent
	}
	if rs != usersSchema || set.parent != nil || !set.multiValued() {
		return "", false, false
	}
	s, ok := translatorFor(rs).fm.sets[strings.ToLower(set.key)]
	value, hasValue := set.sub("value")
	if !ok || !hasValue || !slices.Contains(storage.ValueSets, s) {
		return "", false, false
	}
	return storage.PrimaryValue(s), !value.def.CaseExact(), true
}

// pagingInt reads count or startIndex. An integer too large for an int is still one: it
// saturates (a count is then capped at the page size, a startIndex is past the end).
func pagingInt(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if errors.Is(err, strconv.ErrRange) {
		return n, nil // strconv gives the largest magnitude of the value's sign
	}
	return n, err
}

// queryHash ties a cursor to the query it pages through.
func queryHash(rs *resourceSchema, lp listParams) string {
	sum := sha256.Sum256([]byte(rs.name + "\x00" + lp.filter + "\x00" + strings.ToLower(lp.sortBy) + "\x00" + strings.ToLower(lp.sortOrder)))
	return base64.RawURLEncoding.EncodeToString(sum[:6])
}

type cursor struct {
	Pos  storage.Position `json:"p"`
	Hash string           `json:"h"`
}

func encodeCursor(pos *storage.Position, hash string) string {
	b, _ := json.Marshal(cursor{Pos: *pos, Hash: hash})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, hash string) (*storage.Position, *Error) {
	invalid := badRequest(typeInvalidCursor, "The cursor is not one this server returned for this query; start again with an empty cursor.")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 4096 {
		return nil, invalid
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Hash != hash || c.Pos.Seq <= 0 || !storage.ValidText(c.Pos.String) {
		return nil, invalid
	}
	return &c.Pos, nil
}

// listResponse is the body of a listing. Pointers leave out what the paging method omits.
type listResponse struct {
	Schemas      []string         `json:"schemas"`
	TotalResults *int             `json:"totalResults,omitempty"`
	ItemsPerPage int              `json:"itemsPerPage"`
	StartIndex   *int             `json:"startIndex,omitempty"`
	NextCursor   string           `json:"nextCursor,omitempty"`
	Resources    []map[string]any `json:"Resources"`
}

// run executes a listing and renders its resources. With streamMembers, groups are rendered
// without their members, which writeListStreaming reads as it writes them.
func (h *Handler) run(r *http.Request, l *listing, streamMembers bool) (listResponse, []stored, error) {
	ctx, p := r.Context(), principalFrom(r.Context())
	resp := listResponse{Schemas: []string{listURN}, Resources: []map[string]any{}}
	var items []stored
	var next *storage.Position
	if l.rs == usersSchema {
		q := l.q
		q.WithGroups = l.proj.wants("groups")
		page, err := h.store.Users(ctx, p.scope(), q)
		if err != nil {
			return resp, nil, err
		}
		resp.TotalResults, next = total(page.Total), page.Next
		for _, u := range page.Items {
			s := userStored(u)
			items = append(items, s)
			resp.Resources = append(resp.Resources, h.render(usersSchema, s, h.userAttrs(u, u.Groups, true), l.proj))
		}
	} else {
		page, err := h.store.Groups(ctx, p.scope(), l.q)
		if err != nil {
			return resp, nil, err
		}
		resp.TotalResults, next = total(page.Total), page.Next
		for _, g := range page.Items {
			attrs := groupBase(g)
			if !streamMembers {
				if attrs, err = h.groupAttrs(r, g, l.proj); err != nil {
					return resp, nil, err
				}
			}
			s := groupStored(g)
			items = append(items, s)
			resp.Resources = append(resp.Resources, h.render(groupsSchema, s, attrs, l.proj))
		}
	}
	resp.ItemsPerPage = len(resp.Resources)
	if l.cursorMode {
		if next != nil {
			resp.NextCursor = encodeCursor(next, l.queryHash)
		}
	} else {
		resp.StartIndex = &l.startIndex
	}
	return resp, items, nil
}

// total is a page's totalResults: absent when the page did not count.
func total(n int) *int {
	if n < 0 {
		return nil
	}
	return &n
}

// handleList is GET /Users and GET /Groups.
func (h *Handler) handleList(rs *resourceSchema) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.list(w, r, rs, queryParams(r))
	}
}

// handleSearch is POST /Users/.search and POST /Groups/.search.
func (h *Handler) handleSearch(rs *resourceSchema) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		lp, serr := searchParams(body)
		if serr != nil {
			h.writeError(w, r, serr)
			return
		}
		h.list(w, r, rs, lp)
	}
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, rs *resourceSchema, lp listParams) {
	l, perr := h.parseListing(rs, lp)
	if perr != nil {
		h.writeError(w, r, perr)
		return
	}
	streamMembers := rs == groupsSchema && l.proj.wants("members")
	resp, items, err := h.run(r, l, streamMembers)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if !streamMembers {
		writeJSON(w, http.StatusOK, resp)
		return
	}
	out := newStreamedResponse(w, http.StatusOK, func(http.Header) {})
	out.done(h, r, h.writeListStreaming(r.Context(), out.Writer, resp, items, l.proj))
}

// writeListStreaming writes a listing of groups with each group's members streamed
// (writeGroupStreaming): a page of large groups is never held in memory.
func (h *Handler) writeListStreaming(ctx context.Context, bw *bufio.Writer, resp listResponse, items []stored, proj projection) error {
	res := resp.Resources
	resp.Resources = []map[string]any{}
	head, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	_, _ = bw.Write(head[:len(head)-len("]}")]) // Resources is the last field: up to its "["
	for i, s := range items {
		if i > 0 {
			_ = bw.WriteByte(',')
		}
		if err := h.writeGroupStreaming(ctx, bw, s.id, res[i], proj); err != nil {
			return err
		}
	}
	_, err = bw.WriteString("]}")
	return err
}

// libraryList serves the library's GetAll (its own GET routes) with the same listing.
func (h *Handler) libraryList(r *http.Request, rs *resourceSchema, params scim.ListRequestParams) (scim.Page, error) {
	lp := queryParams(r)
	lp.startIndex, lp.count = strconv.Itoa(params.StartIndex), strconv.Itoa(params.Count)
	if params.FilterValidator != nil {
		lp.parsedFilter = params.FilterValidator.GetFilter()
	}
	l, perr := h.parseListing(rs, lp)
	if perr != nil {
		return scim.Page{}, libraryError(r, perr)
	}
	resp, items, err := h.run(r, l, false)
	if err != nil {
		return scim.Page{}, libraryError(r, err)
	}
	page := scim.Page{TotalResults: *resp.TotalResults, Resources: make([]scim.Resource, len(items))}
	for i, s := range items {
		attrs := resp.Resources[i]
		for _, k := range []string{"id", "externalId", "schemas", "meta"} {
			delete(attrs, k)
		}
		page.Resources[i] = libraryResource(s, attrs)
	}
	return page, nil
}
