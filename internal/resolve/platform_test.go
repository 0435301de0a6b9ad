package resolve

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/registry"
)

// platformPkg parses a manifest holding one package, so Targets are set
// as the manifest sets them.
func platformPkg(t *testing.T, install, pkg string) manifest.Package {
	t.Helper()
	m, err := manifest.Parse("packages.toml", []byte(install+"\n[packages.cli-tool]\nproject = 12345\n"+pkg))
	if err != nil {
		t.Fatal(err)
	}
	return m.Packages[0]
}

var toolFiles = []registry.PackageFile{
	pf(1, "tool-1.4.2-linux-x86_64.tar.gz"), pf(2, "tool-1.4.2-linux-arm64.tar.gz"),
	pf(3, "tool-1.4.2-macos-arm64.tar.gz"), pf(4, "tool-1.4.2-windows-x86_64.zip"),
	pf(5, "NOTICE"), pf(6, "SHA256SUMS"),
}

func TestResolvePlatforms(t *testing.T) {
	const templ = `files = ["tool-{version}-{os}-{arch}.tar.gz", "NOTICE"]` + "\n" + `replacements = { darwin = "macos", amd64 = "x86_64" }` + "\n"
	for _, tc := range []struct {
		name, install, pkg string
		want               []string // "name@platform", platform "" for shared
		wantErr            []string
	}{
		{
			name: "default set: each platform's file from one listing, absent platforms left out",
			pkg:  templ,
			want: []string{"NOTICE@", "tool-1.4.2-linux-arm64.tar.gz@linux-arm64", "tool-1.4.2-linux-x86_64.tar.gz@linux-amd64", "tool-1.4.2-macos-arm64.tar.gz@darwin-arm64"},
		},
		{
			name: "package platforms limit the set",
			pkg:  templ + `platforms = ["linux-*"]` + "\n",
			want: []string{"NOTICE@", "tool-1.4.2-linux-arm64.tar.gz@linux-arm64", "tool-1.4.2-linux-x86_64.tar.gz@linux-amd64"},
		},
		{
			name: "one file for several platforms is locked once for each",
			pkg:  `files = ["tool-{version}-{os}-arm64.tar.gz"]` + "\n" + `platforms = ["linux-*"]` + "\n",
			want: []string{"tool-1.4.2-linux-arm64.tar.gz@linux-amd64", "tool-1.4.2-linux-arm64.tar.gz@linux-arm64"},
		},
		{
			name:    "explicit set: a platform without files is an error naming it and what exists",
			install: `[install]` + "\n" + `platforms = ["linux-amd64", "darwin-amd64"]`,
			pkg:     templ,
			wantErr: []string{`cli-tool@1.4.2: no files for platform darwin-amd64; darwin-amd64 looks for "tool-1.4.2-macos-x86_64.tar.gz"; it has files for linux-amd64; its 6 files are: `},
		},
		{
			name:    "a template matching nothing on any platform",
			pkg:     `files = ["tool-{version}-{os}-{arch}.tgz"]` + "\n",
			wantErr: []string{`cli-tool@1.4.2: files match no file on any platform; darwin-amd64 looks for "tool-1.4.2-darwin-amd64.tgz"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newFake().add(row(42, "cli-tool", "1.4.2"), toolFiles...)
			mp := platformPkg(t, tc.install, tc.pkg)
			m, _ := manifest.Parse("p.toml", []byte(tc.install))
			got, err := Resolve(context.Background(), []Request{{Pkg: mp, Source: src, Explicit: m != nil && m.PlatformsSet}}, Options{})
			if tc.wantErr != nil {
				if err == nil || !errors.Is(err, ErrNoMatch) {
					t.Fatalf("error = %v, want ErrNoMatch", err)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q\ndoes not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range got[0].Files {
				names = append(names, f.Name+"@"+f.Platform)
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("locked %q, want %q", names, tc.want)
			}
			if got[0].Replacements["darwin"] != mp.Replacements["darwin"] || !slices.Equal(got[0].Targets, mp.Targets) {
				t.Errorf("lock entry does not record replacements and targets: %+v", got[0])
			}
			if n := src.count("download:"); n != 0 {
				t.Errorf("%d downloads, want none", n)
			}
			if n := src.count("files:"); n != 1 {
				t.Errorf("%d file listings, want one", n)
			}
		})
	}
}
