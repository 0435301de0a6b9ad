package version

import "testing"

func TestNewest(t *testing.T) {
	vs := func(raws ...string) []Version {
		var out []Version
		for _, r := range raws {
			out = append(out, Parse(r))
		}
		return out
	}
	c := func(s string) *Constraint {
		cc, err := ParseConstraint(s)
		if err != nil {
			t.Fatal(err)
		}
		return &cc
	}
	tests := []struct {
		name string
		vs   []Version
		c    *Constraint
		want string // "" means none
	}{
		{"nil: newest stable", vs("1.9.0", "1.10.0", "2.0.0-rc.1", "nightly"), nil, "1.10.0"},
		{"nil: only prereleases", vs("2.0.0-beta", "2.0.0-rc.1", "nightly"), nil, "2.0.0-rc.1"},
		{"nil: only non-semver", vs("nightly", "2024.06"), nil, ""},
		{"nil: empty", nil, nil, ""},
		{"range", vs("1.9.0", "2.1.0", "1.10.0", "2.0.0-rc.1"), c("^1"), "1.10.0"},
		{"range with prerelease", vs("1.9.0", "2.0.0-rc.1", "2.0.0-beta"), c(">=2.0.0-0"), "2.0.0-rc.1"},
		{"range without match", vs("1.9.0"), c("^2"), ""},
		{"exact non-semver", vs("nightly", "1.0.0"), c("=nightly"), "nightly"},
		{"exact prefers its spelling", vs("1.2.0", "v1.2.0"), c("=1.2.0"), "1.2.0"},
		{"exact semver, other spelling", vs("v1.2.0", "1.3.0"), c("=1.2.0"), "v1.2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Newest(tt.vs, tt.c)
			if ok != (tt.want != "") || got.Raw != tt.want {
				t.Errorf("Newest = %q, %v; want %q", got.Raw, ok, tt.want)
			}
		})
	}
}
