package lock

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"
)

// FuzzLockRoundTrip checks that Parse never panics, that every error it
// returns matches ErrInvalid, and that whatever it accepts encodes to a lock
// that parses to the same File and encodes to the same bytes again.
func FuzzLockRoundTrip(f *testing.F) {
	golden, err := os.ReadFile("testdata/golden.lock")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte("lock_version = 1\n"))
	f.Add([]byte(`lock_version = 1
package = [{ name = "a", project = "g/\"p\"", package = "a", version = "1.0.0", constraint = " =v1.0.0 ", package_id = 1, files = ["*", "d/*.tgz"], extract = true, file = [{ name = "d/é x.tgz", size = 0, sha256 = "` + hex64 + `", file_id = 9223372036854775807 }] }]
`))
	r := rand.New(rand.NewPCG(3, 4))
	for range 5 {
		f.Add(randomFile(r).Encode())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, err := Parse("packages.lock", data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error %v does not match ErrInvalid", err)
			}
			return
		}
		enc := lf.Encode()
		again, err := Parse("packages.lock", enc)
		if err != nil {
			t.Fatalf("Parse(Encode(Parse(data))): %v\ndata:\n%s\nencoded:\n%s", err, data, enc)
		}
		if !reflect.DeepEqual(again, lf) {
			t.Fatalf("round trip changed the File:\n%#v\nthen\n%#v", lf, again)
		}
		if enc2 := again.Encode(); !bytes.Equal(enc2, enc) {
			t.Fatalf("Encode is not stable:\n%s\nthen\n%s", enc, enc2)
		}
	})
}
