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
// without repeats: errors joined with errors.Join often carry the same hint
// (two packages refused with one token), and it is printed once.
func Of(err error) []string {
	var out []string
	collect(err, map[string]bool{}, &out)
	return out
}

func collect(err error, seen map[string]bool, out *[]string) {
	for err != nil {
		if h, ok := err.(interface{ Hints() []string }); ok {
			for _, s := range h.Hints() {
				if !seen[s] {
					seen[s] = true
					*out = append(*out, s)
				}
			}
		}
		if u, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range u.Unwrap() {
				collect(e, seen, out)
			}
			return
		}
		err = errors.Unwrap(err)
	}
}
