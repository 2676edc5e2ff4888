package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"time"

	"github.com/rollcall/rollcall/rbac"
	"github.com/rollcall/rollcall/storage"
)

// Password sign-ins are throttled per email and client address, and per client address
// alone: past the limit within the window, further attempts are refused with 429 and
// Retry-After until the window that began with the first attempt ends. Keying by email and
// address together means that someone guessing an administrator's password from elsewhere
// cannot lock the administrator out; the limit per address bounds how many emails one
// address can try. An IPv6 address counts by its /64.
//
// Each attempt is counted before its password is checked, so that concurrent guesses get no
// more checks than sequential ones, and settled after: a right password clears its email and
// address's count, and an attempt that proved nothing (the database failed) is taken back.
// The counts are in the database, shared by every replica (storage.Tx.CountAttempt).
const (
	signInWindow      = 15 * time.Minute
	maxFailsPerEmail  = 10  // per email and client address, per window
	maxFailsPerClient = 100 // per client address, per window
)

// emailKey names the email by a digest: keys are bounded in length whatever a client sends,
// and the table of counts holds no addresses of mail. The email is folded as sign-in looks
// it up (rbac.Fold), so that each spelling a lookup takes for one user counts as one.
func emailKey(email, addr string) string {
	sum := sha256.Sum256([]byte(rbac.Fold(email)))
	return "signin:e:" + hex.EncodeToString(sum[:16]) + ":" + throttleAddr(addr)
}
func clientKey(addr string) string { return "signin:c:" + throttleAddr(addr) }

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

// beginSignIn counts a sign-in attempt of email from addr and returns how long it must wait
// (0: go ahead).
func (h *Handler) beginSignIn(ctx context.Context, email, addr string) (time.Duration, error) {
	keys := []storage.AttemptLimit{{Key: emailKey(email, addr), Limit: maxFailsPerEmail}, {Key: clientKey(addr), Limit: maxFailsPerClient}}
	var wait time.Duration
	err := h.store.Tx(ctx, func(tx storage.Tx) error {
		var err error
		wait, err = tx.CountAttempt(ctx, keys, signInWindow, h.now())
		return err
	})
	return wait, err
}

// endSignIn settles an attempt begun: a failed one stays counted; one that proved the
// password clears its email and address's count; one that proved nothing either way is
// taken back. Both take the attempt off the address's count.
func (h *Handler) endSignIn(ctx context.Context, email, addr string, failed, proved bool) {
	if failed {
		return
	}
	uncount, clear := []string{clientKey(addr)}, []string(nil)
	if proved {
		clear = []string{emailKey(email, addr)}
	} else {
		uncount = append(uncount, emailKey(email, addr))
	}
	if err := h.store.Tx(ctx, func(tx storage.Tx) error { return tx.UncountAttempt(ctx, uncount, clear) }); err != nil {
		h.log.WarnContext(ctx, "settle a sign-in attempt", "err", err)
	}
}
