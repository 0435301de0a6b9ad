package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/gpmtool/gpm/internal/project"
)

// Output modes. On a terminal, downloads and uploads show live bars with
// bytes, speed and ETA; elsewhere (CI logs, pipes) each package gets one
// plain line when it is placed. -q shows neither.

// isTerminal reports whether w is a terminal gpm may draw on.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// liveProgress reports whether to draw progress bars: stderr is a terminal,
// not in CI, and neither -q nor --no-progress was given.
func (c *cli) liveProgress() bool {
	return !c.g.quiet && !c.g.noProgress && c.getenv("CI") == "" && c.getenv("GITLAB_CI") == "" && isTerminal(c.stderr)
}

// colour reports whether stderr may be coloured: a terminal, and NO_COLOR
// unset (https://no-color.org).
func (c *cli) colour() bool {
	return c.getenv("NO_COLOR") == "" && c.getenv("TERM") != "dumb" && isTerminal(c.stderr)
}

// reporter turns fetch events into what the user sees. Its methods are
// safe for concurrent use.
type reporter struct {
	c    *cli
	mu   sync.Mutex
	p    *mpb.Progress
	bars map[string]*mpb.Bar
	last map[string]time.Time
	// lines wait for the bars to finish: printed through mpb while no bar
	// is left to render, they would be lost.
	lines []string
}

// newReporter returns nil when nothing is to be shown.
func (c *cli) newReporter() *reporter {
	if c.g.quiet {
		return nil
	}
	r := &reporter{c: c}
	if c.liveProgress() {
		r.p = mpb.NewWithContext(c.ctx, mpb.WithOutput(c.stderr), mpb.WithWidth(32), mpb.WithRefreshRate(120*time.Millisecond))
		r.bars = map[string]*mpb.Bar{}
		r.last = map[string]time.Time{}
	}
	return r
}

// event handles one fetch event.
func (r *reporter) event(e project.Event) {
	if r == nil {
		return
	}
	key := e.Package + "\x00" + e.File
	r.mu.Lock()
	defer r.mu.Unlock()
	// One line per placed or removed package: at once in plain mode,
	// after the bars on a terminal.
	line := ""
	switch e.Kind {
	case project.PackagePlaced:
		line = fmt.Sprintf("installed %s@%s\n", e.Package, e.Version)
	case project.PackageRemoved:
		line = fmt.Sprintf("removed %s\n", e.Package)
	}
	if r.p == nil {
		io.WriteString(r.c.stderr, line)
		return
	}
	if line != "" {
		r.lines = append(r.lines, line)
	}
	switch e.Kind {
	case project.FileStart:
		name := fmt.Sprintf("%s@%s %s", e.Package, e.Version, e.File)
		r.bars[key] = r.p.AddBar(e.Total,
			mpb.PrependDecorators(decor.Name(name, decor.WC{C: decor.DindentRight | decor.DextraSpace})),
			mpb.AppendDecorators(
				decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpace),
				decor.EwmaSpeed(decor.SizeB1024(0), "% .1f", 30, decor.WCSyncSpace),
				decor.EwmaETA(decor.ET_STYLE_GO, 30, decor.WCSyncSpace),
			),
			mpb.BarRemoveOnComplete(),
		)
		r.last[key] = time.Now()
	case project.FileProgress:
		if b := r.bars[key]; b != nil {
			now := time.Now()
			b.EwmaSetCurrent(e.Bytes, now.Sub(r.last[key]))
			r.last[key] = now
		}
	case project.FileDone:
		if b := r.bars[key]; b != nil {
			b.SetCurrent(e.Total)
			delete(r.bars, key)
		}
	}
}

// done waits for the bars to finish drawing; call it before printing more.
func (r *reporter) done() {
	if r == nil || r.p == nil {
		return
	}
	r.mu.Lock()
	for _, b := range r.bars {
		b.Abort(true)
	}
	r.bars = map[string]*mpb.Bar{}
	r.mu.Unlock()
	r.p.Wait()
	for _, l := range r.lines {
		io.WriteString(r.c.stderr, l)
	}
}

// section brackets a phase of the output as a collapsible section of the
// GitLab CI job log when GITLAB_CI=true, and does nothing elsewhere.
func (c *cli) section(name, header string) (end func()) {
	if c.getenv("GITLAB_CI") != "true" || c.g.quiet {
		return func() {}
	}
	id := "gpm_" + name
	fmt.Fprintf(c.stderr, "\x1b[0Ksection_start:%d:%s[collapsed=true]\r\x1b[0K%s\n", time.Now().Unix(), id, header)
	return func() {
		fmt.Fprintf(c.stderr, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", time.Now().Unix(), id)
	}
}
