package main

import (
	"strings"
	"testing"
	"time"
)

// Ensure buffered log lines reach the output within a flush interval, and all of them on Close.
func TestLogWriter(t *testing.T) {
	var out syncBuffer
	lw := newLogWriter(&out)
	_, _ = lw.Write([]byte("one\n"))
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(out.String(), "one") {
		if time.Now().After(deadline) {
			t.Fatal("a buffered line was not written within 2 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, _ = lw.Write([]byte("two\n"))
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "one\ntwo\n" {
		t.Errorf("output = %q", got)
	}
}
