package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// installWorkload: N packages of one file each, -versions versions per
// package (the newest, matched by "^1", holds the file of -size bytes; the
// others hold 1 KiB).
func (b *bench) installWorkload() error {
	n, size := b.c.packages, b.c.size
	section := fmt.Sprintf("%d packages x %s (%d versions each)", n, formatSize(size), b.c.versions)
	fmt.Fprintf(b.log, "bench: seeding %s\n", section)
	names := make([]string, n)
	for i := range n {
		name := fmt.Sprintf("lib-%03d", i)
		names[i] = name
		for j := range b.c.versions - 1 {
			if _, err := b.srv.Publish(projectID, name, fmt.Sprintf("1.%d.0", j), name+".bin", randomData(uint64(1000*i+j), 1024), ""); err != nil {
				return err
			}
		}
		if _, err := b.srv.Publish(projectID, name, b.newest(), name+".bin", randomData(uint64(1000*i+999), size), ""); err != nil {
			return err
		}
	}
	dir := filepath.Join(b.tmp, "install")
	if err := b.writeManifest(dir, names); err != nil {
		return err
	}
	vendor, lockFile, cache := filepath.Join(dir, "vendor"), filepath.Join(dir, "packages.lock"), filepath.Join(b.tmp, "install-cache")
	env := b.env(cache)
	gpm := func(args ...string) func(int) (sample, error) {
		return func(int) (sample, error) { return b.procs(dir, env, b.gpmArgs(args...)) }
	}
	reps := b.c.reps
	bytes := int64(n) * size

	curlDir := filepath.Join(b.tmp, "install-curl")
	curl, err := b.measure(reps, emptyDir(curlDir), func(int) (sample, error) {
		var cmds [][]string
		for _, name := range names {
			cmds = append(cmds, b.curlGet(b.fileURL(name, b.newest(), name+".bin"), filepath.Join(curlDir, name+".bin")))
		}
		return b.procs(dir, env, cmds...)
	})
	if err != nil {
		return err
	}
	if err := checkFiles(curlDir, n, size); err != nil {
		return fmt.Errorf("curl loop: %w", err)
	}
	os.RemoveAll(curlDir)

	s, err := b.measure(reps, removeAll(vendor, lockFile, cache), gpm("install"))
	if err != nil {
		return err
	}
	r := b.add(section, "resolve + install (no lock, cold cache)", reps, s)
	r.bound = b.addResolveBound(section, s, b.c.jobs, bytes)
	resolveRow := r

	s, err = b.measure(reps, removeAll(vendor, cache), gpm("install", "--locked"))
	if err != nil {
		return err
	}
	lockedRow := b.add(section, "locked install (cold cache, empty vendor)", reps, s)
	lockedRow.bound = b.addBound(section, n, b.c.jobs, bytes)

	s, err = b.measure(max(reps, 5), nil, gpm("install"))
	if err != nil {
		return err
	}
	b.add(section, "warm no-op install", max(reps, 5), s)

	s, err = b.measure(reps, removeAll(vendor), gpm("install"))
	if err != nil {
		return err
	}
	b.add(section, "install from a warm cache into an empty vendor", reps, s)

	if err := b.verifyRows(section, dir, vendor, names, gpm("verify")); err != nil {
		return err
	}

	curlRow := b.add(section, "baseline: curl loop (one curl --location per file, serially)", reps, curl)
	curlRow.bound = lockedRow.bound
	for _, r := range []*row{resolveRow, lockedRow, curlRow} {
		r.curl = curlRow
	}
	b.targetInstall(section, resolveRow, lockedRow, curlRow, n)
	b.targetOverlap(section, resolveRow, lockedRow)
	return nil
}

// newest is the version of the install workload that "^1" selects.
func (b *bench) newest() string { return fmt.Sprintf("1.%d.0", b.c.versions-1) }

// verifyRows measures gpm verify (the op verify) and sha256sum on the
// vendor files, in one process and in one process per CPU with the files
// shared out. The three are interleaved, since the target compares them:
// measured one after the other, a change in what else the machine did
// moved sha256sum's 50 x 256 KiB between 27 and 37 ms from run to run.
func (b *bench) verifyRows(section, dir, vendor string, names []string, verify func(int) (sample, error)) error {
	var files []string
	for _, name := range names {
		files = append(files, filepath.Join(vendor, name, name+".bin"))
	}
	env := b.env(filepath.Join(b.tmp, "unused-cache"))
	reps := max(b.c.reps, 15) // each run takes some 30-60 ms
	ss, err := b.measureInterleaved(reps, verify,
		func(int) (sample, error) { return b.procs(dir, env, append([]string{"sha256sum"}, files...)) },
		func(int) (sample, error) { return b.parallelSum(dir, env, files) })
	if err != nil {
		return err
	}
	verifyRow := b.add(section, "gpm verify", reps, ss[0])
	oneRow := b.add(section, "baseline: sha256sum (one process)", reps, ss[1])
	parRow := b.add(section, fmt.Sprintf("baseline: sha256sum (%d processes)", runtime.NumCPU()), reps, ss[2])
	b.targetVerify(section, verifyRow, oneRow, parRow, files)
	return nil
}

