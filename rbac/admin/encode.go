package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rollcall/rollcall/storage"
)

// decode reads a JSON request body into v: only JSON (a form post cannot reach a handler,
// which keeps cross-site forms out), at most MaxBodyBytes (413), one object, no unknown fields.
// Every failure is a 400 that says what is wrong and where.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return errorf(http.StatusUnsupportedMediaType, ruleMediaType,
				"the request body must be JSON (Content-Type: application/json), not %q", ct)
		}
	} else if r.ContentLength != 0 {
		return errorf(http.StatusUnsupportedMediaType, ruleMediaType, "the request body must be JSON: send Content-Type: application/json")
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		// A compressed body would be read as JSON and refused as malformed, or worse, not.
		return errorf(http.StatusUnsupportedMediaType, ruleMediaType, "the request body must not be encoded (Content-Encoding %q); send it as plain JSON", ce)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, ruleBodyTooLarge, "the request body is larger than %d bytes", mbe.Limit)
		}
		return invalid(ruleInvalidJSON, "the request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return invalid(ruleBodyRequired, "a JSON request body is required")
	}
	if key, dup := duplicateKey(body); dup {
		return invalid(ruleInvalidJSON, "the request body names %q twice (keys are matched ignoring case)", key)
	}
	if storage.HasNULEscape(body) {
		return invalid(ruleInvalidJSON, "the request body holds a NUL character (\\u0000), which no field may contain")
	}
	if !utf8.Valid(body) || storage.HasLoneSurrogateEscape(body) {
		// encoding/json would turn each bad byte, and each half of a surrogate pair on its own,
		// into U+FFFD: two different names could become one.
		return invalid(ruleInvalidJSON, "the request body is not valid UTF-8 (or escapes half a surrogate pair)")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid(ruleInvalidJSON, "the request body holds more than one JSON value")
	}
	return nil
}

// jsonError words a decoding error for the client: which field, what was expected. The
// standard library's messages name Go types, so they are rewritten rather than passed on.
func jsonError(err error) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return invalid(ruleInvalidJSON, "the request body is not valid JSON (at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalid(ruleInvalidJSON, "the request body must be a JSON object")
		}
		return invalid(ruleInvalidJSON, "field %q must be %s, not a JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid(ruleInvalidJSON, "the request body is truncated JSON")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return invalid(ruleUnknownField, "unknown field %s in the request body", name)
	}
	return invalid(ruleInvalidJSON, "the request body is not valid JSON for this request")
}

// jsonKind names a Go kind as the JSON value it decodes from.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	if strings.HasPrefix(kind, "int") || strings.HasPrefix(kind, "uint") || strings.HasPrefix(kind, "float") {
		return "a number"
	}
	return "another type"
}

// writeJSON writes v as the answer. Every answer may carry secrets or personal data, so none
// is cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only values of this package's own types reach here: a failure is a programming error.
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"status":500,"code":"internal","rule":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// checkText checks a free-text field (a description, an org group): valid UTF-8, no control
// characters other than new lines and tabs, at most max characters.
func checkText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return invalid(ruleInvalidParameter, "%s is not valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(ruleFieldTooLong, "%s is longer than %d characters (%d)", field, max, n)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return invalid(ruleInvalidParameter, "%s contains a control character (%U)", field, r)
		}
	}
	return nil
}

// required is the error for a missing field.
func required(field string) *Error {
	return invalid(ruleFieldRequired, "%s is required", field)
}

// quoteAll formats strings as a comma-separated list of quoted values, for messages.
func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// duplicateKey finds an object key that appears twice in one object of a JSON text, ignoring
// case as decoding matches keys (Unicode simple folding: "ſ" is "s", the Kelvin sign "k"): {"roles":[…],"Roles":[…]} would otherwise keep only the
// last, and the audit trail and the client would disagree on what was asked. A text that is
// not JSON has none (the decoder reports it).
func duplicateKey(body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next string token in this object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &frame{object: t == '{', keys: map[string]bool{}, key: t == '{'})
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.object && top.key {
				k := foldKey(t)
				if top.keys[k] {
					return t, true
				}
				top.keys[k] = true
				top.key = false
				continue
			}
		}
		if top != nil && top.object {
			top.key = true
		}
	}
}

// foldKey maps each rune of s to the least rune of its simple case folding orbit, so that
// foldKey(a) == foldKey(b) exactly when strings.EqualFold(a, b), the matching encoding/json
// applies to object keys.
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}
