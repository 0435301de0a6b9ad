package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "packages.toml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory named like the manifest is not one.
	if err := os.Mkdir(filepath.Join(root, "a", "packages.toml"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Find(deep, "packages.toml")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(deep, "..", "..", "packages.toml"); got != want {
		t.Errorf("Find = %q, want %q", got, want)
	}
	if got, err := Find(root, "packages.toml"); err != nil || got != filepath.Join(root, "packages.toml") {
		t.Errorf("Find(root) = %q, %v", got, err)
	}
	if _, err := Find(deep, "no-such-manifest.toml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Find of a missing file: %v, want fs.ErrNotExist", err)
	}
}

// Without [registry] url or $CI_SERVER_URL gpm uses the public instance,
// and says so once, however many times the client is asked for.
func TestDefaultRegistryFallbackWarnsOnce(t *testing.T) {
	for _, tt := range []struct {
		name, manifest string
		env            map[string]string
		want           int
	}{
		{"no url", "[packages.tool]\nproject = 1\n", nil, 1},
		{"url in manifest", "[registry]\nurl = \"https://gitlab.example.com\"\n", nil, 0},
		{"CI_SERVER_URL", "", map[string]string{"CI_SERVER_URL": "https://gitlab.example.com"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "packages.toml")
			if err := os.WriteFile(path, []byte(tt.manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			var warnings []string
			p, err := Load(path, Env{
				Getenv: func(k string) string { return tt.env[k] },
				Warnf:  func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) },
			})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, err := p.Client(""); err != nil {
					t.Fatal(err)
				}
				if err := p.reloadManifest(); err != nil {
					t.Fatal(err)
				}
			}
			if len(warnings) != tt.want {
				t.Fatalf("warnings = %q, want %d", warnings, tt.want)
			}
			if tt.want > 0 && !strings.Contains(warnings[0], "sets no [registry] url") {
				t.Errorf("warning = %q", warnings[0])
			}
		})
	}
}
