package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a Box key: AES-256.
const KeySize = 32

// sealedPrefix marks a sealed secret and the format it is in.
const sealedPrefix = "rcx1:"

// ErrSealed is the error of Open for a text that is not a secret sealed by this key.
var ErrSealed = errors.New("secret: not a secret sealed with this key")

// Box seals the secrets Rollcall must read back rather than only check, such as the OIDC
// client secret it sends to an identity provider: AES-256-GCM under the operator's key, a
// random nonce per secret.
type Box struct{ aead cipher.AEAD }

// NewBox returns a Box for a KeySize-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: a key is %d bytes, not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// NewKey returns a new random key in the text form ParseKey reads.
func NewKey() string {
	k := make([]byte, KeySize)
	_, _ = rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

// ParseKey reads a key written as base64 (standard or URL-safe, padded or not).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("secret: the key is %d bytes, not %d", len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, errors.New("secret: the key is not base64")
}

// Seal returns the stored form of plain.
func (b *Box) Seal(plain string) string {
	nonce := make([]byte, b.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return sealedPrefix + base64.RawURLEncoding.EncodeToString(b.aead.Seal(nonce, nonce, []byte(plain), nil))
}

// Open returns the secret sealed in s, or ErrSealed when s was not sealed with this key or
// was altered.
func (b *Box) Open(s string) (string, error) {
	raw, ok := strings.CutPrefix(s, sealedPrefix)
	if !ok {
		return "", ErrSealed
	}
	ct, err := base64.RawURLEncoding.DecodeString(raw)
	n := b.aead.NonceSize()
	if err != nil || len(ct) < n {
		return "", ErrSealed
	}
	plain, err := b.aead.Open(nil, ct[:n], ct[n:], nil)
	if err != nil {
		return "", ErrSealed
	}
	return string(plain), nil
}
