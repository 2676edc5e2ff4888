package admin

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

// Paging of list endpoints: ?limit= (default 50, at most 200) and ?cursor=, the opaque
// next_cursor of the previous page. Cursors continue after the last item seen (keyset
// paging), so pages neither skip nor repeat items when others are created or deleted between
// requests.
const (
	defaultLimit = 50
	maxLimit     = 200
)

// listJSON is the answer of every list endpoint.
type listJSON[T any] struct {
	Items []T `json:"items"`
	// NextCursor continues the listing; absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
	// Total counts every match of the filters, where it is cheap to know.
	Total *int `json:"total,omitempty"`
}

// paging is a request's limit and decoded cursor.
type paging struct {
	limit  int
	cursor string // raw, "" for the first page
}

func pagingOf(r *http.Request) (paging, error) {
	return pagingWith(r, defaultLimit, maxLimit)
}

func pagingWith(r *http.Request, def, max int) (paging, error) {
	p := paging{limit: def, cursor: r.URL.Query().Get("cursor")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > max {
			return p, invalid(ruleInvalidParameter, "limit must be a whole number from 1 to %d, not %q", max, s)
		}
		p.limit = n
	}
	return p, nil
}

// cursor is what a cursor string encodes: which listing it belongs to, and where it stopped.
type cursor[T any] struct {
	Kind string `json:"k"`
	At   T      `json:"a"`
}

func encodeCursor[T any](kind string, at T) string {
	b, _ := json.Marshal(cursor[T]{Kind: kind, At: at}) // values of our own types always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor of the listing kind; ok is false on the first page.
func decodeCursor[T any](kind, s string) (at T, ok bool, err error) {
	if s == "" {
		return at, false, nil
	}
	var c cursor[T]
	b, derr := base64.RawURLEncoding.DecodeString(s)
	if derr != nil || json.Unmarshal(b, &c) != nil || c.Kind != kind {
		return at, false, invalid(ruleInvalidCursor, "cursor is not a cursor of this listing; pass next_cursor from the previous page unchanged")
	}
	return c.At, true, nil
}

// pageByKey pages a small listing held in memory (roles, permission sets, connections,
// tokens: tens per tenant, which storage returns whole) by a unique sort key.
func pageByKey[T any](kind string, items []T, key func(T) string, p paging) (listJSON[T], error) {
	after, ok, err := decodeCursor[string](kind, p.cursor)
	if err != nil {
		return listJSON[T]{}, err
	}
	slices.SortFunc(items, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	start := 0
	if ok {
		start, _ = slices.BinarySearchFunc(items, after, func(item T, k string) int {
			if key(item) <= k {
				return -1
			}
			return 1
		})
	}
	total := len(items)
	out := listJSON[T]{Items: items[start:min(start+p.limit, len(items))], Total: &total}
	if start+p.limit < len(items) {
		out.NextCursor = encodeCursor(kind, key(out.Items[len(out.Items)-1]))
	}
	if out.Items == nil {
		out.Items = []T{}
	}
	return out, nil
}
