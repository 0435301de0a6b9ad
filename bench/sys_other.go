//go:build !unix

package main

import (
	"os"
	"time"
)

// maxRSS returns 0: this system does not report a process's peak RSS.
func maxRSS(*os.ProcessState) int64 { return 0 }

// syncDisks does nothing on this system.
func syncDisks() {}

// freeSpace returns -1: unknown on this system.
func freeSpace(string) int64 { return -1 }

// selfCPU returns 0: unknown on this system.
func selfCPU() time.Duration { return 0 }
