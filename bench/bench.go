package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gpmtool/gpm/internal/server"
)

// The registry's seed: one private project, one user who maintains it, and
// that user's personal access token (a stand-in, valid only on this
// loopback server).
const (
	projectID = 1
	benchUser = "bench"
	benchTok  = "bench-token"
)

// bench is one run of the benchmark.
type bench struct {
	c       config
	ctx     context.Context
	tmp     string
	log     io.Writer
	srv     *server.Server
	hs      *http.Server
	runner  *runner
	floor   int64   // the runner's peak RSS, the floor of every RSS figure
	url     string  // registry instance URL
	bw      float64 // loopback bandwidth, bytes per second
	started time.Time
	load    [2]string // load averages at the start and at the end
	rows    []*row
	targets []target
	micro   []string // result lines of the micro-benchmarks
}

// row is one line of the table.
type row struct {
	section string
	name    string
	reps    int
	wall    time.Duration // the median of reps runs
	min     time.Duration
	max     time.Duration
	counts  map[string]int
	rss     int64 // peak RSS in bytes; 0 when not measured
	curl    *row  // the baseline this row is compared to, if any
	bound   *row  // the lower bound of this row's work, if any
	skipped string
}

// sample is one timed run of one or more processes.
type sample struct {
	wall   time.Duration
	min    time.Duration // of all runs, when measure took the median
	max    time.Duration
	rss    int64 // peak RSS of the largest process
	counts map[string]int
	// cpu is the CPU time (user and system) of the measured processes,
	// serverCPU this process's during the run: the registry's, which
	// shares the machine's CPUs with them.
	cpu, serverCPU time.Duration
}

func newBench(ctx context.Context, c config, tmp string, log io.Writer) (*bench, error) {
	b := &bench{c: c, ctx: ctx, tmp: tmp, log: log, started: time.Now(), load: [2]string{loadAverage()}}
	b.srv = server.New(server.Options{})
	if err := b.srv.AddProject(server.Project{ID: projectID, Path: "bench/packages", Visibility: server.Private}); err != nil {
		return nil, err
	}
	b.srv.AddMember(projectID, benchUser, server.Maintainer)
	b.srv.AddToken(server.Token{Value: benchTok, Type: server.TokenPrivate, User: benchUser})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.hs = &http.Server{Handler: b.srv}
	go b.hs.Serve(ln)
	b.url = "http://" + ln.Addr().String()
	b.srv.SetLatency(c.latency)

	if b.runner, err = startRunner(); err != nil {
		return nil, fmt.Errorf("starting the runner: %w", err)
	}
	floor, err := b.procs(tmp, nil, []string{"true"})
	if err != nil {
		return nil, err
	}
	b.floor = floor.rss

	fmt.Fprintf(log, "bench: measuring loopback bandwidth\n")
	if b.bw, err = loopbackBandwidth(); err != nil {
		return nil, fmt.Errorf("measuring loopback bandwidth: %w", err)
	}
	if c.micro != "" {
		data, err := os.ReadFile(c.micro)
		if err != nil {
			return nil, err
		}
		b.micro = microLines(string(data))
	}
	return b, nil
}

func (b *bench) close() {
	if b.runner != nil {
		b.runner.close()
	}
	b.hs.Close()
}

// runAll runs every workload.
func (b *bench) runAll() error {
	steps := []struct {
		name string
		f    func() error
	}{
		{"install workload", b.installWorkload},
		{"no-op workload", b.noopWorkload},
		{"many-files workload", b.filesWorkload},
		{"many-packages workload", b.manyWorkload},
		{"publish workload", b.publishWorkload},
		{"large-file workload", b.bigWorkload},
	}
	for _, s := range steps {
		if err := s.f(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	b.load[1] = loadAverage()
	return nil
}

// env is the environment of every measured process: the caller's, without
// anything that could point gpm at another registry, credential or cache.
func (b *bench) env(cache string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "GPM_"), strings.HasPrefix(k, "CI_"), k == "GITLAB_TOKEN",
			k == "HOME", k == "XDG_CACHE_HOME", k == "NETRC", strings.HasSuffix(strings.ToLower(k), "_proxy"):
			continue
		}
		env = append(env, kv)
	}
	home := filepath.Join(b.tmp, "home")
	return append(env, "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"GPM_TOKEN="+benchTok, "GPM_CACHE="+cache)
}

// procs runs the commands one after another in dir, through the runner,
// and times them together. The registry's request counts cover exactly
// these commands.
func (b *bench) procs(dir string, env []string, cmds ...[]string) (sample, error) {
	return b.runReq(runRequest{Dir: dir, Env: env, Cmds: cmds})
}

