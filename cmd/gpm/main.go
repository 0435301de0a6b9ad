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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling so that a
		// second Ctrl-C kills gpm at once, as users expect.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
