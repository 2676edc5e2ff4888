// Package password hashes and checks the passwords of local users (argon2id, RFC 9106) and
// holds the password policy.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"
)

// Parameters of new hashes: OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane).
// Hashes record their parameters, so these can rise without invalidating stored ones.
const (
	memoryKiB = 19 * 1024
	passes    = 2
	lanes     = 1
	saltLen   = 16
	keyLen    = 32
	// MaxLength bounds passwords, so hashing cost cannot be driven up by a huge input.
	MaxLength = 256
)

// ErrPolicy is wrapped by CheckPolicy's errors.
var ErrPolicy = errors.New("password does not meet the policy")

// CheckPolicy enforces the password policy: at least 8 characters, with an upper-case
// letter, a lower-case letter, a digit and a special character. The error says what is
// missing.
func CheckPolicy(pw string) error {
	var upper, lower, digit, special bool
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r):
			special = true
		}
	}
	var missing []string
	if len([]rune(pw)) < 8 {
		missing = append(missing, "at least 8 characters")
	}
	if len(pw) > MaxLength {
		missing = append(missing, fmt.Sprintf("at most %d bytes", MaxLength))
	}
	for _, c := range []struct {
		ok   bool
		what string
	}{{upper, "an upper-case letter"}, {lower, "a lower-case letter"}, {digit, "a digit"}, {special, "a special character"}} {
		if !c.ok {
			missing = append(missing, c.what)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: it needs %s", ErrPolicy, strings.Join(missing, ", "))
	}
	return nil
}

// Hash returns the argon2id hash of pw in the PHC string format.
func Hash(pw string) (string, error) {
	if len(pw) > MaxLength {
		return "", fmt.Errorf("%w: at most %d bytes", ErrPolicy, MaxLength)
	}
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+)
	key := argon2.IDKey([]byte(pw), salt, passes, memoryKiB, lanes, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memoryKiB, passes, lanes,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify reports whether pw matches a hash made by Hash, in constant time.
func Verify(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("password: not an argon2id hash")
	}
	var version int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("password: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, errors.New("password: malformed argon2 parameters")
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, errors.New("password: malformed salt")
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errors.New("password: malformed key")
	}
	if len(pw) > MaxLength {
		return false, nil
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
