package version

import "testing"

// docs/manifest.md says a partial version is a wildcard on what it leaves
// out: "1.4" is 1.4.x and "1" is 1.x.
func TestPartialVersionMeaning(t *testing.T) {
	for _, tc := range []struct {
		c, v string
		ok   bool
	}{
		{"1.4", "1.4.0", true}, {"1.4", "1.4.9", true}, {"1.4", "1.5.0", false}, {"1.4", "1.3.9", false},
		{"1", "1.0.0", true}, {"1", "1.9.9", true}, {"1", "2.0.0", false},
	} {
		c, err := ParseConstraint(tc.c)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Match(Parse(tc.v)); got != tc.ok {
			t.Errorf("%q matches %s = %v, want %v", tc.c, tc.v, got, tc.ok)
		}
	}
}
