package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"
)

// The runner starts every measured process.
//
// The peak RSS that wait4 reports for a process on Linux starts from its
// parent's: exec records the high-water mark of the address space it
// replaces, and os/exec starts children with CLONE_VM, so that address
// space is the parent's. This program's heap holds the registry's files
// (the in-memory store keeps every blob), so processes it started itself
// would all seem to need hundreds of MiB. Instead it starts them from a
// runner: itself, re-executed with -runner, a process that allocates
// almost nothing. The runner's own peak RSS is therefore the floor of every
// figure; the benchmark measures and reports it.

// runRequest asks the runner to run commands in Dir with Env, one after
// another, or all at once when Parallel is set.
type runRequest struct {
	Dir      string
	Env      []string
	Cmds     [][]string
	Parallel bool
}

// runResult is the runner's answer: the wall time over all the commands,
// the largest peak RSS among them, the CPU time (user and system) they
// took together, and the first failure.
type runResult struct {
	Wall   time.Duration
	MaxRSS int64
	CPU    time.Duration
	Err    string
}

// serveRunner answers requests read from r, one JSON document each, on w.
func serveRunner(r io.Reader, w io.Writer) error {
	debug.SetGCPercent(20)
	dec := json.NewDecoder(bufio.NewReader(r))
	enc := json.NewEncoder(w)
	for {
		var req runRequest
		if err := dec.Decode(&req); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if err := enc.Encode(runCmds(req)); err != nil {
			return err
		}
	}
}

func runCmds(req runRequest) runResult {
	var (
		res runResult
		mu  sync.Mutex
		wg  sync.WaitGroup
	)
	one := func(args []string) {
		rss, cpu, err := runOne(req.Dir, req.Env, args)
		mu.Lock()
		defer mu.Unlock()
		res.MaxRSS = max(res.MaxRSS, rss)
		res.CPU += cpu
		if err != nil && res.Err == "" {
			res.Err = err.Error()
		}
	}
	start := time.Now()
	for _, args := range req.Cmds {
		if req.Parallel {
			wg.Go(func() { one(args) })
			continue
		}
		if one(args); res.Err != "" {
			break
		}
	}
	wg.Wait()
	res.Wall = time.Since(start)
	return res
}

// runOne runs one process in dir and returns its peak RSS and CPU time.
func runOne(dir string, env []string, args []string) (rss int64, cpu time.Duration, err error) {
	if len(args) == 0 {
		return 0, 0, errors.New("no command")
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if ps := cmd.ProcessState; ps != nil {
		rss = maxRSS(ps)
		cpu = ps.UserTime() + ps.SystemTime()
	}
	if err != nil {
		// Only the command's name is shown: curl's arguments carry the
		// token.
		return rss, cpu, fmt.Errorf("%s: %v\n%s", filepath.Base(args[0]), err, lastLines(out.String(), 20))
	}
	return rss, cpu, nil
}

// runner is the bench's end of a runner process.
type runner struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	enc *json.Encoder
	dec *json.Decoder
	mu  sync.Mutex
}

// startRunner starts this program as a runner.
func startRunner() (*runner, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-runner")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &runner{cmd: cmd, in: in, enc: json.NewEncoder(in), dec: json.NewDecoder(out)}, nil
}

// run sends one request and waits for its result.
func (r *runner) run(req runRequest) (runResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.enc.Encode(req); err != nil {
		return runResult{}, fmt.Errorf("runner: %w", err)
	}
	var res runResult
	if err := r.dec.Decode(&res); err != nil {
		return runResult{}, fmt.Errorf("runner: %w", err)
	}
	return res, nil
}

func (r *runner) close() {
	r.in.Close()
	r.cmd.Wait()
}
