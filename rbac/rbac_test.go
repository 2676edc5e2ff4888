package rbac

import (
	"errors"
	"strings"
	"testing"
)

// checkRule fails t unless err is a *RuleError of rule whose message holds every one of
// want. An empty rule means err must be nil.
func checkRule(t *testing.T, call string, err error, rule string, want ...string) {
	t.Helper()
	if rule == "" {
		if err != nil {
			t.Errorf("%s: got %v, want nil", call, err)
		}
		return
	}
	var re *RuleError
	if !errors.As(err, &re) {
		t.Errorf("%s: got %v (%T), want a *RuleError of rule %q", call, err, err, rule)
		return
	}
	if re.Rule != rule {
		t.Errorf("%s: got rule %q (%v), want rule %q", call, re.Rule, re, rule)
	}
	for _, w := range want {
		if !strings.Contains(re.Message, w) {
			t.Errorf("%s: got message %q, want it to contain %q", call, re.Message, w)
		}
	}
}

func TestSource(t *testing.T) {
	tests := []struct {
		src  Source
		conn string
	}{
		{SourceManual, ""},
		{SourceIdP("entra"), "entra"},
		{SourceIdP("idp:x"), "idp:x"},
		{Source("other"), ""},
	}
	for _, tt := range tests {
		if got := tt.src.Connection(); got != tt.conn {
			t.Errorf("Source(%q).Connection() = %q, want %q", tt.src, got, tt.conn)
		}
	}
}
