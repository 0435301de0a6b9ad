package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// The scale workloads: many packages, and one package of many files. Each
// cold install needs thousands of requests at the injected latency (the
// lower bound of a locked install of 10,000 files at 8 jobs and 25 ms is
// 31 s), so these rows run -scalereps times, not -reps.

// manyWorkload: -many packages of one 1 KiB file each, -manyversions
// versions per package.
func (b *bench) manyWorkload() error {
	n := b.c.many
	if n <= 0 {
		b.skipTarget("warm no-op install of many packages: 0 HTTP requests", "-many 0")
		return nil
	}
	const size = 1 << 10
	section := fmt.Sprintf("%d packages x 1 KiB (%d versions each)", n, b.c.manyVersions)
	fmt.Fprintf(b.log, "bench: seeding %s\n", section)
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("many-%04d", i)
		for j := range b.c.manyVersions {
			if _, err := b.srv.Publish(projectID, names[i], fmt.Sprintf("1.%d.0", j), names[i]+".txt", randomData(uint64(20000+100*i+j), size), ""); err != nil {
				return err
			}
		}
	}
	dir := filepath.Join(b.tmp, "many")
	if err := b.writeManifest(dir, names); err != nil {
		return err
	}
	files := make([]string, n)
	for i, name := range names {
		files[i] = filepath.Join("vendor", name, name+".txt")
	}
	rows, err := b.scaleRows(section, dir, "many-cache", n, files, int64(n)*size)
	if err != nil {
		return err
	}
	b.targetResolve(section, rows.resolve, n)
	b.targetLocked(section, rows.locked, n)
	b.targetOverlap(section, rows.resolve, rows.locked)
	b.targetScaleNoop(fmt.Sprintf("warm no-op install of %d packages: 0 HTTP requests", n), rows.noop)
	return nil
}

// filesWorkload: one package of -files files of 1 KiB in directories of
// 100, so that listing its files takes -files/100 pages.
func (b *bench) filesWorkload() error {
	n := b.c.files
	if n <= 0 {
		b.skipTarget("warm no-op install of a package of many files: 0 HTTP requests", "-files 0")
		return nil
	}
	const size = 1 << 10
	section := fmt.Sprintf("1 package x %d files x 1 KiB", n)
	fmt.Fprintf(b.log, "bench: seeding %s\n", section)
	const name = "manyfiles"
	files := make([]string, n)
	for i := range n {
		rel := fmt.Sprintf("d%03d/f%05d.txt", i/100, i)
		files[i] = filepath.Join("vendor", name, filepath.FromSlash(rel))
		if _, err := b.srv.Publish(projectID, name, "1.0.0", rel, randomData(uint64(100000+i), size), ""); err != nil {
			return err
		}
	}
	dir := filepath.Join(b.tmp, "files")
	if err := b.writeManifest(dir, []string{name}); err != nil {
		return err
	}
	rows, err := b.scaleRows(section, dir, "files-cache", n, files, int64(n)*size)
	if err != nil {
		return err
	}
	b.targetLocked(section, rows.locked, n)
	b.targetScaleNoop(fmt.Sprintf("warm no-op install of a package of %d files: 0 HTTP requests", n), rows.noop)
	return nil
}

// scaleRows are the rows of a scale workload: resolve + install with a
// cold cache, a locked install with a cold cache, the warm no-op install
// and gpm verify next to sha256sum of the same files (paths relative to
// dir). gpm verify is shown next to sha256sum without the throughput
// target of the 256 KiB and 1 GiB workloads: with files of 1 KiB it
// measures reading and checking a lock of 1,000 packages (or a state of
// 10,000 files) more than hashing.
type scaleRowSet struct{ resolve, locked, noop, verify *row }

func (b *bench) scaleRows(section, dir, cacheName string, nFiles int, files []string, bytes int64) (scaleRowSet, error) {
	var rs scaleRowSet
	vendor, lockFile, cache := filepath.Join(dir, "vendor"), filepath.Join(dir, "packages.lock"), filepath.Join(b.tmp, cacheName)
	env := b.env(cache)
	gpm := func(args ...string) func(int) (sample, error) {
		return func(int) (sample, error) { return b.procs(dir, env, b.gpmArgs(args...)) }
	}
	reps := b.c.scaleReps

	s, err := b.measure(reps, removeAll(vendor, lockFile, cache), gpm("install"))
	if err != nil {
		return rs, err
	}
	rs.resolve = b.add(section, "resolve + install (no lock, cold cache)", reps, s)
	rs.resolve.bound = b.addResolveBound(section, s, b.c.jobs, bytes)

	s, err = b.measure(reps, removeAll(vendor, cache), gpm("install", "--locked"))
	if err != nil {
		return rs, err
	}
	rs.locked = b.add(section, "locked install (cold cache, empty vendor)", reps, s)
	rs.locked.bound = b.addBound(section, nFiles, b.c.jobs, bytes)

	noopReps := max(reps, 5)
	s, err = b.measure(noopReps, nil, gpm("install"))
	if err != nil {
		return rs, err
	}
	rs.noop = b.add(section, "warm no-op install", noopReps, s)

	verifyReps := max(reps, 3)
	s, err = b.measure(verifyReps, nil, gpm("verify"))
	if err != nil {
		return rs, err
	}
	rs.verify = b.add(section, "gpm verify", verifyReps, s)
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return rs, fmt.Errorf("after the install: %w", err)
		}
	}
	// sha256sum over at most 2,000 files per process, one after another,
	// keeps each command line well under ARG_MAX.
	var sums [][]string
	for chunk := range slices.Chunk(files, 2000) {
		sums = append(sums, append([]string{"sha256sum"}, chunk...))
	}
	sum, err := b.measure(verifyReps, nil, func(int) (sample, error) { return b.procs(dir, env, sums...) })
	if err != nil {
		return rs, err
	}
	sumName := "baseline: sha256sum (one process)"
	if len(sums) > 1 {
		sumName = fmt.Sprintf("baseline: sha256sum (%d processes of up to 2,000 files, one after another)", len(sums))
	}
	b.add(section, sumName, verifyReps, sum)
	return rs, nil
}

// targetScaleNoop: a warm install does nothing on the network, however
// many packages and files it has.
func (b *bench) targetScaleNoop(name string, r *row) {
	b.check(name, total(r.counts) == 0, "%s (median of %d; best %s), %s", formatDuration(r.wall), r.reps, formatDuration(r.min), formatCounts(r.counts))
}
