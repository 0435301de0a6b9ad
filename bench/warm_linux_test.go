package main

import "testing"

// TestMemAvailable: warmMemory's bound is read from /proc/meminfo; were it
// 0, nothing would be warmed, silently.
func TestMemAvailable(t *testing.T) {
	if n := memAvailable(); n < 16<<20 {
		t.Fatalf("memAvailable() = %d, want the bytes of MemAvailable", n)
	}
}
