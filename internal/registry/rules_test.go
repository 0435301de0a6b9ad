package registry

import (
	"strings"
	"testing"
)

func TestValidFileName(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wantErr string // "" for valid
		warn    bool
	}{
		{"cli-tool-1.4.2-linux-amd64.tar.gz", "", false},
		{"a+b_c.d-e", "", false},
		{"README", "", false},
		{"tool~1.bin", "", true},
		{"tool@2x.png", "", true},
		{"~tool", `GitLab refuses "~" at the start or end`, false},
		{"tool@", `GitLab refuses "@" at the start or end`, false},
		{"my file", "GitLab allows only ASCII", false},
		{"naïve.txt", "GitLab allows only ASCII", false},
		{"a%2Fb", "GitLab allows only ASCII", false},
		{"a:b", "GitLab allows only ASCII", false},
		{"..", "invalid file name", false},
		{"", "invalid file name", false},
	} {
		warn, err := ValidFileName(tc.name)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("ValidFileName(%q) = %v, want ok", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ValidFileName(%q) = %v, want error containing %q", tc.name, err, tc.wantErr)
		case (warn != "") != tc.warn:
			t.Errorf("ValidFileName(%q) warning = %q, want warning %v", tc.name, warn, tc.warn)
		}
	}
}

func TestValidPackageName(t *testing.T) {
	for name, ok := range map[string]bool{
		"cli-tool": true, "My.Tool+x_1": true, "a": true,
		"": false, ".": false, "..": false, "a/b": false, "a b": false, "tool~1": false, "tool@2": false,
		strings.Repeat("a", 255): true, strings.Repeat("a", 256): false,
	} {
		if err := ValidPackageName(name); (err == nil) != ok {
			t.Errorf("ValidPackageName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}
