package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1GiB", 1 << 30, true},
		{"256KiB", 256 << 10, true},
		{"64M", 64 << 20, true},
		{"1.5 MiB", 3 << 19, true},
		{"1000", 1000, true},
		{"0", 0, true},
		{"12B", 12, true},
		{"", 0, false},
		{"-1K", 0, false},
		{"lots", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFormat(t *testing.T) {
	sizes := map[int64]string{0: "0 B", 1023: "1023 B", 256 << 10: "256 KiB", 1 << 30: "1 GiB", 12800 << 10: "12.5 MiB"}
	for n, want := range sizes {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
	durations := map[time.Duration]string{
		1500 * time.Microsecond: "1.50 ms", 23456 * time.Microsecond: "23.5 ms",
		301 * time.Millisecond: "301 ms", 2140 * time.Millisecond: "2.14 s",
	}
	for d, want := range durations {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
	if got := formatCounts(map[string]int{"download": 50, "list_files": 0, "list_packages": 2}); got != "download 50, list_packages 2" {
		t.Errorf("formatCounts = %q", got)
	}
	if got := formatCounts(nil); got != "none" {
		t.Errorf("formatCounts(nil) = %q", got)
	}
}

func TestReplaceGenerated(t *testing.T) {
	gen := beginMarker + "\nnew table\n" + endMarker + "\n"
	tests := []struct {
		name, doc, want string
		ok              bool
	}{
		{"between", "# B\n\n" + beginMarker + "\nold\n" + endMarker + "\n\n## History\nkept\n",
			"# B\n\n" + gen + "\n## History\nkept\n", true},
		{"at the end without newline", "intro\n" + beginMarker + "\nold\n" + endMarker, "intro\n" + gen, true},
		{"no markers", "# B\nhand-written\n", "", false},
		{"end before begin", endMarker + "\n" + beginMarker + "\n", "", false},
	}
	for _, tt := range tests {
		got, err := replaceGenerated([]byte(tt.doc), gen)
		if (err == nil) != tt.ok || string(got) != tt.want {
			t.Errorf("%s: replaceGenerated = %q, %v; want %q, ok %v", tt.name, got, err, tt.want, tt.ok)
		}
	}
}

func TestMicroTarget(t *testing.T) {
	out := `goos: linux
pkg: github.com/gpmtool/gpm/internal/fetch
cpu: AMD EPYC
BenchmarkHashFile-2         	      22	  52323081 ns/op	1282.59 MB/s
BenchmarkPlace-2            	      16	  62628281 ns/op	 209.29 MB/s
PASS
pkg: github.com/gpmtool/gpm/internal/lock
BenchmarkEncode-2   	    3892	    350711 ns/op
BenchmarkParse-2    	     124	   9316893 ns/op
pkg: github.com/gpmtool/gpm/internal/resolve
BenchmarkResolve1000Versions-2   	     856	   1168337 ns/op
`
	lines := microLines(out)
	if len(lines) != 8 || lines[0] != "pkg: github.com/gpmtool/gpm/internal/fetch" {
		t.Fatalf("microLines kept %q", lines)
	}
	b := &bench{c: config{micro: "file"}, micro: lines}
	b.evaluate()
	if len(b.targets) != 1 || b.targets[0].status != "PASS" {
		t.Errorf("all present: %+v", b.targets)
	}
	// A benchmark of the right name in the wrong package does not count.
	b = &bench{c: config{micro: "file"}, micro: microLines(strings.Replace(out, "internal/lock", "internal/other", 1))}
	b.evaluate()
	if len(b.targets) != 1 || b.targets[0].status != "FAIL" || !strings.Contains(b.targets[0].detail, "lock encode") {
		t.Errorf("lock benchmarks elsewhere: %+v", b.targets)
	}
	b = &bench{}
	b.evaluate()
	if len(b.targets) != 1 || b.targets[0].status != "SKIP" {
		t.Errorf("no -micro: %+v", b.targets)
	}
}

func TestCPUFloor(t *testing.T) {
	gpm := sample{wall: 1700 * time.Millisecond, cpu: 1800 * time.Millisecond, serverCPU: 600 * time.Millisecond}
	curl := sample{wall: 1200 * time.Millisecond, cpu: 1000 * time.Millisecond, serverCPU: 600 * time.Millisecond}
	got := cpuFloor(gpm, curl, 2)
	for _, want := range []string{"gpm 1.80 s and the registry 600 ms", "curl 1.00 s and the registry 600 ms", "(1.80 s + 600 ms) / 2 = 1.20 s, 1.00x curl's wall time"} {
		if !strings.Contains(got, want) {
			t.Errorf("cpuFloor = %q, want it to say %q", got, want)
		}
	}
	if got := cpuFloor(sample{wall: time.Second}, curl, 2); got != "CPU time not reported here" {
		t.Errorf("cpuFloor without CPU times = %q", got)
	}
}
