package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// platform is one GOOS/GOARCH pair gpm is released for.
type platform struct{ OS, Arch string }

// platforms gpm is released for, in the order they are built.
var platforms = []platform{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// archiveName is the file name of a release archive; install.sh and the
// CI/CD component compute the same name.
func archiveName(version string, p platform) string {
	ext := ".tar.gz"
	if p.OS == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("gpm-%s-%s-%s%s", version, p.OS, p.Arch, ext)
}

// entry is one file of an archive.
type entry struct {
	name string // path inside the archive, slash-separated
	mode fs.FileMode
	data []byte
}

// buildBinary cross-compiles gpm for p into out, reproducibly: no cgo,
// -trimpath (no paths of this machine), an empty build ID, no VCS stamp
// (the version and commit come from ldflags), and the architecture
// levels pinned so that a GOAMD64 or GOARM64 of this machine does not leak in.
func buildBinary(root string, p platform, s source, out string) error {
	ldflags := fmt.Sprintf("-s -w -buildid= -X main.version=%s -X main.commit=%s", s.version(), s.Commit)
	cmd := exec.Command(goCmd(), "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, "./cmd/gpm")
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch,
		"GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=", "GOEXPERIMENT=",
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s/%s: %v", p.OS, p.Arch, err)
	}
	return nil
}

func goCmd() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// dist builds every platform's archive into outDir and writes
// outDir/SHA256SUMS. The archives depend only on the commit (and the Go
// toolchain): every entry has the commit time, owner 0:0, fixed modes, and
// a fixed order.
func dist(root, outDir string, only []platform) error {
	s, err := readSource(root)
	if err != nil {
		return err
	}
	if s.Dirty {
		fmt.Fprintf(os.Stderr, "dist: warning: the work tree has uncommitted changes; the version is %s\n", s.version())
	}
	docs := map[string][]byte{}
	for _, name := range []string{"LICENSE", "README.md"} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			return err
		}
		docs[name] = b
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "gpm-dist-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	sums := map[string]string{}
	for _, p := range only {
		exe := "gpm"
		if p.OS == "windows" {
			exe = "gpm.exe"
		}
		bin := filepath.Join(tmp, p.OS+"-"+p.Arch, exe)
		if err := buildBinary(root, p, s, bin); err != nil {
			return err
		}
		b, err := os.ReadFile(bin)
		if err != nil {
			return err
		}
		name := archiveName(s.version(), p)
		dir := strings.TrimSuffix(strings.TrimSuffix(name, ".zip"), ".tar.gz")
		entries := []entry{
			{dir + "/" + exe, 0o755, b},
			{dir + "/LICENSE", 0o644, docs["LICENSE"]},
			{dir + "/README.md", 0o644, docs["README.md"]},
		}
		var data []byte
		if p.OS == "windows" {
			data, err = zipArchive(dir, entries, s.Time)
		} else {
			data, err = tarGz(dir, entries, s.Time)
		}
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(outDir, name), data); err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		sums[name] = hex.EncodeToString(sum[:])
		fmt.Fprintf(os.Stderr, "dist: %s\n", filepath.Join(outDir, name))
	}
	// install.sh travels with the release, listed in SHA256SUMS, so that a
	// pinned SHA256SUMS also pins the script that installs from it (the
	// CI/CD components fetch and check it that way).
	sh, err := os.ReadFile(filepath.Join(root, "scripts", "install.sh"))
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(outDir, "install.sh"), sh); err != nil {
		return err
	}
	sum := sha256.Sum256(sh)
	sums["install.sh"] = hex.EncodeToString(sum[:])
	return writeFile(filepath.Join(outDir, "SHA256SUMS"), []byte(sumsFile(sums)))
}

// sumsFile is sha256sum's format ("HEX  NAME"), sorted by name, so that
// `sha256sum -c SHA256SUMS` checks a download.
func sumsFile(sums map[string]string) string {
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", sums[n], n)
	}
	return b.String()
}

// tarGz writes a gzip-compressed ustar archive: a directory entry, then
// the files in the order given, all owned by 0:0 with mtime t; the gzip
// header carries no name or time.
func tarGz(dir string, entries []entry, t time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	hdr := func(name string, mode fs.FileMode, typ byte, size int64) *tar.Header {
		return &tar.Header{Typeflag: typ, Name: name, Mode: int64(mode), Size: size, ModTime: t, Format: tar.FormatUSTAR}
	}
	if err := tw.WriteHeader(hdr(dir+"/", 0o755, tar.TypeDir, 0)); err != nil {
		return nil, err
	}
	for _, e := range entries {
		if err := tw.WriteHeader(hdr(e.name, e.mode, tar.TypeReg, int64(len(e.data)))); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// zipArchive writes a zip archive with the same layout as tarGz.
func zipArchive(dir string, entries []entry, t time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	d := &zip.FileHeader{Name: dir + "/", Modified: t}
	d.SetMode(fs.ModeDir | 0o755)
	if _, err := zw.CreateHeader(d); err != nil {
		return nil, err
	}
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: t}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeFile replaces path whole: a reader never sees half an archive.
func writeFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
