// Command bench is gpm's end-to-end benchmark, run by `make bench`.
//
// It starts the GitLab-compatible registry of internal/server on loopback
// with an injected latency on every API request, drives a gpm binary built
// from this checkout through the workloads below, next to two baselines (the
// serial curl loop of GitLab's documentation, and sha256sum) and a computed
// lower bound, prints one table, checks the performance targets (one PASS
// or FAIL line each) and rewrites the generated part of BENCHMARKS.md.
//
// Workloads (sizes and counts are flags):
//
//   - 50 packages of one 256 KiB file each, ten versions per package;
//   - 100 packages of one small file, for the warm no-op install;
//   - 1,000 packages of one 1 KiB file each, three versions per package,
//     and one package of 10,000 files of 1 KiB (100 pages of files to
//     list): the scale rows, run -scalereps times (default once);
//   - one package of one 1 GiB file (installed with a cold cache, and from
//     a warm cache, which rehashes the blob as it copies it);
//   - publishing 10 files of 256 KiB, and one of 1 GiB.
//
// The lower bound of an operation that needs R requests with J of them in
// flight at once, moving B bytes, is R/J x latency + B / loopback bandwidth,
// where the loopback bandwidth is measured in the same run (one TCP stream
// over 127.0.0.1). An install that resolves has J slots for listings and J
// for downloads, so its bound takes the larger of the listings and the
// downloads the registry counted (how many listings it takes is gpm's
// choice) as R.
//
// Usage:
//
//	go run ./bench [-out BENCHMARKS.md] [-micro FILE] [-gpm PATH] [flags]
//
// -micro names a file holding the output of `go test -bench` from the same
// run; its results go into BENCHMARKS.md and the presence of the required
// micro-benchmarks is checked. The command exits 1 when a target fails.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// config is the command line.
type config struct {
	gpm      string
	gpmGiven bool // -gpm named the binary
	out      string
	micro    string
	tmp      string
	keep     bool
	latency  time.Duration
	jobs     int
	reps     int
	packages int
	versions int
	size     int64
	noop     int
	big      int64
	publish  int

	many         int
	manyVersions int
	files        int
	scaleReps    int
}

func main() {
	var c config
	sz := func(p *int64, name string, def int64, usage string) {
		*p = def
		flag.Func(name, usage+" (default "+formatSize(def)+")", func(s string) error {
			n, err := parseSize(s)
			*p = n
			return err
		})
	}
	flag.StringVar(&c.gpm, "gpm", "", "gpm binary to measure (default: build ./cmd/gpm into the temporary directory)")
	flag.StringVar(&c.out, "out", "BENCHMARKS.md", "document whose generated part is rewritten (\"\" to write none)")
	flag.StringVar(&c.micro, "micro", "", "file with the output of `go test -bench` from the same run, to include and check")
	flag.StringVar(&c.tmp, "tmp", "", "parent of the temporary directory (default: the system's; needs about 4x -big of free space)")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory")
	flag.DurationVar(&c.latency, "latency", 25*time.Millisecond, "latency injected before every API request")
	flag.IntVar(&c.jobs, "jobs", 8, "gpm's --jobs, also used by the lower bound")
	flag.IntVar(&c.reps, "reps", 7, "repetitions of each small operation; the median is reported")
	flag.IntVar(&c.packages, "packages", 50, "packages of the install workload")
	flag.IntVar(&c.versions, "versions", 10, "versions of each package of the install workload (at most 100: one page)")
	sz(&c.size, "size", 256<<10, "file size of the install and publish workloads")
	flag.IntVar(&c.noop, "noop", 100, "packages of the warm no-op install")
	sz(&c.big, "big", 1<<30, "size of the large file (0 skips the large-file rows)")
	flag.IntVar(&c.publish, "publish", 10, "files of the publish workload")
	flag.IntVar(&c.many, "many", 1000, "packages of 1 KiB of the many-packages workload (0 skips it)")
	flag.IntVar(&c.manyVersions, "manyversions", 3, "versions of each package of the many-packages workload (at most 100: one page)")
	flag.IntVar(&c.files, "files", 10000, "files of 1 KiB of the one package of the many-files workload (0 skips it)")
	flag.IntVar(&c.scaleReps, "scalereps", 1, "repetitions of the cold installs of the many-packages and many-files workloads (the no-op install and verify run at least 5 and 3 times)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process (the registry, mostly) to FILE")
	runnerMode := flag.Bool("runner", false, "internal: run the processes the benchmark asks for on stdin (see runner.go)")
	flag.Parse()
	if *runnerMode {
		if err := serveRunner(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "bench: runner: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: -cpuprofile: %v\n", err)
			os.Exit(2)
		}
	}
	failed, err := run(context.Background(), c, os.Stdout, os.Stderr)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	if failed {
		os.Exit(1)
	}
}

