package admin

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Failed password sign-ins are throttled per email and client address, and per client
// address alone: past the limit within the window, further attempts are refused with 429
// and Retry-After until the window that began with the first failure ends. Keying by email
// and address together means that someone guessing an administrator's password from
// elsewhere cannot lock the administrator out; the limit per address bounds how many emails
// one address can try. An IPv6 address counts by its /64. A successful sign-in clears its
// email and address's count.
//
// The counts are this process's: each replica throttles on its own, and a restart forgets.
const (
	signInWindow      = 15 * time.Minute
	maxFailsPerEmail  = 10  // per email and client address, per window
	maxFailsPerClient = 100 // per client address, per window
	// maxThrottleKeys bounds the memory the counts take. When it is reached, expired counts
	// are dropped; if none are, new keys are not counted: an attacker who holds that many
	// addresses is not slowed further, and nobody is refused for a full table.
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

func emailKey(email, addr string) string {
	return "e\x00" + strings.ToLower(email) + "\x00" + throttleAddr(addr)
}
func clientKey(addr string) string { return "c\x00" + throttleAddr(addr) }

// begin reserves a sign-in attempt of email from addr before its password is checked, so
// that concurrent attempts cannot all pass the limit before any of them has failed. It
// returns how long the attempt must wait when a limit is reached (nothing is reserved then);
// otherwise the attempt counts as a failure until end settles it.
func (t *throttle) begin(email, addr string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := [2]string{emailKey(email, addr), clientKey(addr)}
	limits := [2]int{maxFailsPerEmail, maxFailsPerClient}
	var wait time.Duration
	for i, key := range keys {
		c := t.fails[key]
		if c == nil {
			continue
		}
		if left := c.start.Add(signInWindow).Sub(now); left <= 0 {
			delete(t.fails, key)
		} else if c.n >= limits[i] {
			wait = max(wait, left)
		}
	}
	if wait > 0 {
		return wait
	}
	for _, key := range keys {
		c := t.fails[key]
		if c == nil {
			if len(t.fails) >= maxThrottleKeys && !t.prune(now) {
				continue
			}
			c = &failCount{start: now}
			t.fails[key] = c
		}
		c.n++
	}
	return 0
}

// end settles an attempt begun. A failed attempt stays counted. One that proved the
// password clears its email and address's count; one that proved nothing either way (the
// database failed) is taken back. Both take the attempt off the address's count.
func (t *throttle) end(email, addr string, failed, proved bool) {
	if failed {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ek, ck := emailKey(email, addr), clientKey(addr)
	if c := t.fails[ck]; c != nil && c.n > 0 {
		c.n--
	}
	if proved {
		delete(t.fails, ek)
	} else if c := t.fails[ek]; c != nil && c.n > 0 {
		c.n--
	}
}

// throttleAddr is the address an attempt is counted under: an IPv6 client by its /64, which
// one host commonly holds whole, and an IPv4-mapped one as IPv4.
func throttleAddr(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	if a = a.Unmap(); a.Is6() {
		return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
	}
	return a.String()
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
