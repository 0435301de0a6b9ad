package registry

import (
	"strings"
	"testing"
	"time"
)

// FuzzDecodePackages feeds untrusted API JSON to every decoder: none may
// panic, and every file name that comes out is a safe relative path.
func FuzzDecodePackages(f *testing.F) {
	f.Add([]byte(`[{"id":42,"name":"mytool","version":"1.4.0","package_type":"generic","status":"default","created_at":"2025-01-10T09:15:02.123Z","last_downloaded_at":null}]`))
	f.Add([]byte(`[{"id":225,"package_id":42,"file_name":"a%2Fb%2Fc.bin","size":7340032,"file_md5":null,"file_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]`))
	f.Add([]byte(`{"id":1,"package_id":2,"file_name":"f","size":3,"verification_failure":"x"}`))
	f.Add([]byte(`[{"file_name":"..%2F..%2Fetc"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if pkgs, err := decodePackages(data); err == nil {
			for _, p := range pkgs {
				if hasControl(p.Name) || hasControl(p.Version) || strings.ContainsAny(p.Name+p.Version, "/\\") {
					t.Fatalf("unsafe package accepted: %q %q", p.Name, p.Version)
				}
			}
		}
		if files, err := decodePackageFiles(data); err == nil {
			for _, pf := range files {
				checkDecodedFile(t, pf)
			}
		}
		if pf, err := decodeUploadResponse(data); err == nil {
			checkDecodedFile(t, pf)
		}
	})
}

func checkDecodedFile(t *testing.T, pf PackageFile) {
	t.Helper()
	name := pf.FileName
	if name == "" || len(name) > 1024 || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") || hasControl(name) {
		t.Fatalf("unsafe file name accepted: %q", name)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			t.Fatalf("unsafe segment in %q", name)
		}
	}
	if pf.SHA256 != "" && !isSHA256(pf.SHA256) {
		t.Fatalf("bad sha256 accepted: %q", pf.SHA256)
	}
	if pf.Size < 0 {
		t.Fatalf("negative size accepted: %d", pf.Size)
	}
	if _, err := escapeFile(name); err != nil {
		t.Fatalf("decoded name %q cannot be requested: %v", name, err)
	}
}

// FuzzParseLink checks that parseLinkNext never panics and returns a clean
// target.
func FuzzParseLink(f *testing.F) {
	f.Add(`<https://gitlab.example.com/api/v4/projects/1/packages?page=2>; rel="next", <https://gitlab.example.com/x?page=1>; rel="first"`)
	f.Add(`<a>; title="x,y;z"; rel=next`)
	f.Add(`<a`)
	f.Fuzz(func(t *testing.T, header string) {
		got, ok := parseLinkNext(header)
		if !ok {
			if got != "" {
				t.Fatalf("not ok but returned %q", got)
			}
			return
		}
		if got == "" || strings.ContainsAny(got, "<>") || strings.TrimSpace(got) != got {
			t.Fatalf("parseLinkNext(%q) = %q", header, got)
		}
		if !strings.Contains(header, "<"+got) && !strings.Contains(header, got) {
			t.Fatalf("parseLinkNext(%q) = %q, not from the header", header, got)
		}
	})
}

// FuzzParseRetryAfter checks that parseRetryAfter never panics or returns a
// negative or wrapped-around delay.
func FuzzParseRetryAfter(f *testing.F) {
	f.Add("120")
	f.Add("Fri, 10 Jan 2025 12:00:30 GMT")
	f.Add("99999999999999999999999999")
	f.Fuzz(func(t *testing.T, v string) {
		now := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
		d, ok := parseRetryAfter(v, now)
		if !ok && d != 0 {
			t.Fatalf("not ok but %v", d)
		}
		if d < 0 {
			t.Fatalf("parseRetryAfter(%q) = %v", v, d)
		}
	})
}
