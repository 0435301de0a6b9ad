package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// warmMemory makes the next n bytes the kernel hands out cheap to touch.
//
// In a VM whose free memory goes back to the host (free page reporting, a
// balloon), the first touch of a page the host took back costs a fault in
// the host: on the machine of BENCHMARKS.md writing 1 GiB into the page
// cache took 0.16 s right after another 1 GiB file was deleted and 2.2 s
// after 6 s of rest. Which of the two a run gets depends on what ran
// before it, and a cold install of a large file writes it twice (the
// cache blob and the vendor copy) where curl writes it once, so the
// comparison measured the host rather than either program. Populating n
// bytes of anonymous memory and unmapping it leaves that many freed pages,
// backed again, for the measured process to reuse; it is not timed. It
// never takes more than half of the memory available.
func warmMemory(n int64) {
	n = min(n, memAvailable()/2)
	if n <= 0 {
		return
	}
	b, err := unix.Mmap(-1, 0, int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return
	}
	defer unix.Munmap(b)
	if unix.Madvise(b, unix.MADV_POPULATE_WRITE) == nil {
		return
	}
	for i := 0; i < len(b); i += 4096 { // kernels before 5.14
		b[i] = 1
	}
}

// memAvailable returns MemAvailable of /proc/meminfo in bytes, or 0.
func memAvailable() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
