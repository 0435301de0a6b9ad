package hint

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestOf(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"nil", nil, nil},
		{"none", base, nil},
		{"one", Wrap(base, "a"), []string{"a"}},
		{"no hints given", Wrap(base), nil},
		{"outermost first", Wrap(fmt.Errorf("ctx: %w", Wrap(base, "inner")), "outer"), []string{"outer", "inner"}},
		{"repeat in chain", Wrap(Wrap(base, "a", "b"), "a"), []string{"a", "b"}},
		{"joined in order", errors.Join(Wrap(base, "a"), Wrap(base, "b")), []string{"a", "b"}},
		{"repeat across joined errors", errors.Join(Wrap(base, "a"), Wrap(base, "a", "b")), []string{"a", "b"}},
		{"joined repeats an outer hint", Wrap(errors.Join(Wrap(base, "a"), base), "a"), []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); !slices.Equal(got, tt.want) {
				t.Errorf("Of = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWrapKeepsMessageAndChain(t *testing.T) {
	base := errors.New("boom")
	err := Wrap(base, "h")
	if err.Error() != "boom" || !errors.Is(err, base) {
		t.Errorf("Wrap changed the error: %q, Is=%v", err, errors.Is(err, base))
	}
	if Wrap(nil, "h") != nil {
		t.Error("Wrap(nil) is not nil")
	}
}
