package secret

import (
	"bytes"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	a, b := New(SCIMPrefix), New(SCIMPrefix)
	if a == b || !strings.HasPrefix(a, "rcs_") || len(a) != 4+43 {
		t.Errorf("New = %q, %q", a, b)
	}
	if bytes.Equal(Hash(a), Hash(b)) || !bytes.Equal(Hash(a), Hash(a)) || len(Hash(a)) != 32 {
		t.Error("Hash is not a function of the secret")
	}
	if Hint(a) != a[len(a)-4:] || Hint("short") != "" {
		t.Errorf("Hint(%q) = %q", a, Hint(a))
	}
}
