package password

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckPolicy(t *testing.T) {
	tests := []struct {
		pw      string
		missing string // "" means valid
	}{
		{"Str0ng!pass", ""},
		{"Aa1!aaaa", ""},
		{"Aa1!aaa", "at least 8 characters"},
		{"aaaaaa1!", "an upper-case letter"},
		{"AAAAAA1!", "a lower-case letter"},
		{"Aaaaaaa!", "a digit"},
		{"Aaaaaaa1", "a special character"},
		{"Ünïcødé1 ", ""},
		{strings.Repeat("Aa1!", 65), "at most 256 bytes"},
	}
	for _, tt := range tests {
		err := CheckPolicy(tt.pw)
		switch {
		case tt.missing == "" && err != nil:
			t.Errorf("CheckPolicy(%q) = %v, want nil", tt.pw, err)
		case tt.missing != "" && (err == nil || !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), tt.missing)):
			t.Errorf("CheckPolicy(%q) = %v, want an ErrPolicy naming %q", tt.pw, err, tt.missing)
		}
	}
}

func TestHashVerify(t *testing.T) {
	h, err := Hash("Str0ng!pass")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not in the expected PHC form", h)
	}
	h2, _ := Hash("Str0ng!pass")
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for pw, want := range map[string]bool{"Str0ng!pass": true, "str0ng!pass": false, "": false} {
		ok, err := Verify(h, pw)
		if err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	if _, err := Verify("$2a$10$bcrypt", "x"); err == nil {
		t.Error("Verify accepted a non-argon2id hash")
	}
}
