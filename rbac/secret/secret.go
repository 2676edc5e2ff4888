// Package secret makes the bearer secrets Rollcall hands out (SCIM tokens, API tokens,
// session ids) and the form they are stored in: only a hash is ever kept. Secrets Rollcall
// must read back (an OIDC client secret) are sealed with a Box instead.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// Prefixes say what a secret is for, so a leaked one is recognisable (and scannable).
const (
	SCIMPrefix    = "rcs_"
	APIPrefix     = "rca_"
	SessionPrefix = "rcb_"
)

// New returns a new secret with the prefix: 256 random bits, URL-safe.
func New(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Hash is the stored form of a secret. Secrets carry 256 random bits, so a fast hash is
// enough: there is nothing to brute-force, unlike a password.
func Hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// Hint is the part of a secret shown to administrators to tell secrets apart.
func Hint(s string) string {
	if len(s) < 12 {
		return ""
	}
	return s[len(s)-4:]
}
