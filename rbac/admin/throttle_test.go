package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Ensure failed password sign-ins are throttled per email and address, and per address:
// past the limit the answer is 429 with Retry-After even for the right password, the same
// email from another address still signs in (a guesser cannot lock the administrator out),
// a success clears the count, and the window's end lifts the throttle.
func TestSignInThrottle(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	email := e.admin.email
	signIn := func(addr, email, pw string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.RemoteAddr = addr + ":40000"
		basic(email, pw)(req)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		return w
	}
	token := func(addr, email, pw string) *httptest.ResponseRecorder {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"email": email, "password": pw})
		req := httptest.NewRequest("POST", "/api/v1/auth/token", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = addr + ":40000"
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		return w
	}
	rule := func(w *httptest.ResponseRecorder) string {
		var b errorBody
		_ = json.Unmarshal(w.Body.Bytes(), &b)
		return b.Error.Rule
	}

	// Concurrent guesses are counted before their passwords are checked: of 40 at once, no
	// more than the limit are answered 401.
	codes := make(chan int, 40)
	var wg sync.WaitGroup
	for range cap(codes) {
		wg.Go(func() { codes <- signIn("203.0.113.99", email, "Wrong-Pass-1").Code })
	}
	wg.Wait()
	close(codes)
	checked := 0
	for c := range codes {
		if c == http.StatusUnauthorized {
			checked++
		} else if c != http.StatusTooManyRequests {
			t.Errorf("a concurrent guess: %d", c)
		}
	}
	if checked > maxFailsPerEmail {
		t.Errorf("%d of 40 concurrent guesses were checked, want at most %d", checked, maxFailsPerEmail)
	}

	for i := range maxFailsPerEmail {
		if w := signIn("203.0.113.7", email, "Wrong-Pass-1"); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+1, w.Code, w.Body)
		}
	}
	for name, w := range map[string]*httptest.ResponseRecorder{
		"Basic":      signIn("203.0.113.7", email, testPassword),
		"token":      token("203.0.113.7", email, testPassword),
		"upper case": signIn("203.0.113.7", "ADMIN"+email[len("admin"):], testPassword),
	} {
		secs, _ := strconv.Atoi(w.Header().Get("Retry-After"))
		if w.Code != http.StatusTooManyRequests || rule(w) != ruleTooManyFailures || secs < 1 || secs > int(signInWindow/time.Second) {
			t.Errorf("%s after %d failures: %d %q Retry-After %q, want 429", name, maxFailsPerEmail, w.Code, rule(w), w.Header().Get("Retry-After"))
		}
	}
	if w := signIn("198.51.100.9", email, testPassword); w.Code != http.StatusOK {
		t.Errorf("the same email from another address: %d %s, want 200", w.Code, w.Body)
	}

	// A success clears the count: nine failures, a success, nine more are all answered.
	for range maxFailsPerEmail - 1 {
		signIn("192.0.2.1", email, "Wrong-Pass-1")
	}
	if w := signIn("192.0.2.1", email, testPassword); w.Code != http.StatusOK {
		t.Fatalf("a success before the limit: %d %s", w.Code, w.Body)
	}
	for i := range maxFailsPerEmail - 1 {
		if w := signIn("192.0.2.1", email, "Wrong-Pass-1"); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d after a success: %d", i+1, w.Code)
		}
	}

	// One address trying many emails meets the limit per address.
	for i := range maxFailsPerClient {
		signIn("192.0.2.50", "user"+strconv.Itoa(i)+"@acme.example", "Wrong-Pass-1")
	}
	if w := signIn("192.0.2.50", email, testPassword); w.Code != http.StatusTooManyRequests {
		t.Errorf("after %d failures of one address: %d, want 429", maxFailsPerClient, w.Code)
	}

	// The window's end lifts both.
	e.clock.Add(signInWindow)
	for _, addr := range []string{"203.0.113.7", "192.0.2.50"} {
		if w := signIn(addr, email, testPassword); w.Code != http.StatusOK {
			t.Errorf("%s after the window: %d %s, want 200", addr, w.Code, w.Body)
		}
	}
}

// Ensure the failures of one user count together however its email is spelt: sign-in finds
// "ſam@…" (a long s) as "sam@…", so the count must too.
func TestEmailKeyFolds(t *testing.T) {
	if a, b := emailKey("ſam@example.com", "192.0.2.1"), emailKey("SAM@Example.com", "192.0.2.1"); a != b {
		t.Errorf("emailKey differs by spelling: %s and %s", a, b)
	}
}

// Ensure an IPv6 client counts by its /64, and an IPv4-mapped one as IPv4.
func TestThrottleAddr(t *testing.T) {
	for in, want := range map[string]string{
		"2001:db8:1:2:aaaa::1": "2001:db8:1:2::/64",
		"2001:db8:1:2:bbbb::9": "2001:db8:1:2::/64",
		"::ffff:192.0.2.7":     "192.0.2.7",
		"192.0.2.7":            "192.0.2.7",
		"not an address":       "not an address",
	} {
		if got := throttleAddr(in); got != want {
			t.Errorf("throttleAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