// parallelSum runs one sha256sum per CPU over a share of files each, at
// once, and times them together.
func (b *bench) parallelSum(dir string, env []string, files []string) (sample, error) {
	k := min(runtime.NumCPU(), len(files))
	cmds := make([][]string, k)
	for i := range cmds {
		cmds[i] = []string{"sha256sum"}
	}
	for j, f := range files {
		cmds[j%k] = append(cmds[j%k], f)
	}
	return b.runReq(runRequest{Dir: dir, Env: env, Cmds: cmds, Parallel: true})
}

// noopWorkload: a warm install of many small packages must do nothing,
// quickly, without the network.
func (b *bench) noopWorkload() error {
	n := b.c.noop
	section := fmt.Sprintf("%d packages x 1 KiB", n)
	fmt.Fprintf(b.log, "bench: seeding %s\n", section)
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("tiny-%03d", i)
		if _, err := b.srv.Publish(projectID, names[i], "1.0.0", names[i]+".txt", randomData(uint64(5000+i), 1024), ""); err != nil {
			return err
		}
	}
	dir := filepath.Join(b.tmp, "noop")
	if err := b.writeManifest(dir, names); err != nil {
		return err
	}
	env := b.env(filepath.Join(b.tmp, "noop-cache"))
	if _, err := b.procs(dir, env, b.gpmArgs("install")); err != nil {
		return err
	}
	reps := max(b.c.reps, 11)
	s, err := b.measure(reps, nil, func(int) (sample, error) { return b.procs(dir, env, b.gpmArgs("install")) })
	if err != nil {
		return err
	}
	r := b.add(section, "warm no-op install", reps, s)
	b.targetNoop(r, n)
	return nil
}

// publishWorkload: gpm publish of several files into a new version, next
// to a serial curl upload loop.
func (b *bench) publishWorkload() error {
	n, size := b.c.publish, b.c.size
	section := fmt.Sprintf("publish %d files x %s", n, formatSize(size))
	dir := filepath.Join(b.tmp, "publish")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var files []string
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("asset-%02d.bin", i))
		if err := os.WriteFile(p, randomData(uint64(9000+i), size), 0o644); err != nil {
			return err
		}
		files = append(files, p)
	}
	env := b.env(filepath.Join(b.tmp, "publish-cache"))
	reps := b.c.reps

	curl, err := b.measure(reps, nil, func(i int) (sample, error) {
		var cmds [][]string
		for _, f := range files {
			cmds = append(cmds, b.curlPut(b.fileURL("assets-curl", fmt.Sprintf("1.0.%d", i), filepath.Base(f)), f))
		}
		return b.procs(dir, env, cmds...)
	})
	if err != nil {
		return err
	}
	bound := b.addBound(section, n, 1, int64(n)*size)
	var pubRow *row
	if why := b.publishMissing(dir, env); why != "" {
		pubRow = b.skip(section, "gpm publish", why)
	} else {
		s, err := b.measure(reps, nil, func(i int) (sample, error) {
			return b.procs(dir, env, append(b.gpmArgs("publish", "--registry", b.url, "--project", fmt.Sprint(projectID),
				"--package", "assets", "--version", fmt.Sprintf("1.0.%d", i)), files...))
		})
		if err != nil {
			return err
		}
		pubRow = b.add(section, "gpm publish", reps, s)
	}
	curlRow := b.add(section, "baseline: curl loop (one curl --upload-file per file, serially)", reps, curl)
	pubRow.curl, pubRow.bound = curlRow, bound
	curlRow.curl, curlRow.bound = curlRow, bound
	return nil
}

// publishMissing says why gpm publish cannot be measured, "" when it can.
func (b *bench) publishMissing(dir string, env []string) string {
	if _, err := b.procs(dir, env, []string{b.c.gpm, "publish", "--help"}); err != nil {
		return "gpm publish --help fails"
	}
	_, err := b.procs(dir, env, []string{b.c.gpm, "publish"})
	if err != nil && strings.Contains(err.Error(), "not implemented") {
		return "gpm publish is not implemented in this build"
	}
	return ""
}

