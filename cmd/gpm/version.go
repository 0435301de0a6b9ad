package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...";
// otherwise taken from the module's build information.
var (
	version = ""
	commit  = ""
)

// buildInfo describes this binary.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	return b
}

// userAgent is sent with every request, so registry admins can tell gpm apart.
func userAgent() string { return "gpm/" + readBuildInfo().Version }

func versionCmd() *command {
	return &command{
		name:    "version",
		summary: "print gpm's version, commit and Go version",
		example: "gpm version",
		run: func(c *cli, args []string) error {
			if len(args) > 0 {
				return usageError("gpm version takes no arguments")
			}
			b := readBuildInfo()
			if c.g.json {
				return writeJSON(c, b)
			}
			commit := b.Commit
			if commit == "" {
				commit = "unknown"
			}
			if b.Modified {
				commit += " (modified)"
			}
			fmt.Fprintf(c.stdout, "gpm %s\ncommit %s\n%s %s\n", b.Version, commit, b.GoVersion, b.Platform)
			return nil
		},
	}
}
