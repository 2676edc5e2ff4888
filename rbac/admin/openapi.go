package admin

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
)

// openAPIJSON is the API's OpenAPI 3.0 document. It is written by hand, not generated from
// routeTable: generated, a test comparing it with the router would compare the table with
// itself; written, the test catches a route added without its documentation and a document
// that promises a route that is not there (and a permission that differs).
//
//go:embed openapi.json
var openAPIJSON []byte

// compactOpenAPI checks the embedded document parses, and compacts it for serving.
func compactOpenAPI() ([]byte, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, openAPIJSON); err != nil {
		return nil, fmt.Errorf("admin: openapi.json: %w", err)
	}
	return b.Bytes(), nil
}

func (h *Handler) handleOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(h.openAPI)
	return nil
}