// runReq runs a request through the runner and reads the request counts.
func (b *bench) runReq(req runRequest) (sample, error) {
	b.srv.ResetCounts()
	cpu0 := selfCPU()
	res, err := b.runner.run(req)
	if err != nil {
		return sample{}, err
	}
	if res.Err != "" {
		return sample{}, errors.New(res.Err)
	}
	return sample{wall: res.Wall, rss: res.MaxRSS, counts: b.srv.Counts(), cpu: res.CPU, serverCPU: selfCPU() - cpu0}, nil
}

// measure runs prepare (not timed) and op reps times and returns the run
// with the median wall time, with the peak RSS of all runs.
func (b *bench) measure(reps int, prepare func() error, op func(i int) (sample, error)) (sample, error) {
	var ss []sample
	for i := range reps {
		if prepare != nil {
			if err := prepare(); err != nil {
				return sample{}, err
			}
		}
		s, err := op(i)
		if err != nil {
			return sample{}, err
		}
		ss = append(ss, s)
	}
	return median(ss), nil
}

// measureInterleaved runs ops in turn, reps rounds of one run each (A, B,
// A, B, ...), so that what the machine does meanwhile falls on all of them
// alike, and returns each op's median run as measure does.
func (b *bench) measureInterleaved(reps int, ops ...func(i int) (sample, error)) ([]sample, error) {
	runs := make([][]sample, len(ops))
	for i := range reps {
		for k, op := range ops {
			s, err := op(i)
			if err != nil {
				return nil, err
			}
			runs[k] = append(runs[k], s)
		}
	}
	out := make([]sample, len(ops))
	for k := range ops {
		out[k] = median(runs[k])
	}
	return out, nil
}

// median returns the run of ss with the median wall time, with the peak RSS
// of all of them and the range of their wall times.
func median(ss []sample) sample {
	peak := int64(0)
	for _, s := range ss {
		peak = max(peak, s.rss)
	}
	slices.SortFunc(ss, func(x, y sample) int { return int(x.wall - y.wall) })
	med := ss[len(ss)/2]
	med.rss = peak
	med.min, med.max = ss[0].wall, ss[len(ss)-1].wall
	return med
}

// wallText is the wall time, with the range of the runs when there were
// several.
func (r *row) wallText() string {
	if r.reps > 1 && r.max > r.min {
		return fmt.Sprintf("%s (%s-%s)", formatDuration(r.wall), formatDuration(r.min), formatDuration(r.max))
	}
	return formatDuration(r.wall)
}

// add appends a measured row.
func (b *bench) add(section, name string, reps int, s sample) *row {
	r := &row{section: section, name: name, reps: reps, wall: s.wall, min: s.min, max: s.max, counts: s.counts, rss: s.rss}
	b.rows = append(b.rows, r)
	fmt.Fprintf(b.log, "bench: %-55s %s\n", section+": "+name, r.wallText())
	return r
}

// addBound appends the lower bound of R requests J at a time moving n
// bytes.
func (b *bench) addBound(section string, requests, jobs int, n int64) *row {
	lat := time.Duration(float64(requests) / float64(jobs) * float64(b.c.latency))
	xfer := time.Duration(float64(n) / b.bw * float64(time.Second))
	name := fmt.Sprintf("lower bound: %d requests / %d x %s + %s / loopback", requests, jobs, b.c.latency, formatSize(n))
	r := &row{section: section, name: name, wall: lat + xfer}
	b.rows = append(b.rows, r)
	return r
}

// addResolveBound appends the lower bound of an install that resolves: gpm
// has --jobs slots for listings and --jobs for downloads, so the listings
// and downloads the registry counted in s take at least the longer of the
// two at J at a time, plus the transfer.
func (b *bench) addResolveBound(section string, s sample, jobs int, n int64) *row {
	lists, rest := listing(s.counts), total(s.counts)-listing(s.counts)
	lat := time.Duration(float64(max(lists, rest)) / float64(jobs) * float64(b.c.latency))
	xfer := time.Duration(float64(n) / b.bw * float64(time.Second))
	name := fmt.Sprintf("lower bound: max(%d listings, %d downloads) / %d x %s + %s / loopback", lists, rest, jobs, b.c.latency, formatSize(n))
	r := &row{section: section, name: name, wall: lat + xfer}
	b.rows = append(b.rows, r)
	return r
}

// skip appends a row that could not be measured.
func (b *bench) skip(section, name, why string) *row {
	r := &row{section: section, name: name, skipped: why}
	b.rows = append(b.rows, r)
	fmt.Fprintf(b.log, "bench: %s: %s: skipped: %s\n", section, name, why)
	return r
}

