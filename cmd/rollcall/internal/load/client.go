package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// client speaks SCIM to the server under test.
type client struct {
	base, token string
	hc          *http.Client
}

func newClient(base, token string, conns int, timeout time.Duration) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns + 8
	tr.MaxIdleConnsPerHost = conns + 8
	tr.DisableCompression = true
	return &client{base: base, token: token, hc: &http.Client{Transport: tr, Timeout: timeout}}
}

// statusError is an answer with a status other than the one expected.
type statusError struct {
	method, path string
	status       int
	body         string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: status %d, want success: %s", e.method, e.path, e.status, e.body)
}

// do sends a request with a JSON body (nil for none) and expects the status want. When out is
// not nil the answer is decoded into it; otherwise it is read and dropped, so that the
// connection is reused.
func (c *client) do(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/scim+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_, _ = io.Copy(io.Discard, resp.Body)
		return &statusError{method: method, path: path, status: resp.StatusCode, body: strings.TrimSpace(string(b))}
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// get fetches url (absolute) without SCIM headers, for /metrics.
func (c *client) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	return b, err
}

// listResponse is what the scenarios read of a ListResponse.
type listResponse struct {
	TotalResults int               `json:"totalResults"`
	ItemsPerPage int               `json:"itemsPerPage"`
	StartIndex   int               `json:"startIndex"`
	NextCursor   string            `json:"nextCursor"`
	Resources    []json.RawMessage `json:"Resources"`
}

// filterPath is the Okta lookup: GET /Users?filter=userName eq "…"&startIndex=1&count=100.
func filterPath(userName string) string {
	f := `userName eq "` + strings.ReplaceAll(userName, `"`, `\"`) + `"`
	return "/Users?filter=" + url.QueryEscape(f) + "&startIndex=1&count=100"
}

const (
	userURN  = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupURN = "urn:ietf:params:scim:schemas:core:2.0:Group"
	patchURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

func patch(ops ...patchOp) map[string]any {
	return map[string]any{"schemas": []string{patchURN}, "Operations": ops}
}

type memberValue struct {
	Value string `json:"value"`
}

func memberValues(ids []string) []memberValue {
	out := make([]memberValue, len(ids))
	for i, id := range ids {
		out[i] = memberValue{id}
	}
	return out
}
