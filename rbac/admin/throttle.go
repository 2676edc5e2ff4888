package admin

import (
	"strings"
	"sync"
	"time"
)

// Failed password sign-ins are throttled per email and client address, and per client
// address alone: past the limit within the window, further attempts are refused with 429
// and Retry-After until the window that began with the first failure ends. Keying by email
// and address together means that someone guessing an administrator's password from
// elsewhere cannot lock the administrator out; the limit per address bounds how many emails
// one address can try. A successful sign-in clears its email and address's count.
//
// The counts are this process's: each replica throttles on its own, and a restart forgets.
const (
	signInWindow      = 15 * time.Minute
	maxFailsPerEmail  = 10  // per email and client address, per window
	maxFailsPerClient = 100 // per client address, per window
	// maxThrottleKeys bounds the memory the counts take. When it is reached, expired counts
	// are dropped; if none are, new keys are not counted (the address's own count still is).
	maxThrottleKeys = 100_000
)

type failCount struct {
	n     int
	start time.Time
}

// throttle counts failed sign-ins.
type throttle struct {
	mu    sync.Mutex
	fails map[string]*failCount
}

func newThrottle() *throttle { return &throttle{fails: make(map[string]*failCount)} }

func emailKey(email, addr string) string { return "e\x00" + strings.ToLower(email) + "\x00" + addr }
func clientKey(addr string) string       { return "c\x00" + addr }

// wait returns how long the sign-in of email from addr must wait before it is tried, or 0.
func (t *throttle) wait(email, addr string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for key, limit := range map[string]int{emailKey(email, addr): maxFailsPerEmail, clientKey(addr): maxFailsPerClient} {
		c := t.fails[key]
		if c == nil {
			continue
		}
		if left := c.start.Add(signInWindow).Sub(now); left <= 0 {
			delete(t.fails, key)
		} else if c.n >= limit {
			wait = max(wait, left)
		}
	}
	return wait
}

// failed counts a failed sign-in of email from addr.
func (t *throttle) failed(email, addr string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, key := range []string{emailKey(email, addr), clientKey(addr)} {
		c := t.fails[key]
		if c != nil && now.Sub(c.start) >= signInWindow {
			c = nil
		}
		if c == nil {
			if len(t.fails) >= maxThrottleKeys && !t.prune(now) && key != clientKey(addr) {
				continue
			}
			c = &failCount{start: now}
			t.fails[key] = c
		}
		c.n++
	}
}

// succeeded clears the count of email from addr.
func (t *throttle) succeeded(email, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, emailKey(email, addr))
}

// prune drops expired counts and reports whether any were.
func (t *throttle) prune(now time.Time) bool {
	n := len(t.fails)
	for key, c := range t.fails {
		if now.Sub(c.start) >= signInWindow {
			delete(t.fails, key)
		}
	}
	return len(t.fails) < n
}