// removeAll returns a preparation step that removes paths and flushes the
// disks, so that each run starts from the same state.
func removeAll(paths ...string) func() error {
	return func() error {
		for _, p := range paths {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
		syncDisks()
		return nil
	}
}

// warmAfter runs prepare, when set, then warms n bytes and 256 MiB more of
// memory for the run that follows (see warmMemory).
func warmAfter(prepare func() error, n int64) func() error {
	return func() error {
		if prepare != nil {
			if err := prepare(); err != nil {
				return err
			}
		}
		warmMemory(n + 256<<20)
		return nil
	}
}

func emptyDir(p string) func() error {
	return func() error {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
		syncDisks()
		return os.MkdirAll(p, 0o755)
	}
}

// writeManifest writes a packages.toml naming the loopback registry and
// the given packages, each with the constraint "^1".
func (b *bench) writeManifest(dir string, names []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var m strings.Builder
	fmt.Fprintf(&m, "[registry]\nurl = %q\n", b.url)
	for _, n := range names {
		fmt.Fprintf(&m, "\n[packages.%s]\nproject = %d\nversion = \"^1\"\n", n, projectID)
	}
	return os.WriteFile(filepath.Join(dir, "packages.toml"), []byte(m.String()), 0o644)
}

// gpmArgs is the command line of gpm with its --jobs and the given
// arguments.
func (b *bench) gpmArgs(args ...string) []string {
	return append([]string{b.c.gpm, "--jobs", fmt.Sprint(b.c.jobs)}, args...)
}

// fileURL is the generic download (and upload) URL of a file.
func (b *bench) fileURL(pkg, version, file string) string {
	return fmt.Sprintf("%s/api/v4/projects/%d/packages/generic/%s/%s/%s", b.url, projectID, pkg, version, file)
}

// curlGet is the download command of GitLab's documentation.
func (b *bench) curlGet(url, out string) []string {
	return []string{"curl", "--location", "--fail", "--silent", "--show-error",
		"--header", "PRIVATE-TOKEN: " + benchTok, "--output", out, url}
}

// curlPut is the upload command of GitLab's documentation.
func (b *bench) curlPut(url, file string) []string {
	return []string{"curl", "--fail", "--silent", "--show-error", "--output", "/dev/null",
		"--header", "PRIVATE-TOKEN: " + benchTok, "--upload-file", file, url}
}

// randomData returns n bytes of seeded pseudo-random data.
func randomData(seed uint64, n int64) []byte {
	data := make([]byte, n)
	rand.NewChaCha8(seedBytes(seed)).Read(data)
	return data
}

func seedBytes(seed uint64) [32]byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return s
}

// writeRandomFile writes n pseudo-random bytes to path without holding
// them in memory.
func writeRandomFile(path string, seed uint64, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	r := rand.NewChaCha8(seedBytes(seed))
	buf := make([]byte, 1<<20)
	for left := n; left > 0; {
		k := min(left, int64(len(buf)))
		r.Read(buf[:k])
		if _, err := f.Write(buf[:k]); err != nil {
			f.Close()
			return err
		}
		left -= k
	}
	return f.Close()
}

// upload PUTs a local file to the registry through its API, streaming it.
func (b *bench) upload(pkg, version, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(b.ctx, http.MethodPut, b.fileURL(pkg, version, filepath.Base(path)), f)
	if err != nil {
		return err
	}
	req.ContentLength = fi.Size()
	req.Header.Set("PRIVATE-TOKEN", benchTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("seeding %s@%s: %s: %s", pkg, version, resp.Status, body)
	}
	return nil
}

// loopbackBandwidth measures one TCP stream over 127.0.0.1: the best of
// three transfers of 256 MiB with 256 KiB writes and reads.
func loopbackBandwidth() (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	const total = 256 << 20
	best := 0.0
	for range 3 {
		done := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				done <- err
				return
			}
			defer c.Close()
			buf := make([]byte, 256<<10)
			n := 0
			for {
				k, err := c.Read(buf)
				n += k
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					done <- err
					return
				}
			}
			if n != total {
				done <- fmt.Errorf("received %d bytes, sent %d", n, total)
				return
			}
			done <- nil
		}()
		start := time.Now()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return 0, err
		}
		buf := make([]byte, 256<<10)
		for sent := 0; sent < total; sent += len(buf) {
			if _, err := c.Write(buf); err != nil {
				c.Close()
				return 0, err
			}
		}
		c.Close()
		if err := <-done; err != nil {
			return 0, err
		}
		best = max(best, total/time.Since(start).Seconds())
	}
	return best, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
