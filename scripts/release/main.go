// Command release builds gpm's release artefacts; the Makefile runs it.
//
//	go run ./scripts/release version          # the version of the checked-out commit
//	go run ./scripts/release dist [-o dist] [-platforms linux/amd64,...]
//
// version prints the tag of a tagged commit, otherwise a Go pseudo-version
// (v1.2.4-0.20261201093000-abcdef123456 after v1.2.3), with "+dirty" for a
// work tree with changes. dist cross-compiles gpm for every release platform
// and writes reproducible archives (tar.gz; zip for Windows) holding the
// binary, LICENSE and README.md, plus SHA256SUMS: the same commit gives the
// same bytes on any machine with the same Go toolchain.
//
// It is a Go program rather than tar and zip flags so that it behaves the
// same with GNU, BSD and busybox tools.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "release: error: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: release version|commit|dist [flags]")
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	switch args[0] {
	case "version", "commit":
		if len(args) > 1 {
			return fmt.Errorf("%s takes no arguments", args[0])
		}
		s, err := readSource(root)
		if err != nil {
			// Not a git checkout (a source tarball): a development build.
			fmt.Fprintf(os.Stderr, "release: warning: %v\n", err)
		}
		if args[0] == "commit" {
			fmt.Println(s.Commit)
		} else {
			fmt.Println(s.version())
		}
		return nil
	case "dist":
		fl := flag.NewFlagSet("dist", flag.ContinueOnError)
		out := fl.String("o", "dist", "output `directory`")
		only := fl.String("platforms", "", "comma-separated GOOS/GOARCH `list` (default: every release platform)")
		if err := fl.Parse(args[1:]); err != nil {
			return err
		}
		if fl.NArg() > 0 {
			return fmt.Errorf("dist takes no arguments")
		}
		ps, err := parsePlatforms(*only)
		if err != nil {
			return err
		}
		return dist(root, *out, ps)
	}
	return fmt.Errorf("unknown command %q (want version, commit or dist)", args[0])
}

// parsePlatforms reads "linux/amd64,darwin/arm64"; empty means all.
func parsePlatforms(list string) ([]platform, error) {
	if list == "" {
		return platforms, nil
	}
	var ps []platform
	for _, f := range strings.Split(list, ",") {
		found := false
		for _, p := range platforms {
			if f == p.OS+"/"+p.Arch {
				ps = append(ps, p)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("platform %q is not a release platform", f)
		}
	}
	return ps, nil
}
