package main

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/rollcall/rollcall/storage/postgres/pgtest"
)

// proxy is a TCP proxy to PostgreSQL that a test can cut and restore, as a database that
// goes away and comes back.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every connection: the database is unreachable.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address.
func (p *proxy) restore() {
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
}

// Ensure a database that goes away gives 503 with Retry-After (never 500 and never a hang),
// /readyz says so, and service resumes by itself when it is back, with nothing lost.
func TestDatabaseOutage(t *testing.T) {
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, u.Host)
	u.Host = p.addr
	s := startServer(t, u.String())
	code, created, _ := scimDo(t, "POST", s.scimURL()+"/Users", s.token, userBody("before.outage@example.com"))
	if code != http.StatusCreated {
		t.Fatalf("create before the outage: %d", code)
	}
	id := created["id"].(string)

	p.cut()
	for _, path := range []string{"/Users/" + id, "/Users?filter=userName%20eq%20%22x%22"} {
		start := time.Now()
		code, body, h := scimDo(t, "GET", s.scimURL()+path, s.token, nil)
		if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || body["status"] != "503" {
			t.Errorf("GET %s during the outage: %d Retry-After %q %v", path, code, h.Get("Retry-After"), body)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("GET %s during the outage took %v", path, d)
		}
	}
	code, _, _ = scimDo(t, "POST", s.scimURL()+"/Users", s.token, userBody("during.outage@example.com"))
	if code != http.StatusServiceUnavailable {
		t.Errorf("POST during the outage: %d", code)
	}
	if resp, err := http.Get(s.baseURL + "/readyz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	p.restore()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body, _ := scimDo(t, "GET", s.scimURL()+"/Users/"+id, s.token, nil)
		if code == http.StatusOK {
			if body["userName"] != "before.outage@example.com" {
				t.Errorf("after the outage: %v", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not resume within 15s of the database returning: %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, _, _ := scimDo(t, "POST", s.scimURL()+"/Users", s.token, userBody("after.outage@example.com")); code != http.StatusCreated {
		t.Errorf("create after the outage: %d", code)
	}
}
