package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// client speaks SCIM to the server under test over persistent HTTP/1.1 connections of its
// own: each request borrows one connection, writes the request in one write and reads the
// answer with net/http's parser. net/http's client hands every request to two goroutines of
// its transport, and on this machine the load generator shares the CPUs with the server and
// PostgreSQL it measures; the request on the wire is the same (see TestClientWire).
type client struct {
	base  *url.URL
	path  string // the base URL's path, e.g. /scim/v2
	host  string // host:port to dial
	token string

	timeout time.Duration
	idle    chan *wireConn
	hc      *http.Client // for /metrics, which may be on another host
}

// wireConn is one persistent connection.
type wireConn struct {
	net.Conn
	r         *bufio.Reader
	buf       bytes.Buffer // the request being written
	idleSince time.Time
}

// maxIdle is how long a connection may wait for its next request before it is closed rather
// than reused: shorter than servers' idle timeouts (Rollcall's is two minutes), so that a
// request is seldom sent on a connection the server is closing.
const maxIdle = 30 * time.Second

func newClient(base, token string, conns int, timeout time.Duration) *client {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Config.validate has checked the URL; a bad one fails at the first request.
		u = &url.URL{Scheme: "http", Host: "invalid.invalid"}
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	return &client{
		base: u, path: strings.TrimRight(u.Path, "/"), host: host, token: token, timeout: timeout,
		idle: make(chan *wireConn, conns+8),
		hc:   &http.Client{Transport: tr, Timeout: timeout},
	}
}

// conn returns an idle connection (reused), or dials one.
func (c *client) conn(ctx context.Context) (*wireConn, bool, error) {
	for idle := true; idle; {
		select {
		case wc := <-c.idle:
			if time.Since(wc.idleSince) < maxIdle {
				return wc, true, nil
			}
			_ = wc.Close()
		default:
			idle = false
		}
	}
	d := net.Dialer{Timeout: c.timeout}
	var nc net.Conn
	var err error
	if c.base.Scheme == "https" {
		td := tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: c.base.Hostname(), NextProtos: []string{"http/1.1"}}}
		nc, err = td.DialContext(ctx, "tcp", c.host)
	} else {
		nc, err = d.DialContext(ctx, "tcp", c.host)
	}
	if err != nil {
		return nil, false, err
	}
	return &wireConn{Conn: nc, r: bufio.NewReaderSize(nc, 16<<10)}, false, nil
}

// release keeps a connection for the next request, or closes it.
func (c *client) release(wc *wireConn, reuse bool) {
	if reuse {
		wc.idleSince = time.Now()
		select {
		case c.idle <- wc:
			return
		default:
		}
	}
	_ = wc.Close()
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

// anySuccess, as the status do expects, takes any 2xx answer: a user PATCH answers 200 with
// the user or 204 without it, by the kind of the token's connection (RFC 7644 §3.5.2 allows
// either).
const anySuccess = 0

// do sends a request with a JSON body (nil for none) and expects the status want (or
// anySuccess). When out is not nil the answer is decoded into it; otherwise it is read and
// dropped.
func (c *client) do(ctx context.Context, method, path string, body any, want int, out any) error {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		payload = b
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// A GET on a kept connection that the server closed before answering anything is sent
	// once more on a new connection. Nothing else is sent twice: the server may have acted
	// on a POST or PATCH it did not answer.
	for {
		wc, reused, err := c.conn(ctx)
		if err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() { _ = wc.SetDeadline(time.Unix(1, 0)) })
		resp, respBody, err := c.roundTrip(wc, method, path, payload)
		stop()
		if err != nil {
			_ = wc.Close()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if reused && method == http.MethodGet && errors.Is(err, errStale) {
				continue
			}
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		c.release(wc, !resp.Close)
		if ok := resp.StatusCode == want || (want == anySuccess && resp.StatusCode/100 == 2); !ok {
			b := respBody[:min(len(respBody), 512)]
			return &statusError{method: method, path: path, status: resp.StatusCode, body: strings.TrimSpace(string(b))}
		}
		if out != nil {
			if err := json.Unmarshal(respBody, out); err != nil {
				return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
			}
		}
		return nil
	}
}

// errStale is a connection that was closed before any of the answer arrived: on a kept
// connection, most likely one the server closed while it was idle.
var errStale = errors.New("connection closed before the answer")

// roundTrip writes one request on wc and reads its whole answer.
func (c *client) roundTrip(wc *wireConn, method, path string, payload []byte) (*http.Response, []byte, error) {
	if err := wc.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return nil, nil, err
	}
	b := &wc.buf
	b.Reset()
	b.WriteString(method)
	b.WriteByte(' ')
	b.WriteString(c.path)
	b.WriteString(path)
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(c.base.Host)
	b.WriteString("\r\nUser-Agent: rollcall-load\r\nAuthorization: Bearer ")
	b.WriteString(c.token)
	b.WriteString("\r\nAccept: application/scim+json\r\n")
	if payload != nil {
		b.WriteString("Content-Type: application/scim+json\r\nContent-Length: ")
		b.WriteString(strconv.Itoa(len(payload)))
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.Write(payload)
	if _, err := wc.Write(b.Bytes()); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errStale, err)
	}
	// The first byte tells a connection closed before answering (nothing arrives) from an
	// answer cut short, which ReadResponse reports alike.
	if _, err := wc.r.Peek(1); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return nil, nil, fmt.Errorf("%w: %v", errStale, err)
		}
		return nil, nil, err
	}
	resp, err := http.ReadResponse(wc.r, &http.Request{Method: method})
	if err != nil {
		return nil, nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, nil, err
	}
	return resp, respBody, nil
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
