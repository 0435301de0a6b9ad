package lock

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
)

// benchLock returns a lock of n packages with two files each, the size of a
// large project's packages.lock.
func benchLock(n int) *File {
	f := &File{Version: Version}
	for i := range n {
		p := Package{
			Name:       fmt.Sprintf("pkg-%03d", i),
			Project:    "group/sub/project",
			Package:    fmt.Sprintf("pkg-%03d", i),
			Version:    fmt.Sprintf("1.%d.0", i),
			Constraint: "^1",
			Globs:      []string{"*-linux-amd64.tar.gz", "*.sha256"},
			PackageID:  int64(1000 + i),
		}
		for j, suffix := range []string{"-linux-amd64.tar.gz", ".sha256"} {
			sum := sha256.Sum256([]byte(fmt.Sprint(i, j)))
			p.Files = append(p.Files, FileEntry{
				Name:   p.Name + suffix,
				Size:   int64(7 << 20),
				SHA256: hex.EncodeToString(sum[:]),
				FileID: int64(10000 + 2*i + j),
			})
		}
		f.Packages = append(f.Packages, p)
	}
	return f
}

// BenchmarkEncode measures encoding a lock of 100 packages.
func BenchmarkEncode(b *testing.B) {
	f := benchLock(100)
	b.SetBytes(int64(len(f.Encode())))
	b.ReportAllocs()
	for b.Loop() {
		f.Encode()
	}
}

// BenchmarkParse measures parsing (decoding and validating) a lock of 100
// packages, as every gpm command that reads packages.lock does.
func BenchmarkParse(b *testing.B) {
	data := benchLock(100).Encode()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse(FileName, data)
		if err != nil {
			b.Fatal(err)
		}
		if len(f.Packages) != 100 {
			b.Fatalf("parsed %d packages", len(f.Packages))
		}
	}
}

// BenchmarkLookupEvery1000 looks up every package of a lock of 1,000
// packages, as an install plans and diffs them.
func BenchmarkLookupEvery1000(b *testing.B) {
	f, err := Parse(FileName, benchLock(1000).Encode())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range f.Packages {
			if _, ok := f.Lookup(p.Name); !ok {
				b.Fatalf("%s not found", p.Name)
			}
		}
	}
}