// run runs the whole benchmark and reports whether a target failed.
func run(ctx context.Context, c config, stdout, stderr io.Writer) (failed bool, err error) {
	if c.reps < 1 || c.jobs < 1 || c.packages < 1 || c.noop < 1 || c.publish < 1 || c.size < 1 {
		return false, errors.New("-reps, -jobs, -packages, -noop, -publish and -size must be positive")
	}
	if c.versions < 1 || c.versions > 100 || c.manyVersions < 1 || c.manyVersions > 100 {
		return false, errors.New("-versions and -manyversions must be between 1 and 100")
	}
	if c.scaleReps < 1 || c.many < 0 || c.files < 0 {
		return false, errors.New("-scalereps must be positive, -many and -files not negative")
	}
	tmp, err := os.MkdirTemp(c.tmp, "gpm-bench-")
	if err != nil {
		return false, err
	}
	if c.keep {
		fmt.Fprintf(stderr, "bench: keeping %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	c.gpmGiven = c.gpm != ""
	if c.gpm == "" {
		c.gpm = filepath.Join(tmp, "gpm")
		// Built as the release archives and the image build it
		// (scripts/release): what is measured is what users run. A
		// static binary also starts about 3 ms sooner than one linked
		// against libc for cgo's resolver.
		fmt.Fprintf(stderr, "bench: CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags '-s -w' -o %s ./cmd/gpm\n", c.gpm)
		build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", c.gpm, "github.com/gpmtool/gpm/cmd/gpm")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = stderr, stderr
		if err := build.Run(); err != nil {
			return false, fmt.Errorf("building gpm: %w", err)
		}
	} else if c.gpm, err = filepath.Abs(c.gpm); err != nil {
		return false, err
	}
	for _, tool := range []string{"curl", "sha256sum", "cp"} {
		if _, err := exec.LookPath(tool); err != nil {
			return false, fmt.Errorf("%s is needed for the baseline: %w (install it, e.g. apt-get install -y curl)", tool, err)
		}
	}

	b, err := newBench(ctx, c, tmp, stderr)
	if err != nil {
		return false, err
	}
	defer b.close()
	if err := b.runAll(); err != nil {
		return false, err
	}
	b.evaluate()

	doc := b.document()
	fmt.Fprint(stdout, b.table())
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, b.targetLines())
	if c.out != "" {
		if err := writeDoc(c.out, doc); err != nil {
			return false, err
		}
		fmt.Fprintf(stderr, "bench: wrote %s\n", c.out)
	}
	return b.anyFailed(), nil
}

// machine describes where the benchmark ran.
func machine() string {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := runtime.GOOS
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel += " " + strings.TrimSpace(string(data))
	}
	return fmt.Sprintf("%d CPUs (nproc), %s, %s/%s, kernel %s, %s", runtime.NumCPU(), cpu, runtime.GOOS, runtime.GOARCH, kernel, runtime.Version())
}

// loadAverage returns the 1-, 5- and 15-minute load averages, "" when
// unknown: other work on the machine shows in every figure.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
