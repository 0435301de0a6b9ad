//go:build !linux

package main

// warmMemory does nothing here: see warm_linux.go.
func warmMemory(int64) {}
