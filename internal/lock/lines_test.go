package lock

import (
	"strings"
	"testing"
)

// TestErrorLines pins the line of errors in places the lock writer never
// puts a key but a hand edit may: inside multi-line inline tables and
// arrays, and after a byte order mark.
func TestErrorLines(t *testing.T) {
	const top = "lock_version = 1\n\n"
	for _, tt := range []struct {
		name, src, want string
	}{
		{
			"key in a multi-line inline array of tables",
			top + pkgA + "file = [\n" +
				"  { name = \"x\", size = 1, sha256 = \"" + hex64 + "\", file_id = 1 },\n" +
				"  { name = \"y\",\n" +
				"    size = -1, sha256 = \"" + hex64 + "\", file_id = 2 },\n" +
				"]\n",
			`packages.lock:13: package "cli-tool": file "y": size -1 is negative`,
		},
		{
			"duplicate element of an inline array",
			top + pkgA + "file = [\n" +
				"  { name = \"x\", size = 1, sha256 = \"" + hex64 + "\", file_id = 1 },\n" +
				"  { name = \"x\", size = 1, sha256 = \"" + hex64 + "\", file_id = 1 },\n" +
				"]\n",
			`packages.lock:12: package "cli-tool": file "x" is listed twice (also at line 11)`,
		},
		{
			"unknown key in an inline table",
			top + strings.Replace(pkgA, "package_id = 42", "package_id = 42\nfile = [{\n  name = \"x\",\n  url = \"y\",\n}]", 1),
			`packages.lock:12: package "cli-tool": file "x": unknown key "url"`,
		},
		{
			"byte order mark",
			"\ufefflock_version = 0\n",
			`packages.lock:1: lock_version 0 is not supported (this gpm reads lock_version 1 to 3)`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("packages.lock", []byte(tt.src))
			if err == nil || err.Error() != tt.want {
				t.Errorf("error:\n got %v\nwant %s\nsource:\n%s", err, tt.want, tt.src)
			}
		})
	}
}
