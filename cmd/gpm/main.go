// Command gpm manages dependencies on GitLab generic packages: it resolves
// the constraints of packages.toml against GitLab's Packages API, pins exact
// versions and SHA-256 checksums in packages.lock, and installs the files in
// parallel into a vendor directory.
//
// main is a thin shell around run, which the tests drive directly.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	// The handler is installed on another goroutine while run parses the
	// command line: installing it starts a thread, which takes a good part
	// of a millisecond, and gpm verify of a small vendor directory takes
	// 30. run waits for it before any command starts (signalsReady).
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		close(ready)
		<-sigs
		// After the first signal, restore the default handling so that a
		// second Ctrl-C kills gpm at once, as users expect.
		signal.Stop(sigs)
		cancel()
	}()
	signalsReady = ready
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
