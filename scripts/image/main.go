// Command image builds gpm's container image as an OCI layout archive,
// without a daemon and without a base image; `make image` runs it.
//
//	go run . -dist ../../dist -certs /etc/ssl/certs/ca-certificates.crt -o gpm-image.tar
//	go run . -check gpm-image.tar
//
// The image is a linux/amd64 + linux/arm64 index. Each image has one layer:
// the static gpm of the release archive for its architecture (so the image
// runs exactly the released binary), Debian's CA bundle, /etc/passwd and
// /etc/group with a non-root user gpm (65532), its home as the working
// directory, and /tmp. There is no shell: use it with `docker run`, or copy
// /usr/local/bin/gpm into your own image. Every timestamp is the commit
// time, so the same inputs give the same digests.
//
// It is a separate module so that go-containerregistry (the standard Go
// library for images, pinned in go.mod) is not a dependency of gpm.
//
// -check validates an archive (every digest and size, with
// go-containerregistry's validate package), checks both platforms, the user
// and the files, and runs the host architecture's gpm version from the
// unpacked layer.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

const (
	uid      = 65532
	certPath = "etc/ssl/certs/ca-certificates.crt"
)

func main() {
	distDir := flag.String("dist", "dist", "`directory` of make dist (its linux archives and SHA256SUMS)")
	version := flag.String("version", "", "the release `version` (names the archives)")
	commit := flag.String("commit", "", "the `commit` (an image label)")
	epoch := flag.Int64("time", 0, "commit time, `seconds` since 1970")
	certs := flag.String("certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle `file`")
	out := flag.String("o", "gpm-image.tar", "output OCI layout archive `file`")
	check := flag.String("check", "", "check this OCI layout archive `file` instead of building")
	flag.Parse()
	var err error
	if *check != "" {
		err = checkArchive(*check, *version)
	} else {
		err = build(*distDir, *version, *commit, time.Unix(*epoch, 0).UTC(), *certs, *out)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "image: error: %v\n", err)
		os.Exit(1)
	}
}

// file is one entry of the image's layer.
type file struct {
	name string
	mode int64
	typ  byte
	uid  int
	data []byte
}

func build(distDir, version, commit string, t time.Time, certsFile, out string) error {
	if version == "" || commit == "" {
		return errors.New("-version and -commit are required")
	}
	certs, err := os.ReadFile(certsFile)
	if err != nil {
		return fmt.Errorf("%v (install Debian's ca-certificates)", err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		bin, err := binaryFromArchive(filepath.Join(distDir, fmt.Sprintf("gpm-%s-linux-%s.tar.gz", version, arch)))
		if err != nil {
			return err
		}
		img, err := image(arch, version, commit, t, bin, certs)
		if err != nil {
			return err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	tmp, err := os.MkdirTemp("", "gpm-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": version,
	})); err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	if err := tarDir(tmp, out, t); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "image: %s: index %s (linux/amd64, linux/arm64)\n", out, d)
	return nil
}

// binaryFromArchive reads gpm out of a release archive.
func binaryFromArchive(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%v (run make dist first)", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s holds no gpm", path)
		}
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(h.Name, "/gpm") && h.Typeflag == tar.TypeReg {
			return io.ReadAll(tr)
		}
	}
}

func image(arch, version, commit string, t time.Time, bin, certs []byte) (v1.Image, error) {
	files := []file{
		{"etc/", 0o755, tar.TypeDir, 0, nil},
		{"etc/group", 0o644, tar.TypeReg, 0, []byte("root:x:0:\ngpm:x:65532:\n")},
		{"etc/passwd", 0o644, tar.TypeReg, 0, []byte("root:x:0:0:root:/root:/sbin/nologin\ngpm:x:65532:65532:gpm:/home/gpm:/sbin/nologin\n")},
		{"etc/ssl/", 0o755, tar.TypeDir, 0, nil},
		{"etc/ssl/certs/", 0o755, tar.TypeDir, 0, nil},
		{certPath, 0o644, tar.TypeReg, 0, certs},
		{"home/", 0o755, tar.TypeDir, 0, nil},
		{"home/gpm/", 0o755, tar.TypeDir, uid, nil},
		{"tmp/", 0o1777, tar.TypeDir, 0, nil},
		{"usr/", 0o755, tar.TypeDir, 0, nil},
		{"usr/local/", 0o755, tar.TypeDir, 0, nil},
		{"usr/local/bin/", 0o755, tar.TypeDir, 0, nil},
		{"usr/local/bin/gpm", 0o755, tar.TypeReg, 0, bin},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Typeflag: f.typ, Uid: f.uid, Gid: f.uid, Size: int64(len(f.data)), ModTime: t, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerTar := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: t}, CreatedBy: "gpm scripts/image", Comment: "gpm " + version}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", arch, v1.Time{Time: t}
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", uid, uid),
		WorkingDir: "/home/gpm",
		Entrypoint: []string{"/usr/local/bin/gpm"},
		Cmd:        []string{"--help"},
		Env: []string{
			"PATH=/usr/local/bin",
			"HOME=/home/gpm",
			"SSL_CERT_FILE=/" + certPath,
		},
		Labels: map[string]string{
			"org.opencontainers.image.title":    "gpm",
			"org.opencontainers.image.version":  version,
			"org.opencontainers.image.revision": commit,
			"org.opencontainers.image.licenses": "Apache-2.0",
			"org.opencontainers.image.source":   "https://github.com/gpmtool/gpm",
		},
	}
	return mutate.ConfigFile(img, cf)
}

