package secret

import (
	"errors"
	"strings"
	"testing"
)

// Ensure a sealed secret opens with its key only, unaltered, and never shows the plain text.
func TestBox(t *testing.T) {
	key, err := ParseKey(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := b.Seal("client-secret-1"), b.Seal("client-secret-1")
	if s1 == s2 || strings.Contains(s1, "client-secret") || !strings.HasPrefix(s1, sealedPrefix) {
		t.Errorf("sealed forms %q, %q: want distinct, prefixed, opaque", s1, s2)
	}
	if got, err := b.Open(s1); err != nil || got != "client-secret-1" {
		t.Errorf("Open = %q, %v", got, err)
	}
	other, _ := NewBox(make([]byte, KeySize))
	tampered := s1[:len(s1)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(s1, "AA")]
	for name, s := range map[string]string{"other key": s1, "tampered": tampered, "plain": "client-secret-1", "prefix only": sealedPrefix} {
		box := b
		if name == "other key" {
			box = other
		}
		if _, err := box.Open(s); !errors.Is(err, ErrSealed) {
			t.Errorf("%s: Open error = %v, want ErrSealed", name, err)
		}
	}
	for _, bad := range []string{"", "not base64!", "c2hvcnQ="} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if _, err := NewBox(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key was accepted")
	}
	// Both base64 alphabets, padded or not, read the same key.
	std := NewKey()
	k1, err1 := ParseKey(std)
	k2, err2 := ParseKey(strings.NewReplacer("+", "-", "/", "_").Replace(strings.TrimRight(std, "=")))
	if err1 != nil || err2 != nil || string(k1) != string(k2) {
		t.Errorf("ParseKey of one key in two alphabets: %v, %v", err1, err2)
	}
}
