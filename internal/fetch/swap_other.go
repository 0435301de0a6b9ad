//go:build !linux && !darwin

package fetch

import "errors"

// exchange reports that this system cannot swap two directories atomically;
// swapDir then renames the old one away first.
func exchange(a, b string) error {
	return errors.New("atomic directory exchange is not supported on this system")
}