// bigWorkload: one package of one large file, for peak memory and hashing
// throughput.
func (b *bench) bigWorkload() error {
	size := b.c.big
	if size <= 0 {
		b.skipTarget("peak RSS under 64 MiB while installing a large file", "-big 0")
		b.skipTarget("peak RSS under 64 MiB while publishing a large file", "-big 0")
		b.skipTarget("one large file: locked cold install within 1.2x of one curl -o", "-big 0")
		return nil
	}
	section := fmt.Sprintf("1 package x %s", formatSize(size))
	// The source file, the cache, the vendor directory and curl's copy.
	if free := freeSpace(b.tmp); free >= 0 && free < 4*size+(256<<20) {
		why := fmt.Sprintf("%s free in %s, need %s", formatSize(free), b.tmp, formatSize(4*size+(256<<20)))
		b.skip(section, "all rows", why)
		b.skipTarget("peak RSS under 64 MiB while installing a "+formatSize(size)+" file", why)
		b.skipTarget("peak RSS under 64 MiB while publishing a "+formatSize(size)+" file", why)
		return nil
	}
	src := filepath.Join(b.tmp, "big-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	file := filepath.Join(src, "big.bin")
	fmt.Fprintf(b.log, "bench: seeding %s\n", section)
	if err := writeRandomFile(file, 42, size); err != nil {
		return err
	}
	if err := b.upload("big", "1.0.0", file); err != nil {
		return err
	}
	dir := filepath.Join(b.tmp, "big")
	if err := b.writeManifest(dir, []string{"big"}); err != nil {
		return err
	}
	vendor, lockFile, cache := filepath.Join(dir, "vendor"), filepath.Join(dir, "packages.lock"), filepath.Join(b.tmp, "big-cache")
	env := b.env(cache)
	gpm := func(args ...string) func(int) (sample, error) {
		return func(int) (sample, error) { return b.procs(dir, env, b.gpmArgs(args...)) }
	}

	// Every run that writes the file starts with memory warmed for three
	// times its size (see warmMemory): gpm writes two copies of it, the
	// cache blob and the vendor file, and the page cache is not all the
	// memory the run takes. curl and gpm's locked cold install take turns,
	// bigReps rounds (see measureInterleaved): how fast this machine
	// writes new pages changes from minute to minute.
	const bigReps = 5
	warm := func(prepare func() error) func() error { return warmAfter(prepare, 3*size) }
	prepared := func(prepare func() error, op func(int) (sample, error)) func(int) (sample, error) {
		return func(i int) (sample, error) {
			if err := prepare(); err != nil {
				return sample{}, err
			}
			return op(i)
		}
	}
	// The install that resolves writes the lock the others use.
	s, err := b.measure(1, warm(removeAll(vendor, lockFile, cache)), gpm("install"))
	if err != nil {
		return err
	}
	resolveRow := b.add(section, "resolve + install (no lock, cold cache)", 1, s)
	resolveRow.bound = b.addResolveBound(section, s, b.c.jobs, size)

	curlDir := filepath.Join(b.tmp, "big-curl")
	ss, err := b.measureInterleaved(bigReps,
		prepared(warm(emptyDir(curlDir)), func(int) (sample, error) {
			return b.procs(dir, env, b.curlGet(b.fileURL("big", "1.0.0", "big.bin"), filepath.Join(curlDir, "big.bin")))
		}),
		prepared(warm(removeAll(vendor, cache)), gpm("install", "--locked")))
	if err != nil {
		return err
	}
	curl, locked := ss[0], ss[1]
	if err := checkFiles(curlDir, 1, size); err != nil {
		return fmt.Errorf("curl: %w", err)
	}
	os.RemoveAll(curlDir)

	lockedRow := b.add(section, "locked install (cold cache, empty vendor)", bigReps, locked)
	lockedRow.bound = b.addBound(section, 1, b.c.jobs, size)
	s, err = b.measure(1, nil, gpm("verify"))
	if err != nil {
		return err
	}
	verifyRow := b.add(section, "gpm verify", 1, s)
	one, err := b.measure(1, nil, func(int) (sample, error) {
		return b.procs(dir, env, []string{"sha256sum", filepath.Join(vendor, "big", "big.bin")})
	})
	if err != nil {
		return err
	}
	oneRow := b.add(section, "baseline: sha256sum", 1, one)
	b.targetVerify(section, verifyRow, oneRow, nil, []string{filepath.Join(vendor, "big", "big.bin")})
	if err := b.warmCacheRows(section, dir, env, vendor, cache, size); err != nil {
		return err
	}

	curlRow := b.add(section, "baseline: curl (one curl --location)", bigReps, curl)
	curlRow.bound = lockedRow.bound
	for _, r := range []*row{resolveRow, lockedRow, curlRow} {
		r.curl = curlRow
	}
	ratio := float64(lockedRow.wall) / float64(curlRow.wall)
	b.check("one large file: locked cold install within 1.2x of one curl -o", ratio <= 1.2,
		"%s: %s vs curl %s: %.2fx (best runs: %s vs %s); %s", section, formatDuration(lockedRow.wall), formatDuration(curlRow.wall), ratio,
		formatDuration(lockedRow.min), formatDuration(curlRow.min), cpuFloor(locked, curl, runtime.NumCPU()))
	removeAll(vendor, cache)()

	var pubRow *row
	if why := b.publishMissing(dir, env); why != "" {
		pubRow = b.skip(section, "gpm publish", why)
	} else {
		// The registry keeps what it receives in memory: warmed too.
		s, err := b.measure(1, warmAfter(nil, 2*size), func(int) (sample, error) {
			return b.procs(dir, env, b.gpmArgs("publish", "--registry", b.url, "--project", fmt.Sprint(projectID),
				"--package", "big-published", "--version", "1.0.0", file))
		})
		if err != nil {
			return err
		}
		pubRow = b.add(section, "gpm publish", 1, s)
		pubRow.bound = b.addBound(section, 1, 1, size)
	}
	b.targetRSS(section, []*row{resolveRow, lockedRow}, pubRow)
	return nil
}

// warmCacheRows measures an install of the large file from a warm cache
// into an empty vendor directory, which reads the cache blob once, hashing
// it as it copies it (the cache is not trusted), next to cp of the same
// blob: the difference is what the rehash costs.
func (b *bench) warmCacheRows(section, dir string, env []string, vendor, cache string, size int64) error {
	blobs, err := filepath.Glob(filepath.Join(cache, "blobs", "sha256", "[0-9a-f]*"))
	if err != nil {
		return err
	}
	if len(blobs) != 1 {
		return fmt.Errorf("%d blobs in the cache %s, want 1", len(blobs), cache)
	}
	s, err := b.measure(1, warmAfter(removeAll(vendor), size), func(int) (sample, error) { return b.procs(dir, env, b.gpmArgs("install")) })
	if err != nil {
		return err
	}
	if s.counts["download"] != 0 {
		return fmt.Errorf("install from a warm cache downloaded: %s", formatCounts(s.counts))
	}
	b.add(section, "install from a warm cache into an empty vendor (copy + rehash)", 1, s)
	cpDir := filepath.Join(b.tmp, "big-cp")
	cp, err := b.measure(1, warmAfter(emptyDir(cpDir), size), func(int) (sample, error) {
		return b.procs(dir, env, []string{"cp", blobs[0], filepath.Join(cpDir, "big.bin")})
	})
	if err != nil {
		return err
	}
	b.add(section, "baseline: cp of the cache blob", 1, cp)
	return os.RemoveAll(cpDir)
}

// checkFiles checks that dir holds n files of size bytes.
func checkFiles(dir string, n int, size int64) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) != n {
		return fmt.Errorf("%d files in %s, want %d", len(ents), dir, n)
	}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			return err
		}
		if fi.Size() != size {
			return fmt.Errorf("%s has %d bytes, want %d", e.Name(), fi.Size(), size)
		}
	}
	return nil
}

// cpuFloor says what the median runs of gpm and curl cost in CPU time,
// theirs and the registry's, and the least wall time gpm's run could take
// on cpus CPUs doing that work, against curl's wall time.
func cpuFloor(gpm, curl sample, cpus int) string {
	if gpm.cpu == 0 || cpus < 1 {
		return "CPU time not reported here"
	}
	floor := (gpm.cpu + gpm.serverCPU) / time.Duration(cpus)
	return fmt.Sprintf("CPU time (user + system) of the median runs: gpm %s and the registry %s, curl %s and the registry %s; "+
		"on %d CPUs gpm's run takes at least (%s + %s) / %d = %s, %.2fx curl's wall time",
		formatDuration(gpm.cpu), formatDuration(gpm.serverCPU), formatDuration(curl.cpu), formatDuration(curl.serverCPU),
		cpus, formatDuration(gpm.cpu), formatDuration(gpm.serverCPU), cpus, formatDuration(floor), float64(floor)/float64(curl.wall))
}