// tarDir archives an OCI layout directory with sorted names, owner 0 and
// time t.
func tarDir(dir, out string, t time.Time) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range names {
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: rel, Mode: 0o644, Typeflag: tar.TypeReg, ModTime: t, Format: tar.FormatPAX}
		var data []byte
		if st.IsDir() {
			h.Name, h.Mode, h.Typeflag = rel+"/", 0o755, tar.TypeDir
		} else if data, err = os.ReadFile(p); err != nil {
			return err
		}
		h.Size = int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// checkArchive unpacks an OCI layout archive, validates it and runs the
// host's gpm from the unpacked layer.
func checkArchive(path, version string) error {
	tmp, err := os.MkdirTemp("", "gpm-image-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := untar(path, filepath.Join(tmp, "layout")); err != nil {
		return err
	}
	lp, err := layout.FromPath(filepath.Join(tmp, "layout"))
	if err != nil {
		return err
	}
	top, err := lp.ImageIndex()
	if err != nil {
		return err
	}
	tm, err := top.IndexManifest()
	if err != nil {
		return err
	}
	if len(tm.Manifests) != 1 {
		return fmt.Errorf("index.json has %d entries, want 1", len(tm.Manifests))
	}
	if got := tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; version != "" && got != version {
		return fmt.Errorf("ref.name is %q, want %q", got, version)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		return err
	}
	if err := validate.Index(idx); err != nil {
		return fmt.Errorf("invalid index: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	if im.MediaType != types.OCIImageIndex {
		return fmt.Errorf("index media type %s", im.MediaType)
	}
	var platforms []string
	ran := false
	for _, desc := range im.Manifests {
		pl := desc.Platform.OS + "/" + desc.Platform.Architecture
		platforms = append(platforms, pl)
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return err
		}
		if cf.OS+"/"+cf.Architecture != pl {
			return fmt.Errorf("%s: config says %s/%s", pl, cf.OS, cf.Architecture)
		}
		if cf.Config.User == "" || strings.HasPrefix(cf.Config.User, "0") || cf.Config.User == "root" {
			return fmt.Errorf("%s: runs as %q, want a non-root user", pl, cf.Config.User)
		}
		root := filepath.Join(tmp, "rootfs-"+desc.Platform.Architecture)
		layers, err := img.Layers()
		if err != nil {
			return err
		}
		for _, l := range layers {
			rc, err := l.Uncompressed()
			if err != nil {
				return err
			}
			err = untarReader(rc, root)
			rc.Close()
			if err != nil {
				return err
			}
		}
		for _, f := range []string{"usr/local/bin/gpm", certPath, "etc/passwd", "home/gpm"} {
			if _, err := os.Stat(filepath.Join(root, f)); err != nil {
				return fmt.Errorf("%s: %v", pl, err)
			}
		}
		passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
		if !strings.Contains(string(passwd), "gpm:x:65532:65532:") {
			return fmt.Errorf("%s: /etc/passwd has no gpm user", pl)
		}
		if desc.Platform.Architecture == runtime.GOARCH {
			out, err := exec.Command(filepath.Join(root, cf.Config.Entrypoint[0]), "version").CombinedOutput()
			if err != nil {
				return fmt.Errorf("%s: gpm version: %v\n%s", pl, err, out)
			}
			if version != "" && !strings.HasPrefix(string(out), "gpm "+version+"\n") {
				return fmt.Errorf("%s: gpm version printed %q", pl, out)
			}
			fmt.Fprintf(os.Stderr, "image: %s: %s", pl, strings.SplitN(string(out), "\n", 2)[0]+"\n")
			ran = true
		}
	}
	if strings.Join(platforms, ",") != "linux/amd64,linux/arm64" {
		return fmt.Errorf("platforms %v, want linux/amd64 and linux/arm64", platforms)
	}
	if !ran {
		return fmt.Errorf("no image for this machine's %s to run", runtime.GOARCH)
	}
	fmt.Fprintf(os.Stderr, "image: %s is a valid OCI layout: linux/amd64, linux/arm64, non-root, CA bundle\n", path)
	return nil
}

func untar(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return untarReader(f, dir)
}

// untarReader unpacks regular files and directories only, refusing names
// that leave dir.
func untarReader(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(h.Name)
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("entry %q leaves the archive", h.Name)
		}
		p := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			if err := os.WriteFile(p, data, fs.FileMode(h.Mode)&0o755|0o600); err != nil {
				return err
			}
		}
	}
}
