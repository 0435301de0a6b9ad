// Package hint attaches "what to do next" lines to errors.
//
// gpm prints an error as one "gpm: error: ..." line followed by one
// "gpm: hint: ..." line per hint. Hints travel inside the error chain so that
// the package that knows the cause (the registry client, the resolver) can say
// how to fix it, while only the command layer decides how to print it.
package hint

import "errors"

type hinted struct {
	err   error
	hints []string
}

func (h *hinted) Error() string   { return h.err.Error() }
func (h *hinted) Unwrap() error   { return h.err }
func (h *hinted) Hints() []string { return h.hints }

// Wrap returns err with the given hints attached. The message and the chain
// of err are unchanged. Wrap returns nil when err is nil.
func Wrap(err error, hints ...string) error {
	if err == nil {
		return nil
	}
	if len(hints) == 0 {
		return err
	}
	return &hinted{err: err, hints: hints}
}

// Of returns every hint attached anywhere in err's chain, outermost first,
// without repeats.
func Of(err error) []string {
	var out []string
	seen := map[string]bool{}
	for err != nil {
		if h, ok := err.(interface{ Hints() []string }); ok {
			for _, s := range h.Hints() {
				if !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				out = append(out, Of(e)...)
			}
			return out
		default:
			err = errors.Unwrap(err)
		}
	}
	return out
}
